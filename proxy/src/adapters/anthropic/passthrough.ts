import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import { spliceRequest } from '../json-splice.ts';
import { SseEvents } from '../sse-events.ts';
import type { ClientRequest, IngressRequest, ResponseMode, ResponseTranslator, UpstreamRequest, Usage } from '../types.ts';
import { forwardableHeaders } from '../upstream-headers.ts';
import { anthropicError } from './response.ts';

type Json = Record<string, unknown>;

/**
 * An Anthropic client's request to an Anthropic backend: the bytes as they came, only `model`
 * rewritten (byte splice), so cache_control, thinking, betas and fields this proxy has never
 * heard of reach the provider. The client's anthropic-version wins over the backend's (the body
 * is written for it); its anthropic-beta names are added to the backend's.
 */
export function passThroughRequest(req: ClientRequest, ingress: IngressRequest, backend: BackendIR, basePath: string, headers: Record<string, string>): UpstreamRequest {
  const model = backend.model ?? req.model;
  let body: Buffer = ingress.raw;
  if (model !== req.model) body = spliceRequest(ingress.raw, model, false) ?? Buffer.from(JSON.stringify({ ...ingress.body, model }));
  headers['content-length'] = String(body.length);
  if (ingress.version) headers['anthropic-version'] = ingress.version;
  if (ingress.beta) headers['anthropic-beta'] = headers['anthropic-beta'] ? `${headers['anthropic-beta']},${ingress.beta}` : ingress.beta;
  return { path: basePath + '/v1/messages', headers, body };
}

const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');
const BODY_CAP = 8 * 1024 * 1024;

/**
 * The Anthropic answer relayed untranslated: errors that may be retried are held back (the
 * proxy answers them in the client's schema), streams go on event by event (a partial event is
 * held, so a broken stream can still end with a well-formed error event), and usage is read
 * from message_start / message_delta or the message's `usage`.
 */
export class AnthropicPassThrough implements ResponseTranslator {
  complete = false;
  private readonly events = new SseEvents();
  private pending: Buffer | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private ok = false;
  private raw: Json = {};
  private readonly stream_: boolean;

  constructor(stream: boolean) {
    this.stream_ = stream;
  }

  get usage(): Usage | null {
    if (!('input_tokens' in this.raw) && !('output_tokens' in this.raw)) return null;
    const n = (v: unknown) => (typeof v === 'number' ? v : 0);
    return { promptTokens: n(this.raw.input_tokens) + n(this.raw.cache_read_input_tokens) + n(this.raw.cache_creation_input_tokens), completionTokens: n(this.raw.output_tokens) };
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    if (status >= 500 || status === 429 || status === 401 || status === 403) return 'error';
    this.ok = status < 300;
    return this.ok && this.stream_ && String(headers['content-type'] ?? '').includes('text/event-stream') ? 'stream' : 'body';
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    return forwardableHeaders(upstream, mode === 'stream');
  }

  body(chunk: Buffer): Buffer {
    if (this.ok && this.size < BODY_CAP) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    return chunk;
  }

  bodyEnd(): null {
    if (this.ok) {
      try {
        const m = JSON.parse(Buffer.concat(this.chunks, this.size).toString('utf8')) as Json;
        if (m.usage && typeof m.usage === 'object') this.raw = m.usage as Json;
      } catch {
        // Not JSON: relayed as it came, nothing to count.
      }
    }
    this.chunks = [];
    return null;
  }

  stream(chunk: Buffer): Buffer | null {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = Math.max(lastIndexEnd(data, LF2), lastIndexEnd(data, CRLF2));
    if (end <= 0) {
      this.pending = data;
      return null;
    }
    this.pending = end < data.length ? data.subarray(end) : null;
    const out = data.subarray(0, end);
    this.observe(out);
    return out;
  }

  streamRest(): Buffer | null {
    const p = this.pending;
    this.pending = null;
    if (p && p.length > 0) this.observe(p);
    return p;
  }

  private observe(events: Buffer): void {
    for (const e of this.events.push(events)) {
      if (e.event === 'message_stop') this.complete = true;
      else if (e.event === 'message_start' || e.event === 'message_delta') {
        try {
          const j = JSON.parse(e.data) as { message?: { usage?: Json }; usage?: Json };
          Object.assign(this.raw, (e.event === 'message_start' ? j.message?.usage : j.usage) ?? {});
        } catch {
          // A malformed event is the client's to see; it carries no usage we can read.
        }
      }
    }
  }

  errorMessage(body: Buffer): string {
    return anthropicError(body).message;
  }
}

function lastIndexEnd(b: Buffer, sep: Buffer): number {
  const i = b.lastIndexOf(sep);
  return i < 0 ? -1 : i + sep.length;
}
