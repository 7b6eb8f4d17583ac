import type { BalanceEndpoint, Balancer, PickInput } from './types.ts';

/**
 * The cheapest candidate by price per million tokens; equally cheap candidates take turns
 * (same cursor as RoundRobin). An unknown price is 0, so an endpoint without pricing (a
 * self-hosted model) counts as free and is preferred: give it pricing to rank it otherwise.
 * Two allocation-free passes over the candidates: O(k).
 */
export class CostBalancer implements Balancer {
  readonly #cost: Float64Array;
  #next: number;

  constructor(endpoints: readonly BalanceEndpoint[], start = 0) {
    this.#cost = new Float64Array(endpoints.length);
    for (let i = 0; i < endpoints.length; i++) {
      const x = endpoints[i]!.cost;
      this.#cost[i] = Number.isFinite(x) && x > 0 ? x : 0;
    }
    this.#next = start;
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    const cost = this.#cost;
    let min = Infinity;
    for (let j = 0; j < c.length; j++) {
      const x = cost[c[j]!]!;
      if (x < min) min = x;
    }
    // The first cheapest at or after the cursor, else the first cheapest (wrap around).
    let first = -1;
    let pick = -1;
    for (let j = 0; j < c.length; j++) {
      const i = c[j]!;
      if (cost[i] !== min) continue;
      if (first < 0) first = i;
      if (i >= this.#next) {
        pick = i;
        break;
      }
    }
    if (pick < 0) pick = first;
    this.#next = pick + 1;
    return pick;
  }
}
