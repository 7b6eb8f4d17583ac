import { objectAt } from './json-scan.ts';
import { toUsage } from './openai-usage.ts';
import type { Usage } from './types.ts';

const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');
const DONE_TAIL = Buffer.from('[DONE]');
/** Length of `"usage"`. */
const USAGE_KEY_LENGTH = 7;

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
    // [DONE] is the stream's last event (OpenAI's contract), so only the tail is compared; one
    // scan per chunk (for "usage") is all the relay costs on a plain content chunk.
    if (!this.sawDone && endsWithDone(events)) this.sawDone = true;
    let at = indexOfUsage(events, 0);
    if (at < 0) return events;
    // Byte ranges to leave out: the usage-only chunk and the `"usage":null` members that
    // upstreams add to every chunk once usage was requested, when the proxy (not the client)
    // asked. The client then gets the bytes it would have got without the proxy's request.
    let cuts: number[] | null = null;
    while (at >= 0) {
      let i = at + USAGE_KEY_LENGTH;
      while (i < events.length && (events[i] === 0x20 || events[i] === 0x3a)) i++;
      if (events[i] === 0x7b /* { */) {
        const start = eventStart(events, at);
        const stop = eventEnd(events, at);
        const obj = objectAt(events, i);
        if (obj) {
          this.usage = toUsage(obj);
          if (this.stripUsageChunk && isUsageOnly(events.subarray(start, stop))) (cuts ??= []).push(start, stop);
        }
        at = indexOfUsage(events, stop);
        continue;
      }
      if (this.stripUsageChunk && isNullAt(events, i)) {
        let j = at - 1;
        while (j > 0 && events[j] === 0x20) j--;
        if (events[j] === 0x2c /* , */) (cuts ??= []).push(j, i + 4);
        else if (events[i + 4] === 0x2c) (cuts ??= []).push(at, i + 5);
      }
      at = indexOfUsage(events, i);
    }
    if (cuts === null) return events;
    const kept: Buffer[] = [];
    let from = 0;
    for (let k = 0; k < cuts.length; k += 2) {
      if (cuts[k]! > from) kept.push(events.subarray(from, cuts[k]));
      from = cuts[k + 1]!;
    }
    if (from < events.length) kept.push(events.subarray(from));
    return Buffer.concat(kept);
  }
}

/**
 * Index of `"usage"` in `b` from `from`, or -1. A plain loop: for a chunk of a few hundred bytes
 * it costs about half of Buffer#indexOf, whose native search pays a set-up on every call.
 */
function indexOfUsage(b: Buffer, from: number): number {
  for (let i = from, n = b.length - 6; i < n; i++) {
    if (b[i] === 0x22 && b[i + 1] === 0x75 && b[i + 2] === 0x73 && b[i + 3] === 0x61 && b[i + 4] === 0x67 && b[i + 5] === 0x65 && b[i + 6] === 0x22) return i;
  }
  return -1;
}

function lastBoundary(b: Buffer): number {
  const n = b.length;
  // Fast path: an upstream write is usually whole events, ending on the blank line.
  if (n >= 2 && b[n - 1] === 0x0a && (b[n - 2] === 0x0a || (n >= 4 && b[n - 2] === 0x0d && b[n - 3] === 0x0a && b[n - 4] === 0x0d))) return n;
  const a = b.lastIndexOf(LF2);
  const c = b.lastIndexOf(CRLF2);
  if (c >= 0 && c + 4 > a + 2) return c + 4;
  return a >= 0 ? a + 2 : -1;
}

/** Whether the last event in `b` is `data: [DONE]` (or `data:[DONE]`), whatever its line endings. */
function endsWithDone(b: Buffer): boolean {
  let i = b.length - 1;
  while (i >= 0 && (b[i] === 0x0a || b[i] === 0x0d)) i--;
  const end = i + 1;
  if (end < DONE_TAIL.length + 5) return false;
  for (let k = 0; k < DONE_TAIL.length; k++) if (b[end - DONE_TAIL.length + k] !== DONE_TAIL[k]) return false;
  let j = end - DONE_TAIL.length - 1;
  if (b[j] === 0x20) j--;
  return b[j] === 0x3a && b[j - 1] === 0x61 && b[j - 2] === 0x74 && b[j - 3] === 0x61 && b[j - 4] === 0x64 && (j - 5 < 0 || b[j - 5] === 0x0a || b[j - 5] === 0x0d);
}

function isNullAt(b: Buffer, i: number): boolean {
  return b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c;
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
