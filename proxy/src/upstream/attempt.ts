import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { Errors } from '../api/errors.ts';
import type { ResponseMode, ResponseTranslator, UpstreamRequest, Usage } from '../adapters/types.ts';
import type { Exchange } from '../exchange.ts';
import type { EndpointRuntime, RouteRuntime } from '../runtime/runtime.ts';

/** `auth`: the backend refused the gateway's own credential (401/403); never retried, answered 502. */
export type FailureReason = 'connect-failure' | 'reset' | 'timeout' | '5xx' | '429' | 'auth';

/** How one upstream attempt ended. `done`: the client has its answer (or is gone). */
export type AttemptResult =
  | { kind: 'done' }
  | {
      kind: 'failed';
      reason: FailureReason;
      detail: string;
      /** Set when the upstream answered with an error status (body buffered, nothing sent to the client). */
      status?: number;
      /** The upstream's own error message, when its body had one. */
      message?: string;
      retryAfterMs?: number;
    };

const FIRST_BYTE_TIMEOUT = 'JAIROUTER_FIRST_BYTE_TIMEOUT';
const ERROR_BODY_CAP = 64 * 1024;

/**
 * One try against one endpoint, as an undici dispatch handler: the adapter's translator
 * classifies the answer and turns it into the client's, which is relayed chunk by chunk.
 * Error statuses that may be retried are held back (small buffer) so the next endpoint can
 * still answer; streams are held back until their first complete event, so a stream that dies
 * before that fails over invisibly. Stops when the exchange's signal aborts (client gone,
 * request deadline).
 */
export class Attempt implements Dispatcher.DispatchHandler {
  private mode: ResponseMode | 'init' = 'init';
  /** The upstream's HTTP status (0 until its headers arrived). */
  status = 0;
  private headers: IncomingHttpHeaders = {};
  private errorChunks: Buffer[] = [];
  private errorSize = 0;
  private committed = false;
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  /** performance.now() when the response headers arrived (0 until then): the Latency strategy's signal. */
  headersAt = 0;
  /** When undici handed the request to a connection (performance.now(); 0 = never). */
  requestStartAt = 0;
  private firstByteTimer: NodeJS.Timeout | undefined;
  private pendingAbort: Error | null = null;
  private resolve!: (r: AttemptResult) => void;
  readonly result: Promise<AttemptResult>;

  private readonly ex: Exchange;
  private readonly route: RouteRuntime;
  private readonly endpoint: EndpointRuntime;
  private readonly translator: ResponseTranslator;
  private readonly onStop = (): void => {
    this.abort(this.ex.timedOut ? Object.assign(new Error('request timeout'), { code: 'JAIROUTER_REQUEST_TIMEOUT' }) : new Error('client disconnected'));
  };

