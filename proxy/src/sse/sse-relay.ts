import type { Usage } from '../adapters/types.ts';
import { toUsage } from '../adapters/openai-compatible.ts';
import { lastObjectValue } from '../adapters/json-scan.ts';

const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');
const DONE = Buffer.from('data: [DONE]');
const USAGE_KEY = Buffer.from('"usage"');

/**
 * Relays an OpenAI-style SSE stream event by event. Complete events are forwarded as they
 * arrive (no buffering beyond one partial event), so the client can always be sent a
 * well-formed error event if the upstream dies. Captures token usage, notices `[DONE]`,
 * and drops the usage-only chunk when the proxy (not the client) asked for usage.
 */
export class SseRelay {
  usage: Usage | null = null;
  sawDone = false;
  private pending: Buffer | null = null;

  private readonly stripUsageChunk: boolean;

  constructor(stripUsageChunk: boolean) {
    this.stripUsageChunk = stripUsageChunk;
  }

  /** Bytes to forward now (complete events), or null when the chunk only extended a partial event. */
  push(chunk: Buffer): Buffer | null {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = lastBoundary(data);
    if (end < 0) {
      this.pending = data;
      return null;
    }
    this.pending = end < data.length ? data.subarray(end) : null;
    return this.inspect(end === data.length ? data : data.subarray(0, end));
  }

  /** Whatever partial event is left when the upstream closed. */
  rest(): Buffer | null {
    const p = this.pending;
    this.pending = null;
    return p && p.length > 0 ? this.inspect(p) : null;
  }

  private inspect(events: Buffer): Buffer {
    if (!this.sawDone && events.indexOf(DONE) >= 0) this.sawDone = true;
    // Only events that carry a usage object are parsed; `"usage":null` on ordinary chunks is skipped cheaply.
    let at = events.indexOf(USAGE_KEY);
    while (at >= 0) {
      // Every chunk says `"usage":null` once usage is requested: skip those without parsing.
      let i = at + USAGE_KEY.length;
      while (i < events.length && (events[i] === 0x20 || events[i] === 0x3a)) i++;
      if (events[i] !== 0x7b /* { */) {
        at = events.indexOf(USAGE_KEY, i);
        continue;
      }
      const start = eventStart(events, at);
      const stop = eventEnd(events, at);
      const obj = lastObjectValue(events.subarray(start, stop), 'usage');
      if (obj) {
        this.usage = toUsage(obj);
        if (this.stripUsageChunk && isUsageOnly(events.subarray(start, stop))) {
          events = Buffer.concat([events.subarray(0, start), events.subarray(stop)]);
          at = events.indexOf(USAGE_KEY, start);
          continue;
        }
      }
      at = events.indexOf(USAGE_KEY, stop);
    }
    return events;
  }
}

function lastBoundary(b: Buffer): number {
  const a = b.lastIndexOf(LF2);
  const c = b.lastIndexOf(CRLF2);
  if (c >= 0 && c + 4 > a + 2) return c + 4;
  return a >= 0 ? a + 2 : -1;
}

function eventStart(b: Buffer, at: number): number {
  const a = b.lastIndexOf(LF2, at);
  return a < 0 ? 0 : a + 2;
}

function eventEnd(b: Buffer, at: number): number {
  const a = b.indexOf(LF2, at);
  return a < 0 ? b.length : a + 2;
}

/** The final chunk OpenAI sends for include_usage: `choices` is empty. */
function isUsageOnly(event: Buffer): boolean {
  const s = event.toString('utf8');
  const i = s.indexOf('{');
  if (i < 0) return false;
  try {
    const json = JSON.parse(s.slice(i).trim()) as { choices?: unknown };
    return Array.isArray(json.choices) && json.choices.length === 0;
  } catch {
    return false;
  }
}

/** A well-formed SSE event carrying an OpenAI error body, for failures after the first byte. */
export function sseErrorEvent(message: string, code: string): Buffer {
  return Buffer.from(
    'data: ' + JSON.stringify({ error: { message, type: 'upstream_error', param: null, code } }) + '\n\n',
  );
}
