import { fmix32, hash32, scaleHash } from './hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { Balancer, PickInput } from './types.ts';

/** Rehash attempts before giving up on the full endpoint list (nginx ip_hash uses 20). */
const MAX_REHASH = 20;

/**
 * Client affinity by hashing hashValue (the client IP). Like nginx ip_hash, the hash maps
 * onto every endpoint that has weight, not just the candidates; if that endpoint is not a
 * candidate (ejected, already tried) the hash is re-mixed and tried again. So while the
 * candidate set is unchanged an IP always lands on the same endpoint, and when one endpoint
 * is ejected only its clients move. Changing the endpoint list itself remaps most clients:
 * ConsistentHash is the strategy for that. Expected O(log k) per pick when most endpoints
 * are candidates; empty hashValue falls back to round robin.
 */
export class IPHashBalancer implements Balancer {
  /** Endpoints with positive weight: drained ones never own a client. */
  readonly #owners: Int32Array;
  readonly #total: number;
  readonly #fallback: RoundRobinBalancer;

  constructor(weights: Float64Array, start = 0) {
    let n = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) n++;
    this.#owners = new Int32Array(n);
    n = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) this.#owners[n++] = i;
    this.#total = weights.length;
    this.#fallback = new RoundRobinBalancer(start);
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    if (input.hashValue === '' || c.length <= 1) return this.#fallback.pick(input);
    const owners = this.#owners;
    let h = hash32(input.hashValue);
    // Every endpoint is a candidate: the common, healthy case needs no membership test.
    if (c.length === this.#total && owners.length === this.#total) return owners[scaleHash(h, owners.length)]!;
    for (let attempt = 0; attempt < MAX_REHASH && owners.length > 0; attempt++) {
      const i = owners[scaleHash(h, owners.length)]!;
      if (isCandidate(c, i)) return i;
      h = fmix32(h + 0x9e3779b9);
    }
    // Most endpoints are out: hash straight onto the candidates (still stable for this set).
    return c[scaleHash(h, c.length)]!;
  }
}

/** Binary search in the ascending candidate list. */
export function isCandidate(candidates: readonly number[], i: number): boolean {
  let lo = 0;
  let hi = candidates.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = candidates[mid]!;
    if (v === i) return true;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
