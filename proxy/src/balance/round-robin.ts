import type { Balancer, PickInput } from './types.ts';

/**
 * The first candidate whose endpoint index is >= from, wrapping to the first candidate.
 * Binary search: candidates are ascending. -1 when there are none.
 */
export function atOrAfter(candidates: readonly number[], from: number): number {
  let lo = 0;
  let hi = candidates.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (candidates[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return candidates[lo] ?? candidates[0] ?? -1;
}

/**
 * Rotates over endpoint indices, not over positions in the candidate list: the cursor is
 * "the endpoint after the last one picked". So when the candidate set changes between
 * picks (an ejection, a retry that excludes the endpoint just tried) nobody is skipped or
 * served twice, and any |S| consecutive picks from an unchanged set S serve each member
 * exactly once. O(log k) per pick.
 *
 * `start` lets createBalancer begin at a random endpoint, as Envoy does, so that every
 * replica and every config reload does not send its first request to endpoint 0.
 */
export class RoundRobinBalancer implements Balancer {
  #next: number;

  constructor(start = 0) {
    this.#next = start;
  }

  pick(input: PickInput): number {
    const i = atOrAfter(input.candidates, this.#next);
    this.#next = i + 1;
    return i;
  }
}
