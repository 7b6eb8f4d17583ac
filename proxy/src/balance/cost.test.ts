import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostBalancer } from './cost.ts';
import { endpoints, input, subsetArb, tally } from './test-helpers.ts';

describe('Cost', () => {
  it('always picks a cheapest candidate', () => {
    const arb = fc.integer({ min: 1, max: 10 }).chain((n) =>
      fc.record({
        costs: fc.array(fc.constantFrom(0, 0.1, 0.15, 0.6, 3, 15), { minLength: n, maxLength: n }),
        steps: fc.array(subsetArb(n), { minLength: 1, maxLength: 20 }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ costs, steps }) => {
        const b = new CostBalancer(endpoints(costs.map(() => 1), costs));
        for (const candidates of steps) {
          expect(costs[b.pick(input(candidates))]).toBe(Math.min(...candidates.map((c) => costs[c]!)));
        }
      }),
    );
  });

  it('takes turns among equally cheap candidates', () => {
    const b = new CostBalancer(endpoints([1, 1, 1, 1], [0.6, 0.15, 2, 0.15]));
    expect(tally(() => b.pick(input([0, 1, 2, 3])), 4, 100)).toEqual([0, 50, 0, 50]);
  });

  it('falls back to the next cheapest when the cheapest is not a candidate', () => {
    const b = new CostBalancer(endpoints([1, 1, 1], [0.15, 0.6, 2]));
    expect(b.pick(input([1, 2]))).toBe(1);
  });

  it('treats an unknown price (0) as free', () => {
    const b = new CostBalancer(endpoints([1, 1], [0.15, 0]));
    expect(b.pick(input([0, 1]))).toBe(1);
  });
});
