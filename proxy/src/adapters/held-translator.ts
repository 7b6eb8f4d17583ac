import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BufferedBody } from './buffered-body.ts';
import type { ClientRequest, ResponseMode, ResponseTranslator, Usage } from './types.ts';
import { forwardableHeaders } from './upstream-headers.ts';

/** A provider's stream, turned into OpenAI chunks event by event. */
export interface ProviderStream {
  push(chunk: Buffer): Buffer | null;
  /** What a partial last event gives at the end, if the stream keeps one. */
  rest?(): Buffer | null;
  readonly usage: Usage | null;
  readonly complete: boolean;
}

/**
 * What a translating adapter's answer handling shares: 5xx, 429, 401 and 403 held back for the
 * proxy, a 2xx event stream relayed through the provider's stream parser, any other body held
 * until its end and translated whole (`bodyEnd`), headers re-framed for the translated body.
 */
export abstract class HeldTranslator<S extends ProviderStream> implements ResponseTranslator {
  usage: Usage | null = null;
  protected streamer: S | null = null;
  protected readonly held = new BufferedBody();
  protected upstreamStatus = 200;
  protected readonly req: ClientRequest;
  protected readonly model: string;
  protected readonly created: number;

  constructor(req: ClientRequest, model: string, created: number) {
    this.req = req;
    this.model = model;
    this.created = created;
  }

  /** The provider's stream parser for this attempt. */
  protected abstract openStream(): S;
  abstract bodyEnd(): Buffer;
  abstract errorMessage(body: Buffer): string;

  /** The status a held answer goes out with, which decides its content type. */
  protected get answerStatus(): number {
    return this.upstreamStatus;
  }

  get complete(): boolean {
    return this.streamer?.complete ?? false;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    if (status >= 500 || status === 429 || status === 401 || status === 403) return 'error';
    this.upstreamStatus = status;
    if (status < 300 && this.req.stream && String(headers['content-type'] ?? '').includes('text/event-stream')) {
      this.streamer = this.openStream();
      return 'stream';
    }
    return 'body';
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = forwardableHeaders(upstream, true);
    delete h['content-encoding'];
    h['content-type'] = mode === 'stream' || (this.req.stream && this.answerStatus < 300) ? 'text/event-stream' : 'application/json';
    return h;
  }

  body(chunk: Buffer): null {
    return this.held.push(chunk);
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.streamer!.push(chunk);
    this.usage = this.streamer!.usage;
    return out;
  }

  streamRest(): Buffer | null {
    const out = this.streamer!.rest?.() ?? null;
    this.usage = this.streamer!.usage;
    return out;
  }
}
