import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BufferedBody } from '../adapters/buffered-body.ts';
import type { ApiSchema } from '../api/errors.ts';
import type { ResponseMode, ResponseTranslator, Usage } from '../adapters/types.ts';
import type { ContentCapture } from './content-log.ts';
import type { Masker } from './masker.ts';
import { AnthropicEvents, maskAnthropicMessage } from './response-anthropic.ts';
import { OpenAIChunks, maskOpenAIBody } from './response-openai.ts';
import { ResponsesEvents, maskResponseObject } from './response-responses.ts';

/** The API the client reads, which decides where the text is in an answer (the client response's schema). */
export type ClientSchema = ApiSchema;

type Json = Record<string, unknown>;

/** Masks one string, adding to `counts`. */
export type MaskText = (s: string) => string;

/** Receives every text as it goes to the client (after masking): `--log-content`. */
export type TextSink = ((s: string) => void) | null;

/**
 * The masking of one schema's stream: each event's JSON in, the events to send out (the event
 * itself, changed in place, possibly preceded by events that flush held-back text).
 */
export interface EventMasker {
  /**
   * Masks one parsed event in place: null when nothing changed (the event goes out as it came),
   * else the events to send before it (flushed text; often none), the event then re-serialised.
   */
  event(name: string | undefined, data: Json): string[] | null;
  /** Events carrying every text still held back, before the stream's end (`[DONE]`, cut). */
  flush(): string;
}

