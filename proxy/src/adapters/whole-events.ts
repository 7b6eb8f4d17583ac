// A translator wrapper that rewrites an answer it sees whole: a successful body once it has
// ended, a stream one block of complete events at a time. Error answers, and everything else a
// translator does, are the inner translator's. Subclasses say what a body or a block becomes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BufferedBody } from './buffered-body.ts';
import type { ResponseMode, ResponseTranslator, Usage } from './types.ts';

const LF2 = Buffer.from('\n\n');

export abstract class WholeEventsTranslator implements ResponseTranslator {
  protected readonly inner: ResponseTranslator;
  /** The answer succeeded: it is rewritten (an error passes as it came). */
  protected ok = false;
  readonly #held = new BufferedBody();
  #pending: Buffer | null = null;

  constructor(inner: ResponseTranslator) {
    this.inner = inner;
  }

  /** The whole successful body as the client gets it (null for nothing). */
  protected abstract rewriteBody(all: Buffer): Buffer | null;
  /** Complete events (ending on a blank line, or the stream's last bytes) as the client gets them. */
  protected abstract rewriteEvents(block: Buffer): Buffer | null;

  get complete(): boolean {
    return this.inner.complete;
  }

  get usage(): Usage | null {
    return this.inner.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    this.ok = status < 300;
    return this.inner.classify(status, headers);
  }

  status(upstream: number): number {
    return this.inner.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = this.inner.headers(upstream, mode);
    // A rewritten body changes length.
    if (this.ok) delete h['content-length'];
    return h;
  }

  body(chunk: Buffer): Buffer | null {
    const out = this.inner.body(chunk);
    if (!this.ok) return out;
    if (out !== null && out.length > 0) this.#held.push(out);
    return null;
  }

  bodyEnd(): Buffer | null {
    const rest = this.inner.bodyEnd();
    if (!this.ok) return rest;
    if (rest !== null && rest.length > 0) this.#held.push(rest);
    const all = this.#held.take();
    return all.length === 0 ? null : this.rewriteBody(all);
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.inner.stream(chunk);
    if (out === null || out.length === 0) return out;
    const data = this.#pending ? Buffer.concat([this.#pending, out]) : out;
    const end = data.lastIndexOf(LF2);
    if (end < 0) {
      this.#pending = data;
      return null;
    }
    this.#pending = end + 2 < data.length ? data.subarray(end + 2) : null;
    return this.rewriteEvents(data.subarray(0, end + 2));
  }

  streamRest(): Buffer | null {
    const rest = this.inner.streamRest();
    const data = this.#pending ? (rest ? Buffer.concat([this.#pending, rest]) : this.#pending) : rest;
    this.#pending = null;
    return data && data.length > 0 ? this.rewriteEvents(data) : null;
  }

  errorMessage(body: Buffer): string {
    return this.inner.errorMessage(body);
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.inner.retryAfterMs?.(body);
  }
}
