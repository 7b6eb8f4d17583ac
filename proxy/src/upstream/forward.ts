import { setTimeout as delay } from 'node:timers/promises';
import { Errors, apiError, sendError, type ApiError } from '../http/errors.ts';
import type { RouteRuntime } from '../runtime/runtime.ts';
import { Attempt, type AttemptResult } from './attempt.ts';
import type { Exchange } from './exchange.ts';
import { backoffMs, selectEndpoint } from './select.ts';

export interface ForwardHooks {
  now(): number;
  onUpstreamError(route: RouteRuntime, backend: string, reason: string): void;
  onEjected(route: RouteRuntime, backend: string, url: string, untilMs: number): void;
}

type Failure = Extract<AttemptResult, { kind: 'failed' }> | { kind: 'unavailable'; route: RouteRuntime };

/**
 * Sends the request to the route's backends: a priority tier at a time, one endpoint per
 * attempt chosen by the route's balancer among the healthy untried ones, retrying per the
 * route's policy, then the routes of `fallback.models`. The client gets the first answer
 * that is not a retryable failure, or an OpenAI-style error describing the last failure.
 */
export async function forward(ex: Exchange, first: RouteRuntime, hooks: ForwardHooks): Promise<void> {
  const deadline = setTimeout(() => {
    ex.timedOut = true;
    ex.attempt?.abort(Object.assign(new Error('request timeout'), { code: 'JAIROUTER_REQUEST_TIMEOUT' }));
  }, first.ir.timeouts.requestMs);
  try {
    let last: Failure | null = await forwardOnRoute(ex, first, hooks);
    if (last === null) return;
    // Fallback models, in order, each route at most once (allocated only when it comes to this).
    const fallbacks = first.ir.fallbackModels;
    const seen = new Set<RouteRuntime>([first]);
    for (let k = 0; k < fallbacks.length && !ex.timedOut && !ex.clientGone; k++) {
      const route = ex.runtime.models.get(fallbacks[k]!);
      if (!route || seen.has(route)) continue;
      seen.add(route);
      const r = await forwardOnRoute(ex, route, hooks);
      if (r === null) return;
      last = r;
    }
    if (!ex.clientGone) fail(ex, last!);
  } finally {
    clearTimeout(deadline);
  }
}

async function forwardOnRoute(ex: Exchange, route: RouteRuntime, hooks: ForwardHooks): Promise<Failure | null> {
  const policy = route.ir.retry;
  const tried = new Uint8Array(route.endpoints.length);
  let last: Failure = { kind: 'unavailable', route };
  for (let n = 0; n <= policy.attempts; n++) {
    const now = hooks.now();
    let idx = selectEndpoint(route, tried, now, true, ex.hashValue);
    if (idx < 0 && n > 0) {
      // Every available endpoint was tried: retry one of them after a backoff.
      idx = selectEndpoint(route, tried, now, false, ex.hashValue);
      if (idx < 0) break;
      await delay(backoffMs(n, policy.backoffBaseMs, policy.backoffMaxMs, Math.random()));
      if (ex.clientGone || ex.timedOut) break;
    }
    if (idx < 0) break;
    tried[idx] = 1;
    const ep = route.endpoints[idx]!;
    const upstream = ep.backend.adapter.toUpstream(ex.client, ep.backend.ir, ep.basePath);
    ep.health.inflight++;
    const started = hooks.now();
    const attempt = new Attempt(ex, route, ep, upstream);
    const result = await attempt.result;
    ep.health.inflight--;
    ex.attempt = null;
    if (result.kind === 'done') {
      ep.health.recordSuccess();
      route.balancer.observe?.(idx, (attempt.headersAt || hooks.now()) - started, true);
      return null;
    }
    if (ex.clientGone) return null;
    hooks.onUpstreamError(route, ep.backend.name, result.reason);
    route.balancer.observe?.(idx, hooks.now() - started, false);
    const t = hooks.now();
    if (result.reason === '429') {
      ep.health.coolDown(t + (result.retryAfterMs ?? route.ir.retry.backoffBaseMs));
    } else if (ep.health.recordFailure(t, route.ir.healthCheck.passive.consecutiveFailures, route.ir.healthCheck.passive.ejectionTimeMs)) {
      hooks.onEjected(route, ep.backend.name, ep.url, ep.health.ejectedUntil);
    }
    last = result;
    if (ex.timedOut || !policy.retryOn.includes(result.reason as never)) break;
  }
  return last;
}

function fail(ex: Exchange, f: Failure): void {
  let e: ApiError;
  const headers: Record<string, string> = {};
  if (f.kind === 'unavailable') {
    e = Errors.noHealthyBackend(f.route.id);
    headers['x-jairouter-route'] = f.route.id;
    ex.route ??= f.route;
  } else if (f.reason === 'timeout') {
    e = Errors.timeout(ex.timedOut ? 'request deadline exceeded' : 'no response headers within the first-byte timeout');
  } else if (f.reason === '429') {
    e = apiError(429, 'rate_limit_error', 'upstream_rate_limited', `every backend is rate limited${upstreamMessage(f.body)}`);
    if (f.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(f.retryAfterMs / 1000));
  } else if (f.reason === '5xx') {
    e = Errors.badGateway(`upstream answered ${f.status}${upstreamMessage(f.body)}`);
  } else {
    e = Errors.badGateway(f.reason === 'connect-failure' ? 'could not connect to any backend' : 'connection reset by the backend');
  }
  ex.status = e.status;
  sendError(ex.res, e, headers);
}

/** The upstream's own error message, when it sent an OpenAI-style body (it never holds our secrets). */
function upstreamMessage(body: Buffer | undefined): string {
  if (!body || body.length === 0) return '';
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message;
    return typeof m === 'string' ? `: ${m.slice(0, 500)}` : '';
  } catch {
    return '';
  }
}
