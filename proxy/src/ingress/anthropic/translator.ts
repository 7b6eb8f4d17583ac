import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ResponseMode, ResponseTranslator, Usage } from '../../adapters/types.ts';
import { completionToMessage, errorToAnthropic } from './response.ts';
import { OpenAIToAnthropicStream } from './stream.ts';

/**
 * The answer of a backend that does not speak Anthropic's API, for an Anthropic client: the
 * backend's own translator turns the provider's answer into OpenAI's, and this turns that into
 * Anthropic's (message JSON, event stream, error body). Classification, usage and error
 * messages are the backend translator's.
 */
export class AnthropicIngressTranslator implements ResponseTranslator {
  private readonly inner: ResponseTranslator;
  private readonly model: string;
  private readonly streamer: OpenAIToAnthropicStream;
  private chunks: Buffer[] = [];
  private upstreamStatus = 200;

  constructor(inner: ResponseTranslator, model: string) {
    this.inner = inner;
    this.model = model;
    this.streamer = new OpenAIToAnthropicStream(model);
  }

  get complete(): boolean {
    return this.streamer.complete;
  }

  get usage(): Usage | null {
    return this.inner.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    this.upstreamStatus = status;
    return this.inner.classify(status, headers);
  }

  /** The backend translator's choice, which it may make from the body (so it is asked after bodyEnd too). */
  status(upstream: number): number {
    return this.inner.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = this.inner.headers(upstream, mode);
    delete h['content-length'];
    delete h['content-encoding'];
    h['content-type'] = mode === 'stream' ? 'text/event-stream' : 'application/json';
    return h;
  }

  body(chunk: Buffer): null {
    const out = this.inner.body(chunk);
    if (out) this.chunks.push(out);
    return null;
  }

  bodyEnd(): Buffer {
    const rest = this.inner.bodyEnd();
    if (rest) this.chunks.push(rest);
    const body = Buffer.concat(this.chunks);
    this.chunks = [];
    const status = this.status(this.upstreamStatus);
    if (status >= 300) return Buffer.from(errorToAnthropic(status, body));
    try {
      return Buffer.from(JSON.stringify(completionToMessage(JSON.parse(body.toString('utf8')) as Record<string, unknown>, this.model)));
    } catch {
      return Buffer.from(errorToAnthropic(502, Buffer.from('{"error":{"message":"the backend answered with a body that is not JSON"}}')));
    }
  }

  stream(chunk: Buffer): Buffer | null {
    return this.streamer.push(this.inner.stream(chunk), this.inner.usage);
  }

  streamRest(): Buffer | null {
    return this.streamer.rest(this.inner.streamRest(), this.inner.usage);
  }

  errorMessage(body: Buffer): string {
    return this.inner.errorMessage(body);
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.inner.retryAfterMs?.(body);
  }
}