  constructor(ex: Exchange, route: RouteRuntime, endpoint: EndpointRuntime, upstream: UpstreamRequest, translator: ResponseTranslator) {
    this.ex = ex;
    this.route = route;
    this.endpoint = endpoint;
    this.translator = translator;
    // Counted until the response headers arrive, or the attempt ends without them (the gateway's queue).
    endpoint.health.awaitingHeaders++;
    this.result = new Promise((r) => (this.resolve = r));
    ex.signal.addEventListener('abort', this.onStop);
    this.firstByteTimer = setTimeout(() => {
      if (this.headersAt === 0) this.abort(Object.assign(new Error('no response headers within the first-byte timeout'), { code: FIRST_BYTE_TIMEOUT }));
    }, route.ir.timeouts.firstByteMs);
    endpoint.pool.dispatch(
      {
        path: upstream.path,
        method: upstream.method ?? 'POST',
        headers: upstream.headers,
        body: upstream.body,
        // undici's own timeouts tick at about 1 s; the first-byte timeout is ours, exact.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  /** Stops the upstream request. */
  private abort(err: Error): void {
    if (this.settled) return;
    if (this.controller) {
      this.controller.abort(err);
    } else {
      // Still waiting for a connection: settle now, cancel as soon as undici hands us control.
      this.pendingAbort = err;
      this.onResponseError(null, err);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.requestStartAt = performance.now();
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
    else if (this.ex.signal.aborted) this.onStop();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.settled) return;
    this.headersAt = performance.now();
    this.endpoint.health.awaitingHeaders--;
    clearTimeout(this.firstByteTimer);
    this.status = status;
    this.headers = headers;
    // Nothing is sent before the first bytes for the client exist: a translator that holds a
    // body until its end can still choose the status from it (a provider's 400 that is really a
    // refused credential), and an upstream that breaks before then fails over invisibly.
    this.mode = this.translator.classify(status, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    switch (this.mode) {
      case 'body': {
        const out = this.translator.body(chunk);
        if (out && out.length > 0) {
          if (!this.committed) this.commit();
          this.write(controller, out);
        }
        return;
      }
      case 'stream': {
        const out = this.translator.stream(chunk);
        if (out && out.length > 0) {
          if (!this.committed) this.commit();
          this.write(controller, out);
        }
        return;
      }
      case 'error':
        if (this.errorSize < ERROR_BODY_CAP) {
          this.errorChunks.push(chunk);
          this.errorSize += chunk.length;
        }
        return;
      default:
        return;
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const out = this.ex.out;
    const t = this.translator;
    switch (this.mode) {
      case 'body': {
        const rest = t.bodyEnd();
        if (!this.committed) this.commit();
        this.account(t.usage);
        out.end(rest ?? undefined);
        this.settle({ kind: 'done' });
        return;
      }
      case 'stream': {
        const rest = t.streamRest();
        if (!t.complete) {
          if (!this.committed) {
            this.settle({ kind: 'failed', reason: 'reset', detail: 'upstream stream ended before its last event' });
            return;
          }
          this.ex.streamError = 'upstream stream ended before its last event';
          out.endStreamWithError(Errors.streamInterrupted('upstream stream ended before completion', 'stream_interrupted'), rest);
          this.account(t.usage);
          this.settle({ kind: 'done' });
          return;
        }
        if (!this.committed) this.commit();
        this.account(t.usage);
        out.end(rest ?? undefined);
        this.settle({ kind: 'done' });
        return;
      }
      case 'error': {
        const body = this.errorChunks.length === 1 ? this.errorChunks[0]! : Buffer.concat(this.errorChunks, this.errorSize);
        const reason: FailureReason = this.status === 429 ? '429' : this.status === 401 || this.status === 403 ? 'auth' : '5xx';
        const result: AttemptResult = { kind: 'failed', reason, detail: `status ${this.status}`, status: this.status, message: t.errorMessage(body) };
        const ra = retryAfterMs(this.headers['retry-after']) ?? t.retryAfterMs?.(body);
        if (ra !== undefined) result.retryAfterMs = ra;
        this.settle(result);
        return;
      }
      default:
        this.settle({ kind: 'failed', reason: 'reset', detail: 'no response' });
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.settled) return;
    const ex = this.ex;
    if (ex.clientGone) {
      this.settle({ kind: 'done' });
      return;
    }
    const reason = classify(err, ex.timedOut);
    if (this.committed) {
      // Bytes already reached the client: end the stream with a well-formed error event, or
      // cut a JSON body short (a client sees a broken response, never a silently short one).
      ex.streamError = `${reason}: ${err.message}`;
      if (this.mode === 'stream') {
        const code = reason === 'timeout' ? 'upstream_timeout' : 'stream_interrupted';
        ex.out.endStreamWithError(Errors.streamInterrupted(`upstream failed mid-stream (${reason})`, code), this.translator.streamRest());
        this.account(this.translator.usage);
      } else {
        ex.out.destroy(err);
      }
      this.settle({ kind: 'done' });
      return;
    }
    this.settle({ kind: 'failed', reason, detail: err.message });
  }

  private commit(): void {
    this.committed = true;
    const ex = this.ex;
    const headers: OutgoingHttpHeaders = this.translator.headers(this.headers, this.mode as ResponseMode);
    // x-request-id and the first route's x-jairouter-route are already set on the response;
    // only a fallback route changes the latter.
    if (this.route !== ex.route) headers['x-jairouter-route'] = this.route.id;
    headers['x-jairouter-backend'] = this.endpoint.backend.name;
    if (ex.draining()) headers.connection = 'close';
    ex.backend = this.endpoint.backend.name;
    ex.route = this.route;
    ex.out.start(this.translator.status?.(this.status) ?? this.status, headers);
  }

  private write(controller: Dispatcher.DispatchController, buf: Buffer): void {
    if (!this.ex.out.write(buf)) {
      controller.pause();
      this.ex.out.onDrain(() => controller.resume());
    }
  }

  private account(u: Usage | null): void {
    if (!u) return;
    this.ex.tokensIn = u.promptTokens;
    this.ex.tokensOut = u.completionTokens;
  }

  private settle(r: AttemptResult): void {
    if (this.settled) return;
    this.settled = true;
    if (this.headersAt === 0) this.endpoint.health.awaitingHeaders--;
    clearTimeout(this.firstByteTimer);
    this.ex.signal.removeEventListener('abort', this.onStop);
    this.errorChunks = [];
    this.resolve(r);
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export function classify(err: Error, timedOut: boolean): FailureReason {
  if (timedOut) return 'timeout';
  const code = (err as { code?: string }).code ?? '';
  if (CONNECT_CODES.has(code)) return 'connect-failure';
  if (code === FIRST_BYTE_TIMEOUT || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  return 'reset';
}

export function retryAfterMs(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