const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Tenant.spec.masking.responses: wraps the translator of an attempt (the outermost one, so it
 * sees the answer in the client's own API) and masks every text the client receives.
 *
 * - A body (JSON answer, error, or a stream replayed from one) is held until its end, masked
 *   field by field and re-serialised (so content-length is dropped).
 * - A stream is masked event by event. Each text field (a choice's content, reasoning, refusal,
 *   each tool call's arguments; an Anthropic content block) has its own StreamMasker, which
 *   holds back the last characters that could still start a match (at most the longest rule's
 *   match length minus one) and releases them once they cannot, or at the field's end. The
 *   events themselves go out at once, with what can be released: only text is delayed.
 */
/*
 * With a `ContentCapture` (`--log-content`) the text the client receives is also copied to it;
 * with a capture and no masker, nothing is changed: the answer goes out byte for byte and is
 * only read.
 */
export class MaskedResponse implements ResponseTranslator {
  readonly counts: Record<string, number> = {};
  readonly #inner: ResponseTranslator;
  readonly #masker: Masker | null;
  readonly #schema: ClientSchema;
  #mode: ResponseMode = 'body';
  #events: EventMasker | null = null;
  readonly #held = new BufferedBody();
  #pending: Buffer | null = null;
  readonly #text: MaskText;
  readonly #sink: TextSink;

  constructor(inner: ResponseTranslator, masker: Masker | null, schema: ClientSchema, capture: ContentCapture | null = null) {
    this.#inner = inner;
    this.#masker = masker;
    this.#schema = schema;
    const counts = this.counts;
    const sink: TextSink = capture ? (s) => capture.add(s) : null;
    this.#sink = sink;
    this.#text = (s) => {
      if (masker === null) {
        sink?.(s);
        return s;
      }
      const r = masker.mask(s);
      sink?.(r.text);
      if (r.text === s) return s;
      for (const k in r.counts) counts[k] = (counts[k] ?? 0) + r.counts[k]!;
      return r.text;
    };
  }

  get complete(): boolean {
    return this.#inner.complete;
  }

  get usage(): Usage | null {
    return this.#inner.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    this.#mode = this.#inner.classify(status, headers);
    return this.#mode;
  }

  status(upstream: number): number {
    return this.#inner.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = this.#inner.headers(upstream, mode);
    if (this.#masker !== null) delete h['content-length'];
    return h;
  }

  body(chunk: Buffer): Buffer | null {
    const out = this.#inner.body(chunk);
    if (out !== null && out.length > 0) this.#held.push(out);
    // Only read (a capture without masking): the bytes go on as they come.
    return this.#masker === null ? out : null;
  }

  bodyEnd(): Buffer | null {
    const rest = this.#inner.bodyEnd();
    if (rest !== null && rest.length > 0) this.#held.push(rest);
    const all = this.#held.take();
    if (this.#masker === null) {
      if (all.length > 0) this.#read(all);
      return rest;
    }
    if (all.length === 0) return null;
    return this.#read(all);
  }

  /** Masks a whole body (or only reads it, without a masker): what the client gets. */
  #read(all: Buffer): Buffer {
    const text = all.toString('utf8');
    const first = text.trimStart()[0];
    if (first === '{') {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return Buffer.from(this.#text(text));
      }
      const changed =
        this.#schema === 'anthropic' ? maskAnthropicMessage(body as Json, this.#text)
        : this.#schema === 'responses' ? maskResponseObject(body as Json, this.#text)
        : maskOpenAIBody(body as Json, this.#text);
      return changed ? Buffer.from(JSON.stringify(body)) : all;
    }
    if (text.startsWith('data:') || text.startsWith('event:')) {
      // A stream the adapter replayed from a JSON answer, whole.
      const out = this.#streamEvents(text, true) + this.#eventMasker().flush();
      return Buffer.from(out);
    }
    return Buffer.from(this.#text(text));
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.#inner.stream(chunk);
    if (out === null || out.length === 0) return out;
    if (this.#masker === null) {
      // Only read: the bytes go on untouched, the text is read from whole events.
      const data = this.#pending ? Buffer.concat([this.#pending, out]) : out;
      const end = lastBoundary(data);
      this.#pending = end < 0 ? data : end < data.length ? data.subarray(end) : null;
      if (end > 0) this.#streamEvents(data.toString('utf8', 0, end), false);
      return out;
    }
    const data = this.#pending ? Buffer.concat([this.#pending, out]) : out;
    const end = lastBoundary(data);
    if (end < 0) {
      this.#pending = data;
      return null;
    }
    this.#pending = end < data.length ? data.subarray(end) : null;
    const masked = this.#streamEvents(data.toString('utf8', 0, end), false);
    return masked.length > 0 ? Buffer.from(masked) : null;
  }

  streamRest(): Buffer | null {
    const rest = this.#inner.streamRest();
    if (this.#masker === null) {
      const data = this.#pending ? (rest ? Buffer.concat([this.#pending, rest]) : this.#pending) : rest;
      this.#pending = null;
      if (data && data.length > 0) this.#streamEvents(data.toString('utf8'), true);
      return rest;
    }
    const data = this.#pending ? (rest ? Buffer.concat([this.#pending, rest]) : this.#pending) : rest;
    this.#pending = null;
    let out = data && data.length > 0 ? this.#streamEvents(data.toString('utf8'), true) : '';
    // The stream ended without its last event (cut, or the client's error event follows): what
    // was held back still goes out, masked.
    if (this.#events !== null) out += this.#events.flush();
    return out.length > 0 ? Buffer.from(out) : null;
  }

  errorMessage(body: Buffer): string {
    return this.#inner.errorMessage(body);
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.#inner.retryAfterMs?.(body);
  }

  #eventMasker(): EventMasker {
    const E = this.#schema === 'anthropic' ? AnthropicEvents : this.#schema === 'responses' ? ResponsesEvents : OpenAIChunks;
    return (this.#events ??= new E(this.#masker, this.counts, this.#text, this.#sink));
  }

  /** Masks whole events (`text` ends on an event boundary, or is the stream's last words). */
  #streamEvents(text: string, last: boolean): string {
    const events = this.#eventMasker();
    let out = '';
    let from = 0;
    while (from < text.length) {
      const m = /\r?\n\r?\n/g;
      m.lastIndex = from;
      const found = m.exec(text);
      const stop = found ? found.index + found[0].length : text.length;
      if (!found && !last) break;
      out += this.#event(events, text.slice(from, stop));
      from = stop;
    }
    return out;
  }

  /** One event (its text up to and including the blank line): itself, masked, after any flush. */
  #event(events: EventMasker, raw: string): string {
    const lines = raw.split(/\r?\n/);
    let name: string | undefined;
    let data: string | undefined;
    for (const line of lines) {
      if (line.startsWith('data:')) data = data === undefined ? line.slice(line[5] === ' ' ? 6 : 5) : `${data}\n${line.slice(line[5] === ' ' ? 6 : 5)}`;
      else if (line.startsWith('event:')) name = line.slice(line[6] === ' ' ? 7 : 6);
    }
    if (data === undefined) return raw;
    if (data.trim() === '[DONE]') return events.flush() + raw;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.#text(raw);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return raw;
    const r = events.event(name, json as Json);
    if (r === null) return raw;
    const kept = lines.filter((l) => l !== '' && !l.startsWith('data:')).join('\n');
    return r.join('') + (kept ? `${kept}\n` : '') + `data: ${JSON.stringify(json)}\n\n`;
  }
}

function lastBoundary(b: Buffer): number {
  const a = b.lastIndexOf(LF2);
  const c = b.lastIndexOf(CRLF2);
  if (c >= 0 && c + 4 > a + 2) return c + 4;
  return a >= 0 ? a + 2 : -1;
}

/**
 * The response translator of an attempt with the tenant's response masking (and the content
 * capture of `--log-content`) around it, or the translator itself when there is neither or the
 * answer holds no text (embeddings; speech, whose answer is audio: its input text is masked on the way in).
 */
export function maskedResponse(inner: ResponseTranslator, masker: Masker | null, schema: ClientSchema, operation: string, capture: ContentCapture | null = null): ResponseTranslator {
  if ((masker === null && capture === null) || operation === 'embeddings' || operation === 'speech') return inner;
  return new MaskedResponse(inner, masker, schema, capture);
}

/**
 * A request field whose answer carries text response masking cannot reach (token log
 * probabilities hold each token's text), or null. Such a request is refused, not served with
 * the field dropped or its text unmasked.
 */
export function unmaskableField(body: Readonly<Record<string, unknown>>): string | null {
  if (body.logprobs === true || typeof body.logprobs === 'number') return 'logprobs';
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) return 'top_logprobs';
  if (Array.isArray(body.include) && body.include.includes('message.output_text.logprobs')) return 'include';
  // A transcription's form field (include[]=logprobs): the tokens of the transcript.
  if (body['include[]'] === 'logprobs' || body.include === 'logprobs') return 'include';
  return null;
}
