import type { Balancer, PickInput } from './types.ts';

/** Uniform over the candidates, ignoring weights (WeightedRoundRobin is the weighted one). O(1). */
export class RandomBalancer implements Balancer {
  readonly #rng: () => number;

  constructor(rng: () => number) {
    this.#rng = rng;
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    // min() guards an rng that returns exactly 1 (outside the Math.random contract, seen in tests).
    const j = Math.min(Math.floor(this.#rng() * c.length), c.length - 1);
    return c[j] ?? -1;
  }
}
