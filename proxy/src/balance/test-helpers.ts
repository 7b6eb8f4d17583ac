/** Shared by the *.test.ts files of this folder; not used by the proxy. */
import fc from 'fast-check';
import type { BalanceEndpoint, PickInput } from './types.ts';

/** Small seeded PRNG so that statistical tests are deterministic, never flaky. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function endpoints(weights: readonly number[], costs: readonly number[] = []): BalanceEndpoint[] {
  return weights.map((weight, i) => ({ key: `backend-${i} http://10.0.0.${i}:8000/v1`, weight, cost: costs[i] ?? 0 }));
}

export function input(candidates: readonly number[], hashValue = '', inflight: ArrayLike<number> = []): PickInput {
  return { candidates, hashValue, inflight };
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Picks `count` times from an unchanging candidate set and counts the picks per endpoint. */
export function tally(pick: () => number, size: number, count: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (let t = 0; t < count; t++) {
    const i = pick();
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/** A non-empty ascending subset of 0..n-1, from a bit mask. */
export function subsetArb(n: number): fc.Arbitrary<number[]> {
  return fc
    .array(fc.boolean(), { minLength: n, maxLength: n })
    .filter((bits) => bits.some(Boolean))
    .map((bits) => bits.flatMap((b, i) => (b ? [i] : [])));
}
