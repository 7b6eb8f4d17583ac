// The finish reasons of an answer, for a sampled trace's `gen_ai.response.finish_reasons`: read
// from what the client receives (whatever the backend's API), so one reader serves every adapter.
// Only a recorded attempt is wrapped; an unsampled or untraced request never pays for it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ResponseMode, ResponseTranslator, Usage } from '../adapters/types.ts';

/** Both keys end so: OpenAI's `"finish_reason"` (one per choice), Anthropic's `"stop_reason"`. */
const SUFFIX = Buffer.from('_reason"');
const FINISH = Buffer.from('"finish');
const STOP = Buffer.from('"stop');
/** Longer than a key, its colon and the spaces around it. */
const CARRY = 24;
/** A longer value is not a finish reason (and is not recorded). */
const MAX_VALUE = 64;
/** More than this many (choices) are not recorded. */
const MAX_REASONS = 128;

function endsWithAt(b: Buffer, end: number, word: Buffer): boolean {
  const start = end - word.length;
  if (start < 0) return false;
  for (let k = 0; k < word.length; k++) if (b[start + k] !== word[k]) return false;
  return true;
}

function hasBackslash(b: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (b[k] === 0x5c) return true;
  return false;
}

/**
 * Every non-null string value of a `"finish_reason"` or `"stop_reason"` key in a JSON body or in
 * SSE events, in order, over chunks split anywhere. A key inside a JSON string (a model writing
 * the word) is escaped there (`\"finish_reason\"`) and so never matches; `null` (OpenAI's chunks
 * before the last, Anthropic's message_start) is skipped.
 */
export class FinishReasonReader {
  readonly reasons: string[] = [];
  #carry: Buffer | null = null;

  push(chunk: Buffer | null): void {
    if (chunk === null || chunk.length === 0 || this.reasons.length >= MAX_REASONS) return;
    const b = this.#carry === null ? chunk : Buffer.concat([this.#carry, chunk]);
    let doneTo = 0;
    let pending = -1;
    for (let at = b.indexOf(SUFFIX, 0); at >= 0; at = b.indexOf(SUFFIX, at + SUFFIX.length)) {
      const keyStart = endsWithAt(b, at, FINISH) ? at - FINISH.length : endsWithAt(b, at, STOP) ? at - STOP.length : -1;
      if (keyStart < 0 || (keyStart > 0 && b[keyStart - 1] === 0x5c /* \ */)) continue;
      let i = at + SUFFIX.length;
      while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x3a)) i++;
      if (i >= b.length) {
        pending = keyStart;
        break;
      }
      if (b[i] !== 0x22) {
        doneTo = i; // null (or not a string): nothing to record
        continue;
      }
      const close = b.indexOf(0x22, i + 1);
      if (close < 0) {
        if (b.length - i - 1 <= MAX_VALUE) pending = keyStart;
        else doneTo = b.length;
        break;
      }
      if (close - i - 1 <= MAX_VALUE && !hasBackslash(b, i + 1, close)) this.reasons.push(b.toString('utf8', i + 1, close));
      doneTo = close + 1;
      if (this.reasons.length >= MAX_REASONS) break;
    }
    const from = pending >= 0 ? pending : Math.max(doneTo, b.length - CARRY);
    this.#carry = from < b.length ? Buffer.from(b.subarray(from)) : null;
  }
}

/** A translator whose output is also read for its finish reasons; everything else delegated. */
export class FinishReasonTap implements ResponseTranslator {
  readonly reader = new FinishReasonReader();
  readonly #inner: ResponseTranslator;

  constructor(inner: ResponseTranslator) {
    this.#inner = inner;
    if (inner.status !== undefined) this.status = (upstream: number) => inner.status!(upstream);
    if (inner.retryAfterMs !== undefined) this.retryAfterMs = (body: Buffer) => inner.retryAfterMs!(body);
  }

  status?: (upstream: number) => number;
  retryAfterMs?: (body: Buffer) => number | undefined;

  get reasons(): readonly string[] {
    return this.reader.reasons;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    return this.#inner.classify(status, headers);
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    return this.#inner.headers(upstream, mode);
  }

  body(chunk: Buffer): Buffer | null {
    const out = this.#inner.body(chunk);
    this.reader.push(out);
    return out;
  }

  bodyEnd(): Buffer | null {
    const out = this.#inner.bodyEnd();
    this.reader.push(out);
    return out;
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.#inner.stream(chunk);
    this.reader.push(out);
    return out;
  }

  streamRest(): Buffer | null {
    const out = this.#inner.streamRest();
    this.reader.push(out);
    return out;
  }

  get complete(): boolean {
    return this.#inner.complete;
  }

  get usage(): Usage | null {
    return this.#inner.usage;
  }

  errorMessage(body: Buffer): string {
    return this.#inner.errorMessage(body);
  }
}
