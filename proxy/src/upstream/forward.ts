import { setTimeout as delay } from 'node:timers/promises';
import type { Span } from '@opentelemetry/api';
import { Errors, type ApiError } from '../api/errors.ts';
import { UnsupportedRequest, type UpstreamRequest } from '../adapters/types.ts';
import type { Exchange } from '../exchange.ts';
import { ingressTranslator, upstreamRequest } from '../ingress/anthropic/index.ts';
import { MaskedResponse, maskedResponse } from '../masking/response.ts';
import { FinishReasonTap } from '../telemetry/finish-reasons.ts';
import { estimateTokens, incapableMessage, needsOf } from '../runtime/capabilities.ts';
import type { RouteRuntime } from '../runtime/runtime.ts';
import { endpointDigest, type ResponseOrigin } from '../responses/ids.ts';
import { ChatAsResponses } from '../responses/from-chat.ts';
import { responsesAsChat } from '../responses/to-chat.ts';
import { ResponseIds } from '../responses/translator.ts';
import type { EndpointRuntime } from '../runtime/runtime.ts';
import { Attempt, type AttemptResult } from './attempt.ts';
import { backoffMs, mayEject, selectEndpoint, soonestCooldownEnd, type PickContext } from './select.ts';

export interface ForwardHooks {
  now(): number;
  onUpstreamError(route: RouteRuntime, backend: string, reason: string, ex?: Exchange): void;
  onEjected(route: RouteRuntime, backend: string, url: string, untilMs: number): void;
  /** An endpoint (`route.endpoints[index]`) whose ejection ended is back in rotation. */
  onRestored(route: RouteRuntime, index: number): void;
  /** An upstream attempt starts; `retry`: not the request's first. */
  onAttempt?(route: RouteRuntime, backend: string, retry: boolean): void;
  /** The request moves on to a route of `fallback.models` after `from` failed. */
  onFallback?(from: RouteRuntime, to: RouteRuntime): void;
}

type Failure =
  | Extract<AttemptResult, { kind: 'failed' }>
  /** Nothing could be picked: every capable endpoint is busy, or cooling down until `coolUntil`. */
  | { kind: 'unavailable'; route: RouteRuntime; coolUntil: number }
  /** No backend of the route can serve this request at all. */
  | { kind: 'incapable'; route: RouteRuntime; message: string };

/** What the failed attempts of one request add up to: the last failure, the smallest Retry-After. */
class Failures {
  last: Failure | null = null;
  retryAfterMs: number | undefined;

  note(f: Failure, now: number): void {
    // A route that cannot serve the request at all does not hide why another one failed.
    if (f.kind !== 'incapable' || this.last === null || this.last.kind === 'incapable') this.last = f;
    const ra = f.kind === 'failed' && f.reason === '429' ? f.retryAfterMs : f.kind === 'unavailable' && f.coolUntil !== Infinity ? f.coolUntil - now : undefined;
    if (ra !== undefined && (this.retryAfterMs === undefined || ra < this.retryAfterMs)) this.retryAfterMs = ra;
  }
}

/**
 * Sends the request to the route's backends: a priority tier at a time, one endpoint per
 * attempt chosen by the route's balancer among the capable, healthy, untried ones, retrying per
 * the route's policy, then the routes of `fallback.models`. The client gets the first answer
 * that is not a retryable failure, or an error describing the last failure.
 */
export async function forward(ex: Exchange, first: RouteRuntime, hooks: ForwardHooks): Promise<void> {
  const deadline = setTimeout(() => ex.stop('deadline'), first.ir.timeouts.requestMs);
  try {
    const failures = new Failures();
    if (await forwardOnRoute(ex, first, hooks, failures)) return;
    // A stored response lives on one endpoint: no other route can serve a request about it.
    if (ex.pin !== null) return void (ex.clientGone || fail(ex, failures, hooks.now()));
    // Fallback models, in order, each route at most once (allocated only when it comes to this).
    const fallbacks = first.ir.fallbackModels;
    const seen = new Set<RouteRuntime>([first]);
    for (let k = 0; k < fallbacks.length && !ex.signal.aborted; k++) {
      const route = ex.runtime.models.get(fallbacks[k]!);
      if (!route || seen.has(route)) continue;
      seen.add(route);
      hooks.onFallback?.(first, route);
      if (ex.trace !== null) ex.trace.fallback(first, route);
      if (await forwardOnRoute(ex, route, hooks, failures)) return;
    }
    if (!ex.clientGone) fail(ex, failures, hooks.now());
  } finally {
    clearTimeout(deadline);
  }
}

