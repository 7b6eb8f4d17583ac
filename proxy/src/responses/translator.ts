// The answers of the Responses API on their way to the client: every response object's `id` (and
// its `previous_response_id`) becomes the gateway's encoded id (ids.ts), in JSON answers and in
// the events of a stream; and a stream is complete at its terminal event (the Responses API
// sends no `[DONE]`). Everything else goes through as the backend wrote it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BufferedBody } from '../adapters/buffered-body.ts';
import type { ResponseMode, ResponseTranslator, Usage } from '../adapters/types.ts';
import { encodeResponseId, type ResponseOrigin } from './ids.ts';

type Json = Record<string, unknown>;
export type OriginOf = Omit<ResponseOrigin, 'upstream'>;

const LF2 = Buffer.from('\n\n');
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete']);
/** Only events that carry a response object are parsed (created, in_progress, completed...). */
const RESPONSE_MEMBER = Buffer.from('"response":');

/** Rewrites a response object's ids in place; true when it is one. */
export function rewriteResponse(r: unknown, origin: OriginOf): boolean {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Json;
  if (o.object !== 'response' || typeof o.id !== 'string') return false;
  o.id = encodeResponseId({ ...origin, upstream: o.id });
  if (typeof o.previous_response_id === 'string') o.previous_response_id = encodeResponseId({ ...origin, upstream: o.previous_response_id });
  return true;
}

export class ResponseIds implements ResponseTranslator {
  readonly #inner: ResponseTranslator;
  readonly #origin: OriginOf;
  #ok = false;
  #terminal = false;
  readonly #held = new BufferedBody();
  #pending: Buffer | null = null;

  constructor(inner: ResponseTranslator, origin: OriginOf) {
    this.#inner = inner;
    this.#origin = origin;
  }

  get complete(): boolean {
    return this.#terminal || this.#inner.complete;
  }

  get usage(): Usage | null {
    return this.#inner.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    this.#ok = status < 300;
    return this.#inner.classify(status, headers);
  }

  status(upstream: number): number {
    return this.#inner.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = this.#inner.headers(upstream, mode);
    // A rewritten body changes length.
    if (this.#ok) delete h['content-length'];
    return h;
  }

  body(chunk: Buffer): Buffer | null {
    const out = this.#inner.body(chunk);
    if (!this.#ok) return out;
    if (out !== null && out.length > 0) this.#held.push(out);
    return null;
  }

  bodyEnd(): Buffer | null {
    const rest = this.#inner.bodyEnd();
    if (!this.#ok) return rest;
    if (rest !== null && rest.length > 0) this.#held.push(rest);
    const all = this.#held.take();
    if (all.length === 0) return null;
    let json: unknown;
    try {
      json = JSON.parse(all.toString('utf8'));
    } catch {
      return all;
    }
    return rewriteResponse(json, this.#origin) ? Buffer.from(JSON.stringify(json)) : all;
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.#inner.stream(chunk);
    if (out === null || out.length === 0) return out;
    const data = this.#pending ? Buffer.concat([this.#pending, out]) : out;
    const end = data.lastIndexOf(LF2);
    if (end < 0) {
      this.#pending = data;
      return null;
    }
    this.#pending = end + 2 < data.length ? data.subarray(end + 2) : null;
    return this.#events(data.subarray(0, end + 2));
  }

  streamRest(): Buffer | null {
    const rest = this.#inner.streamRest();
    const data = this.#pending ? (rest ? Buffer.concat([this.#pending, rest]) : this.#pending) : rest;
    this.#pending = null;
    return data && data.length > 0 ? this.#events(data) : data;
  }

  /** Whole events: those holding a response object re-serialised with its ids rewritten. */
  #events(block: Buffer): Buffer {
    if (block.indexOf(RESPONSE_MEMBER) < 0) return block;
    const events = block.toString('utf8').split('\n\n');
    let changed = false;
    for (let k = 0; k < events.length; k++) {
      const ev = events[k]!;
      if (!ev.includes('"response":')) continue;
      const lines = ev.split('\n');
      const d = lines.findIndex((l) => l.startsWith('data:'));
      if (d < 0) continue;
      let json: Json;
      try {
        json = JSON.parse(lines[d]!.slice(5)) as Json;
      } catch {
        continue;
      }
      if (typeof json.type === 'string' && TERMINAL.has(json.type)) this.#terminal = true;
      if (rewriteResponse(json.response, this.#origin)) {
        lines[d] = `data: ${JSON.stringify(json)}`;
        events[k] = lines.join('\n');
        changed = true;
      }
    }
    return changed ? Buffer.from(events.join('\n\n')) : block;
  }

  errorMessage(body: Buffer): string {
    return this.#inner.errorMessage(body);
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.#inner.retryAfterMs?.(body);
  }
}
