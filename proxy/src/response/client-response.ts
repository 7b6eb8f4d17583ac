import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorBody, streamErrorEvent, type ApiError, type ApiSchema } from '../api/errors.ts';

const SEQUENCE = Buffer.from('"sequence_number":');

/**
 * The one writer of a client's response: status line, headers, body bytes, SSE events and
 * error bodies in the client's API schema. Everything else asks it, so `status` is always
 * what the client got (0 until something was sent).
 */
export class ClientResponse {
  /** The status the client got; 499 / 408 when it went away before an answer. */
  status = 0;
  /** The code of the error answered, for the request log; may be more precise than the body. */
  errorCode = '';
  /** performance.now() when a relayed answer started (0 before): an upstream's time to answer. */
  startedAt = 0;

  readonly schema: ApiSchema;
  private readonly res: ServerResponse;
  /** Responses API: the `sequence_number` of the last event written (-1 before any). */
  #sequence = -1;

  constructor(res: ServerResponse, schema: ApiSchema) {
    this.res = res;
    this.schema = schema;
  }

  /** Whether the status line went out: from then on only body bytes (or a cut) can follow. */
  get started(): boolean {
    return this.res.headersSent;
  }

  /** A header for whatever answer comes (x-request-id, x-jairouter-route, CORS). */
  setHeader(name: string, value: string): void {
    if (!this.res.headersSent) this.res.setHeader(name, value);
  }

  /** Starts a relayed answer; headers set with setHeader go out too. */
  start(status: number, headers: OutgoingHttpHeaders): void {
    this.status = status;
    this.startedAt = performance.now();
    this.res.writeHead(status, headers);
  }

  /** Body bytes; false when the socket buffer is full (wait for `onDrain`). */
  write(chunk: Buffer): boolean {
    if (this.schema === 'responses') this.#noteSequence(chunk);
    return this.res.write(chunk);
  }

  /** The last `"sequence_number":N` in bytes going to a Responses client (events are numbered in order). */
  #noteSequence(chunk: Buffer): void {
    const at = chunk.lastIndexOf(SEQUENCE);
    if (at < 0) return;
    let i = at + SEQUENCE.length;
    while (chunk[i] === 0x20) i++;
    let n = 0;
    let digits = 0;
    for (let c = chunk[i]; c !== undefined && c >= 0x30 && c <= 0x39; c = chunk[++i]) {
      n = n * 10 + (c - 0x30);
      digits++;
    }
    if (digits > 0 && digits < 16) this.#sequence = n;
  }

  onDrain(fn: () => void): void {
    this.res.once('drain', fn);
  }

  end(chunk?: Buffer): void {
    if (chunk) this.res.end(chunk);
    else this.res.end();
  }

  /** A whole JSON answer of the proxy's own. */
  json(status: number, body: string, headers?: OutgoingHttpHeaders): void {
    this.status = status;
    this.res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  /** An answer with no body (a CORS preflight). */
  empty(status: number, headers: OutgoingHttpHeaders): void {
    this.status = status;
    this.res.writeHead(status, headers);
    this.res.end();
  }

  /**
   * An error answer in the client's schema. `logCode` is what the request log records when it
   * differs from the body's code (a model the caller may not use answers as not found). Once a
   * response started, an error can only cut it short.
   */
  error(e: ApiError, headers?: Readonly<Record<string, string>>, logCode: string = e.code): void {
    this.errorCode = logCode;
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    const body = errorBody(e, this.schema);
    this.status = e.status;
    this.res.statusCode = e.status;
    this.res.setHeader('content-type', 'application/json');
    this.res.setHeader('content-length', Buffer.byteLength(body));
    if (headers) for (const k in headers) this.res.setHeader(k, headers[k]!);
    this.res.end(body);
  }

  /**
   * Ends a stream that already started with a well-formed error event (after `rest`, the
   * upstream's last partial event), so the client sees why the stream stopped.
   */
  endStreamWithError(e: ApiError, rest: Buffer | null): void {
    this.errorCode = e.code;
    if (rest) this.write(rest);
    this.res.end(streamErrorEvent(e, this.schema, this.#sequence + 1));
  }

  /** Cuts the response off (a JSON body the upstream broke mid-way: never a silently short one). */
  destroy(err?: Error): void {
    this.res.destroy(err);
  }

  /** The client closed the connection before an answer: nginx's 499, or 408 when node:http timed its request out. */
  clientClosed(readTimedOut: boolean): void {
    if (this.status === 0) this.status = readTimedOut ? 408 : 499;
  }
}