/** True when the client has its answer (or is gone); false after noting why the route failed. */
async function forwardOnRoute(ex: Exchange, route: RouteRuntime, hooks: ForwardHooks, failures: Failures): Promise<boolean> {
  const policy = route.ir.retry;
  const op = ex.client.operation;
  // Capability checks cost nothing on routes whose backends declare no limits.
  const needs = route.checks === 0 ? 0 : needsOf(op, ex.client.body) & route.checks;
  const tokens = route.windowed ? estimateTokens(op, ex.client.body) : 0;
  if (needs !== 0 || route.windowed) {
    const able = route.endpoints.some((e) => (e.lacks & needs) === 0 && tokens <= e.window);
    if (!able) {
      failures.note({ kind: 'incapable', route, message: incapableMessage(route.id, needs, tokens, route.endpoints) }, hooks.now());
      return false;
    }
  }
  const only = ex.pin === null ? -1 : pinnedEndpoint(route, ex.pin);
  if (only === -2) {
    const pin = ex.pin!;
    failures.note({ kind: 'incapable', route, message: `the response was stored by backend ${pin.backend} of route ${pin.route}, at an endpoint route ${route.id} no longer has: it cannot be reached` }, hooks.now());
    return false;
  }
  const ctx: PickContext = {
    tried: new Uint8Array(route.endpoints.length),
    now: 0,
    untriedOnly: true,
    only,
    hashValue: ex.hashValue,
    model: ex.client.model,
    needs,
    tokens,
    onRestored: hooks.onRestored,
  };
  let skipped = 0;
  for (let n = 0; n <= policy.attempts; n++) {
    ctx.now = hooks.now();
    ctx.untriedOnly = true;
    let idx = selectEndpoint(route, ctx);
    if (idx < 0 && n > 0) {
      // Every available endpoint was tried: retry one of them after a backoff.
      ctx.untriedOnly = false;
      idx = selectEndpoint(route, ctx);
      if (idx < 0) break;
      await delay(backoffMs(n, policy.backoffBaseMs, policy.backoffMaxMs, Math.random()));
      if (ex.signal.aborted) break;
    }
    if (idx < 0) {
      // Nothing was tried on this route: say why (a backend that refused the request said so already).
      if (n === 0 && skipped === 0) failures.note({ kind: 'unavailable', route, coolUntil: soonestCooldownEnd(route, needs, tokens, ctx.now) }, ctx.now);
      break;
    }
    ctx.tried[idx] = 1;
    const ep = route.endpoints[idx]!;
    const adapter = ep.backend.adapter;
    let upstream: UpstreamRequest;
    // The Responses API to a backend that speaks only chat: translated both ways (responses/).
    const viaChat = op === 'responses' && !adapter.supports('responses');
    let client = ex.client;
    try {
      if (viaChat) client = responsesAsChat(ex.client, ep.backend.name);
      const built = upstreamRequest(adapter, client, ep.backend.ir, ep.basePath, ep.origin);
      upstream = built instanceof Promise ? await built : built;
    } catch (e) {
      if (!(e instanceof UnsupportedRequest)) throw e;
      // This backend cannot honour the request; another one of the route may.
      failures.note({ kind: 'incapable', route, message: e.message }, hooks.now());
      // A skip costs no attempt, once per endpoint (bounded: a retry may pick it again).
      if (++skipped <= route.endpoints.length) n--;
      continue;
    }
    if (ex.signal.aborted) break;
    hooks.onAttempt?.(route, ep.backend.name, ex.attempts++ > 0);
    // Traced: a CLIENT span per attempt, whose traceparent the upstream request carries (on a copy
    // of the adapter's headers).
    let span: Span | null = null;
    if (ex.trace !== null) {
      upstream.headers = { ...upstream.headers };
      span = ex.trace.attempt(ex, route, ep, upstream.headers);
    }
    ep.health.inflight++;
    const started = hooks.now();
    const own = ingressTranslator(client, adapter.translator(client, ep.backend.ir), adapter.passesThrough);
    const translator = maskedResponse(
      viaChat
        ? new ChatAsResponses(own, ex.client, Math.floor(Date.now() / 1000), ex.keep)
        : op === 'responses'
          ? new ResponseIds(own, { route: route.id, backend: ep.backend.name, endpoint: digestOf(ep), tenant: ex.identity!.tenant.id, model: ex.client.model })
          : own,
      ex.identity?.tenant.maskResponses ?? null,
      ex.out.schema,
      ex.client.operation,
      ex.capture,
    );
    // A recorded attempt also reads the finish reasons of what the client receives.
    const tap = span === null ? null : new FinishReasonTap(translator);
    const attempt = new Attempt(ex, route, ep, upstream, tap ?? translator);
    const result = await attempt.result;
    ep.health.inflight--;
    if (span !== null) ex.trace!.attemptEnded(span, ex, route, ep, result, attempt.status, tap!.reasons, attempt);
    if (translator instanceof MaskedResponse && result.kind === 'done') addCounts(ex.responseMasks, translator.counts);
    if (result.kind === 'done') {
      ep.health.recordSuccess();
      route.balancer.observe?.(idx, (attempt.headersAt || hooks.now()) - started, true);
      return true;
    }
    if (ex.clientGone) return true;
    hooks.onUpstreamError(route, ep.backend.name, result.reason, ex);
    route.balancer.observe?.(idx, hooks.now() - started, false);
    const t = hooks.now();
    const passive = route.ir.healthCheck.passive;
    if (result.reason === '429') {
      ep.health.coolDown(t + (result.retryAfterMs ?? policy.backoffBaseMs));
    } else if (ep.health.recordFailure(t, passive.consecutiveFailures, passive.ejectionTimeMs, mayEject(route, t))) {
      hooks.onEjected(route, ep.backend.name, ep.url, ep.health.ejectedUntil);
    }
    failures.note(result, t);
    if (ex.timedOut || result.reason === 'auth' || !policy.retryOn.includes(result.reason)) break;
  }
  return false;
}

