import { hash32 } from './hash.ts';
import { isCandidate } from './ip-hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { BalanceEndpoint, Balancer, PickInput } from './types.ts';

/** Ring points per unit of weight (ketama's 160), reduced when the ring would exceed MAX_POINTS. */
export const VNODES_PER_WEIGHT = 160;
/** 8 bytes per point: at most 512 KiB per route, reached only by very large routes. */
export const MAX_POINTS = 1 << 16;
/** Owner indices are packed below the hash in one double while sorting (2^32 * 2^21 = 2^53). */
const OWNER_BITS = 2 ** 21;

/**
 * A hash ring over ALL endpoints (not just the candidates), each endpoint owning points
 * derived from its stable key only. A key goes to the first point clockwise from its hash
 * whose endpoint is a candidate. So when an endpoint leaves the candidates (ejected, already
 * tried) only the keys it held move, spread over the others, and they come back when it
 * returns; adding or removing an endpoint in the config moves about 1/n of the keys.
 * O(log P) per pick when every endpoint is a candidate, plus a short walk otherwise.
 * Empty hashValue falls back to round robin.
 */
export class ConsistentHashBalancer implements Balancer {
  readonly #points: Uint32Array;
  readonly #owners: Int32Array;
  readonly #onRing: Uint8Array;
  readonly #allOnRing: boolean;
  readonly #fallback: RoundRobinBalancer;

  constructor(endpoints: readonly BalanceEndpoint[], weights: Float64Array, start = 0) {
    if (endpoints.length >= OWNER_BITS) throw new RangeError(`too many endpoints for ConsistentHash: ${endpoints.length}`);
    const counts = vnodeCounts(weights);
    let total = 0;
    for (let i = 0; i < counts.length; i++) total += counts[i]!;
    const packed = new Float64Array(total);
    let p = 0;
    this.#onRing = new Uint8Array(endpoints.length);
    for (let i = 0; i < endpoints.length; i++) {
      const key = endpoints[i]!.key;
      for (let v = 0; v < counts[i]!; v++) packed[p++] = hash32(`${key}#${v}`) * OWNER_BITS + i;
      if (counts[i]! > 0) this.#onRing[i] = 1;
    }
    packed.sort();
    this.#points = new Uint32Array(total);
    this.#owners = new Int32Array(total);
    for (let j = 0; j < total; j++) {
      const owner = packed[j]! % OWNER_BITS;
      this.#owners[j] = owner;
      this.#points[j] = (packed[j]! - owner) / OWNER_BITS;
    }
    this.#allOnRing = this.#onRing.every((x) => x === 1);
    this.#fallback = new RoundRobinBalancer(start);
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    const points = this.#points;
    if (input.hashValue === '' || c.length <= 1 || points.length === 0) return this.#fallback.pick(input);
    // Drained endpoints own no points; if only they are left the walk would find nobody.
    if (!this.#allOnRing && !this.#anyOnRing(c)) return this.#fallback.pick(input);
    const owners = this.#owners;
    const start = ringStart(points, input.hashValue);
    // Every endpoint is a candidate: the healthy case needs no membership test.
    if (this.#allOnRing && c.length === this.#onRing.length) return owners[start]!;
    for (let step = 0, j = start; step < points.length; step++, j = j + 1 === points.length ? 0 : j + 1) {
      const i = owners[j]!;
      if (isCandidate(c, i)) return i;
    }
    return this.#fallback.pick(input);
  }

  #anyOnRing(c: readonly number[]): boolean {
    for (let j = 0; j < c.length; j++) if (this.#onRing[c[j]!] === 1) return true;
    return false;
  }
}

/** The first point clockwise from the key's hash (binary search; wraps to 0). Non-empty ring. */
export function ringStart(points: Uint32Array, key: string): number {
  const h = hash32(key);
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

/**
 * Points per endpoint, proportional to weight: weights are reduced by their gcd (3:1 and
 * 300:100 make the same ring), then VNODES_PER_WEIGHT points per unit, scaled down so the
 * ring stays within MAX_POINTS. Every endpoint with weight keeps at least one point.
 */
export function vnodeCounts(weights: Float64Array): Int32Array {
  let g = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) g = gcd(g, weights[i]!);
  if (!(g > 0)) g = 1;
  let units = 0;
  for (let i = 0; i < weights.length; i++) units += weights[i]! / g;
  const perUnit = Math.min(VNODES_PER_WEIGHT, MAX_POINTS / Math.max(units, 1));
  const counts = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    if (weights[i]! > 0) counts[i] = Math.max(1, Math.round((weights[i]! / g) * perUnit));
  }
  return counts;
}

/** gcd of integer weights; for fractional weights fall back to 1 (no reduction). */
function gcd(a: number, b: number): number {
  if (!Number.isInteger(a) || !Number.isInteger(b)) return 1;
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}
