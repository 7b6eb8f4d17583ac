// The decision arithmetic every algorithm shares: rounding of what a Decision reports, and the
// truthful retry wait (algorithms.ts, warm-up.ts).
import type { Decision } from './algorithms.ts';

/** Float slack of every comparison: the Lua side (redis-scripts.ts) uses the same. */
export const EPS = 1e-6;

export function allow(limit: number, remaining: number, resetMs: number, delayMs = 0): Decision {
  return { allowed: true, delayMs, retryAfterMs: 0, limit, remaining: Math.max(0, Math.floor(remaining + EPS)), resetMs: Math.max(0, Math.ceil(resetMs - EPS)) };
}

export function refuse(limit: number, remaining: number, resetMs: number, retryAfterMs: number, oversize = false): Decision {
  const d: Decision = {
    allowed: false,
    delayMs: 0,
    retryAfterMs: Math.max(1, Math.ceil(oversize ? retryAfterMs - EPS : retryAfterMs)),
    limit,
    remaining: Math.max(0, Math.floor(remaining + EPS)),
    resetMs: Math.max(0, Math.ceil(resetMs - EPS)),
  };
  if (oversize) d.oversize = true;
  return d;
}

export const positive = (amount: number): number => (amount > 0 ? amount : 0);

/**
 * The least whole ms w >= 1 after which `admits(w)`, from the exact solution x. Float
 * rounding can put ceil(x) one ms off either way; checking with the very predicate take()
 * uses makes retryAfterMs truthful (a lone caller taking then is admitted) and tight.
 */
export function waitMs(x: number, admits: (w: number) => boolean): number {
  let w = Math.max(1, Math.ceil(x));
  if (w > 1 && admits(w - 1)) return w - 1;
  for (let i = 0; i < 3 && !admits(w); i++) w++;
  return w;
}

