import type { RouteRuntime } from '../runtime/runtime.ts';

/**
 * The endpoint for the next attempt: the balancer's pick among the usable endpoints of the
 * first priority tier that has any. Usable = available (not ejected, not failing active
 * checks), below its backend's maxConcurrency, and (with `untriedOnly`) not tried yet by
 * this request. Returns -1 when no tier has one.
 */
export function selectEndpoint(
  route: RouteRuntime,
  tried: Uint8Array,
  now: number,
  untriedOnly: boolean,
  hashValue: string,
): number {
  const loads = route.loads;
  for (const tier of route.tiers) {
    let candidates: number[] | null = null;
    for (const i of tier) {
      if (untriedOnly && tried[i]) continue;
      const h = route.endpoints[i]!.health;
      if (!h.available(now)) continue;
      const max = route.endpoints[i]!.backend.ir.maxConcurrency;
      if (max !== undefined && h.inflight >= max) continue;
      loads[i] = h.inflight;
      (candidates ??= []).push(i);
    }
    if (candidates) return route.balancer.pick({ candidates, hashValue, inflight: loads });
  }
  return -1;
}

/** Delay before retrying an endpoint already tried: exponential, capped, with jitter in [d/2, d). */
export function backoffMs(retry: number, baseMs: number, maxMs: number, rand: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return d / 2 + rand * (d / 2);
}
