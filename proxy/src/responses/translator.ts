// The answers of the Responses API on their way to the client: every response object's `id` (and
// its `previous_response_id`) becomes the gateway's encoded id (ids.ts), in JSON answers and in
// the events of a stream; and a stream is complete at its terminal event (the Responses API
// sends no `[DONE]`). Everything else goes through as the backend wrote it.
import type { ResponseTranslator } from '../adapters/types.ts';
import { WholeEventsTranslator } from '../adapters/whole-events.ts';
import { encodeResponseId, type ResponseOrigin } from './ids.ts';

type Json = Record<string, unknown>;
export type OriginOf = Omit<ResponseOrigin, 'upstream'>;

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

export class ResponseIds extends WholeEventsTranslator {
  readonly #origin: OriginOf;
  #terminal = false;

  constructor(inner: ResponseTranslator, origin: OriginOf) {
    super(inner);
    this.#origin = origin;
  }

  override get complete(): boolean {
    return this.#terminal || this.inner.complete;
  }

  protected rewriteBody(all: Buffer): Buffer {
    let json: unknown;
    try {
      json = JSON.parse(all.toString('utf8'));
    } catch {
      return all;
    }
    return rewriteResponse(json, this.#origin) ? Buffer.from(JSON.stringify(json)) : all;
  }

  /** Whole events: those holding a response object re-serialised with its ids rewritten. */
  protected rewriteEvents(block: Buffer): Buffer {
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
}