function fail(ex: Exchange, failures: Failures, now: number): void {
  // No failure on record: the request deadline passed before an attempt could start.
  const f: Failure = failures.last ?? { kind: 'failed', reason: 'timeout', detail: 'request deadline exceeded' };
  let e: ApiError;
  const headers: Record<string, string> = {};
  if (failures.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(failures.retryAfterMs / 1000)));
  if (f.kind === 'incapable') {
    e = Errors.incapable(f.message);
  } else if (f.kind === 'unavailable') {
    e = f.coolUntil !== Infinity ? Errors.upstreamRateLimited(` (the first is back in ${Math.ceil((f.coolUntil - now) / 1000)} s)`) : Errors.noHealthyBackend(f.route.id);
  } else if (f.reason === 'timeout') {
    e = Errors.timeout(ex.timedOut ? 'request deadline exceeded' : 'no response headers within the first-byte timeout');
  } else if (f.reason === '429') {
    e = Errors.upstreamRateLimited(f.message ? `: ${f.message}` : '');
  } else if (f.reason === 'auth') {
    e = Errors.upstreamAuth(f.status ?? 401, f.message ?? '');
  } else if (f.reason === '5xx') {
    e = Errors.badGateway(`upstream answered ${f.status}${f.message ? `: ${f.message}` : ''}`);
  } else {
    e = Errors.badGateway(f.reason === 'connect-failure' ? 'could not connect to any backend' : 'connection reset by the backend');
  }
  if (f.kind !== 'failed') {
    headers['x-jairouter-route'] = f.route.id;
    ex.route ??= f.route;
  }
  if (e.status !== 429) delete headers['retry-after'];
  ex.out.error(e, headers);
}

function addCounts(to: Record<string, number>, from: Record<string, number>): void {
  for (const k in from) to[k] = (to[k] ?? 0) + from[k]!;
}

const digests = new WeakMap<EndpointRuntime, string>();

/** The digest a response id names `ep` by (responses/ids.ts), computed once per endpoint. */
function digestOf(ep: EndpointRuntime): string {
  let d = digests.get(ep);
  if (d === undefined) {
    d = endpointDigest(ep.url);
    digests.set(ep, d);
  }
  return d;
}

/** The index of the endpoint holding a stored response in `route`, or -2 when the route has it no more. */
function pinnedEndpoint(route: RouteRuntime, pin: ResponseOrigin): number {
  const i = route.endpoints.findIndex((e) => e.backend.name === pin.backend && digestOf(e) === pin.endpoint);
  return i < 0 ? -2 : i;
}
