/** Shared by the *.test.ts files of this folder; not used by the proxy. */
import fc from 'fast-check';
import type { BalanceEndpoint, PickInput } from './types.ts';

/** Seeded PRNG so that statistical tests are deterministic, never flaky. */
export { mulberry32 } from '@jairouter/testkit/seeded-random';

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
