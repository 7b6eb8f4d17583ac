import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { UpstreamRequest, Usage } from '../adapters/types.ts';
import type { EndpointRuntime, RouteRuntime } from '../runtime/runtime.ts';
import { SseRelay, sseErrorEvent } from '../sse/sse-relay.ts';
import type { Exchange } from './exchange.ts';

export type FailureReason = 'connect-failure' | 'reset' | 'timeout' | '5xx' | '429';

/** How one upstream attempt ended. `done`: the client has its answer (or is gone). */
export type AttemptResult =
  | { kind: 'done' }
  | {
      kind: 'failed';
      reason: FailureReason;
      detail: string;
      /** Set when the upstream answered with an error status (body buffered, nothing sent to the client). */
      status?: number;
      body?: Buffer;
      retryAfterMs?: number;
    };

/**
 * Upstream response headers not passed on: hop-by-hop ones; the upstream's own x-request-id
 * (OpenAI sends one), which never replaces ours; and those that describe the platform's
 * provider account rather than the answer (OpenAI's organization and project ids, cookies set
 * for the account's session).
 */
const NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'x-request-id', 'set-cookie', 'openai-organization', 'openai-project',
]);
const FIRST_BYTE_TIMEOUT = 'JAIROUTER_FIRST_BYTE_TIMEOUT';
const ERROR_BODY_CAP = 64 * 1024;
const USAGE_BODY_CAP = 8 * 1024 * 1024;

type Mode = 'init' | 'error' | 'pass' | 'sse';

/**
 * One try against one endpoint, as an undici dispatch handler: the response is relayed to the
 * client chunk by chunk. Error statuses that may be retried are held back (small buffer) so the
 * next endpoint can still answer; streams are held back until their first complete event, so a
 * stream that dies before that fails over invisibly.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  private mode: Mode = 'init';
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private relay: SseRelay | null = null;
  private committed = false;
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  /** performance.now() when the response headers arrived (0 until then): the Latency strategy's signal. */
  headersAt = 0;
  private firstByteTimer: NodeJS.Timeout | undefined;
  private pendingAbort: Error | null = null;
  private resolve!: (r: AttemptResult) => void;
  readonly result: Promise<AttemptResult>;

  private readonly ex: Exchange;
  private readonly route: RouteRuntime;
  private readonly endpoint: EndpointRuntime;

  constructor(ex: Exchange, route: RouteRuntime, endpoint: EndpointRuntime, upstream: UpstreamRequest) {
    this.ex = ex;
    this.route = route;
    this.endpoint = endpoint;
    this.result = new Promise((r) => (this.resolve = r));
    ex.attempt = this;
    this.firstByteTimer = setTimeout(() => {
      if (this.headersAt === 0) this.abort(Object.assign(new Error('no response headers within the first-byte timeout'), { code: FIRST_BYTE_TIMEOUT }));
    }, route.ir.timeouts.firstByteMs);
    endpoint.pool.dispatch(
      {
        path: upstream.path,
        method: 'POST',
        headers: upstream.headers,
        body: upstream.body,
        // undici's own timeouts tick at about 1 s; the first-byte timeout is ours, exact.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  /** Stops the upstream request (client gone, request deadline). */
  abort(err: Error): void {
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
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
    else if (this.ex.clientGone) controller.abort(new Error('client disconnected'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.settled) return;
    this.headersAt = performance.now();
    clearTimeout(this.firstByteTimer);
    this.status = status;
    this.headers = headers;
    if (status >= 500 || status === 429) {
      this.mode = 'error';
    } else if (status < 300 && this.ex.client.stream && String(headers['content-type'] ?? '').includes('text/event-stream')) {
      this.mode = 'sse';
      this.relay = new SseRelay(!this.ex.client.clientWantsUsage);
    } else {
      this.mode = 'pass';
      this.commit(false);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    switch (this.mode) {
      case 'pass':
        if (this.status < 300 && this.size < USAGE_BODY_CAP) {
          this.chunks.push(chunk);
          this.size += chunk.length;
        }
        this.write(controller, chunk);
        return;
      case 'sse': {
        const out = this.relay!.push(chunk);
        if (out && out.length > 0) {
          if (!this.committed) this.commit(true);
          this.write(controller, out);
        }
        return;
      }
      case 'error':
        if (this.size < ERROR_BODY_CAP) {
          this.chunks.push(chunk);
          this.size += chunk.length;
        }
        return;
      default:
        return;
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const ex = this.ex;
    switch (this.mode) {
      case 'pass': {
        if (this.status < 300) this.account(this.endpoint.backend.adapter.usageFromBody(concat(this.chunks, this.size)));
        ex.res.end();
        this.settle({ kind: 'done' });
        return;
      }
      case 'sse': {
        const relay = this.relay!;
        const rest = relay.rest();
        if (!relay.sawDone) {
          if (!this.committed) {
            this.settle({ kind: 'failed', reason: 'reset', detail: 'upstream stream ended before [DONE]' });
            return;
          }
          if (rest) ex.res.write(rest);
          ex.res.end(sseErrorEvent('upstream stream ended before completion', 'stream_interrupted'));
          ex.streamError = 'upstream stream ended before [DONE]';
          this.account(relay.usage);
          this.settle({ kind: 'done' });
          return;
        }
        if (!this.committed) this.commit(true);
        this.account(relay.usage);
        ex.res.end(rest ?? undefined);
        this.settle({ kind: 'done' });
        return;
      }
      case 'error': {
        const body = concat(this.chunks, this.size);
        const reason: FailureReason = this.status === 429 ? '429' : '5xx';
        const result: AttemptResult = { kind: 'failed', reason, detail: `status ${this.status}`, status: this.status, body };
        const ra = retryAfterMs(this.headers['retry-after']);
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
      if (this.mode === 'sse') {
        const rest = this.relay!.rest();
        if (rest) ex.res.write(rest);
        ex.res.end(sseErrorEvent(`upstream failed mid-stream (${reason})`, reason === 'timeout' ? 'upstream_timeout' : 'stream_interrupted'));
        this.account(this.relay!.usage);
      } else {
        ex.res.destroy(err);
      }
      this.settle({ kind: 'done' });
      return;
    }
    this.settle({ kind: 'failed', reason, detail: err.message });
  }

  private commit(stream: boolean): void {
    this.committed = true;
    const ex = this.ex;
    const out: OutgoingHttpHeaders = {};
    const h = this.headers;
    for (const k in h) {
      if (NOT_FORWARDED.has(k) || (stream && k === 'content-length')) continue;
      out[k] = h[k];
    }
    // x-request-id and the first route's x-jairouter-route are already set on the response;
    // only a fallback route changes the latter.
    if (this.route !== ex.route) out['x-jairouter-route'] = this.route.id;
    out['x-jairouter-backend'] = this.endpoint.backend.name;
    if (ex.draining()) out.connection = 'close';
    ex.status = this.status;
    ex.backend = this.endpoint.backend.name;
    ex.route = this.route;
    ex.res.writeHead(this.status, out);
  }

  private write(controller: Dispatcher.DispatchController, buf: Buffer): void {
    if (!this.ex.res.write(buf)) {
      controller.pause();
      this.ex.res.once('drain', () => controller.resume());
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
    clearTimeout(this.firstByteTimer);
    this.chunks = [];
    this.resolve(r);
  }
}

function concat(chunks: Buffer[], size: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
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
