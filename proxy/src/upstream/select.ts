import type { RouteRuntime } from '../runtime/runtime.ts';

/** What one pick looks at; one object per request, updated between attempts. */
export interface PickContext {
  /** Endpoints this request already tried (1 = tried). */
  readonly tried: Uint8Array;
  now: number;
  /** Only endpoints not tried yet. */
  untriedOnly: boolean;
  /** The one endpoint the request must reach (a stored response's), or -1 for any. */
  readonly only: number;
  readonly hashValue: string;
  /** The model the client asked for (LoadAware's LoRA preference). */
  readonly model?: string | undefined;
  /** Need bits of the request (runtime/capabilities.ts) and its token estimate. */
  readonly needs: number;
  readonly tokens: number;
  /** Told about an endpoint whose ejection ended since it was last looked at. */
  readonly onRestored: (route: RouteRuntime, index: number) => void;
}

/**
 * The endpoint for the next attempt: the balancer's pick among the usable endpoints of the
 * first priority tier that has any. Usable = able to serve the request (capabilities, context
 * window, operation), available (not ejected, not cooling down after a 429, not failing active
 * checks), below its backend's maxConcurrency, and (with `untriedOnly`) not tried yet.
 *
 * Panic routing (Envoy's): when no capable endpoint of any tier is available, the ejected and
 * unhealthy ones are tried anyway: health checks may be wrong, and answering 503 without trying
 * would keep a recovered backend unused until its ejection ends. Endpoints cooling down after
 * a 429 stay out: they said when to come back. Returns -1 when nothing can be picked.
 */
export function selectEndpoint(route: RouteRuntime, ctx: PickContext): number {
  const picked = pickInTiers(route, ctx, false);
  return picked === NONE_AVAILABLE ? pickInTiers(route, ctx, true) : picked;
}

/** pickInTiers found no available capable endpoint at all (not merely all tried or busy): panic. */
const NONE_AVAILABLE = -2;

function pickInTiers(route: RouteRuntime, ctx: PickContext, panic: boolean): number {
  const { tried, now, untriedOnly, needs, tokens } = ctx;
  const loads = route.loads;
  let anyAvailable = false;
  for (const tier of route.tiers) {
    let candidates: number[] | null = null;
    for (const i of tier) {
      if (ctx.only >= 0 && i !== ctx.only) continue;
      const ep = route.endpoints[i]!;
      if ((ep.lacks & needs) !== 0 || tokens > ep.window) continue;
      const h = ep.health;
      if (panic) {
        if (h.coolUntil > now) continue;
      } else {
        if (h.ejected && h.restoredAt(now)) ctx.onRestored(route, i);
        if (!h.available(now)) continue;
        anyAvailable = true;
      }
      if (untriedOnly && tried[i]) continue;
      const max = ep.backend.ir.maxConcurrency;
      if (max !== undefined && h.inflight >= max) continue;
      loads[i] = h.inflight;
      (candidates ??= []).push(i);
    }
    if (candidates) return route.balancer.pick({ candidates, hashValue: ctx.hashValue, inflight: loads, model: ctx.model });
  }
  return panic || anyAvailable ? -1 : NONE_AVAILABLE;
}

/** Whether one more endpoint of the route may be ejected: at most `maxEjectionPercent` of them, and never the last one in. */
export function mayEject(route: RouteRuntime, now: number): boolean {
  const n = route.endpoints.length;
  let ejected = 1;
  for (const e of route.endpoints) if (e.health.isEjected(now)) ejected++;
  return ejected < n && ejected * 100 <= route.ir.healthCheck.passive.maxEjectionPercent * n;
}

/** The soonest time (ms, injected clock) a capable endpoint cooling down after a 429 is back; Infinity when none is cooling. */
export function soonestCooldownEnd(route: RouteRuntime, needs: number, tokens: number, now: number): number {
  let soonest = Infinity;
  for (const ep of route.endpoints) {
    if ((ep.lacks & needs) !== 0 || tokens > ep.window) continue;
    if (ep.health.coolUntil > now && ep.health.coolUntil < soonest) soonest = ep.health.coolUntil;
  }
  return soonest;
}

/** Delay before retrying an endpoint already tried: exponential, capped, with jitter in [d/2, d). */
export function backoffMs(retry: number, baseMs: number, maxMs: number, rand: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return d / 2 + rand * (d / 2);
}
