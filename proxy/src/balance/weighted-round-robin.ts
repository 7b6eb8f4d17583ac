import type { Balancer, PickInput } from './types.ts';

/**
 * nginx's smooth weighted round-robin (ngx_http_upstream_get_peer), restricted to the
 * candidates: each candidate's current weight grows by its weight, the largest is picked
 * and loses the candidates' total. For an unchanged candidate set this gives, from a fresh
 * balancer, exactly w_i picks of each endpoint in every W = sum(w) picks, interleaved
 * (5:1:1 -> a a b a c a a), and at every prefix t no endpoint is ahead of its exact share:
 * picks_i(t) <= ceil(t * w_i / W), because a current weight never drops to -W or below.
 *
 * Non-candidates keep their current weight frozen, so an endpoint returning from ejection
 * resumes where it was instead of getting a burst. O(k) per pick in the number of
 * candidates, allocation-free: the share of every candidate has to be advanced.
 */
export class WeightedRoundRobinBalancer implements Balancer {
  readonly #weights: Float64Array;
  readonly #current: Float64Array;

  constructor(weights: Float64Array) {
    this.#weights = weights;
    this.#current = new Float64Array(weights.length);
  }

  pick(input: PickInput): number {
    return smoothPick(this.#weights, this.#current, input.candidates, -1, input.inflight);
  }
}

/**
 * One smooth-WRR step over the candidates; with `onlyLoad >= 0`, over those whose
 * in-flight count equals it (LeastConnections' tie-break). Exported for that reuse.
 */
export function smoothPick(
  weights: Float64Array,
  current: Float64Array,
  candidates: readonly number[],
  onlyLoad: number,
  inflight: ArrayLike<number>,
): number {
  let best = -1;
  let total = 0;
  for (let j = 0; j < candidates.length; j++) {
    const i = candidates[j]!;
    if (onlyLoad >= 0 && (inflight[i] ?? 0) !== onlyLoad) continue;
    // A drained (weight 0) candidate only reaches here when every candidate is drained
    // (see DrainFilter): then they share equally.
    const w = weights[i]! > 0 ? weights[i]! : 1;
    const cw = current[i]! + w;
    current[i] = cw;
    total += w;
    if (best < 0 || cw > current[best]!) best = i;
  }
  if (best >= 0) current[best] = current[best]! - total;
  return best;
}
