import type { Balancer, PickInput } from './types.ts';
import { smoothPick } from './weighted-round-robin.ts';

/**
 * Fewest in-flight requests among the candidates. Ties, which are the normal case at low
 * load (everyone at 0), go through smooth weighted round-robin among the tied endpoints,
 * so equal load spreads traffic by weight instead of always landing on the lowest index.
 * Two allocation-free passes over the candidates: O(k), inherent since every candidate's
 * load can change between picks and the core reports it only through `inflight`.
 */
export class LeastConnectionsBalancer implements Balancer {
  readonly #weights: Float64Array;
  readonly #current: Float64Array;

  constructor(weights: Float64Array) {
    this.#weights = weights;
    this.#current = new Float64Array(weights.length);
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    if (c.length === 1) return c[0]!;
    const load = input.inflight;
    let min = Infinity;
    for (let j = 0; j < c.length; j++) {
      const n = load[c[j]!] ?? 0;
      if (n < min) min = n;
    }
    return smoothPick(this.#weights, this.#current, c, min, load);
  }
}
