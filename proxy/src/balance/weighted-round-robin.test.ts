import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBalancer } from './index.ts';
import { endpoints, input, range, subsetArb } from './test-helpers.ts';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.ts';

const weightsArb = fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 7 });

function run(weights: readonly number[], picks: number, candidates = range(weights.length)): number[] {
  const b = new WeightedRoundRobinBalancer(Float64Array.from(weights));
  return range(picks).map(() => b.pick(input(candidates)));
}

describe.each(['WeightedRoundRobin', 'Capability'] as const)('%s', (strategy) => {
  it('interleaves 5:1:1 as nginx does', () => {
    const b = createBalancer(strategy, endpoints([5, 1, 1]));
    const seq = range(14).map(() => 'abc'[b.pick(input([0, 1, 2]))]).join('');
    expect(seq).toBe('aabacaa'.repeat(2));
  });
});

describe('WeightedRoundRobin', () => {
  it('gives every endpoint exactly its weight in each cycle of sum(weights) picks', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 4 }), (weights, cycles) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const seq = run(weights, total * cycles);
        for (let c = 0; c < cycles; c++) {
          const counts = new Array<number>(weights.length).fill(0);
          for (const i of seq.slice(c * total, (c + 1) * total)) counts[i]!++;
          expect(counts).toEqual(weights);
        }
      }),
    );
  });

  it('keeps exact proportions among a subset of candidates; the others are never picked', () => {
    const arb = weightsArb.chain((weights) => fc.tuple(fc.constant(weights), subsetArb(weights.length)));
    fc.assert(
      fc.property(arb, ([weights, subset]) => {
        const total = subset.reduce((a, i) => a + weights[i]!, 0);
        const counts = new Array<number>(weights.length).fill(0);
        for (const i of run(weights, total * 2, subset)) counts[i]!++;
        expect(counts).toEqual(weights.map((w, i) => (subset.includes(i) ? 2 * w : 0)));
      }),
    );
  });

  it('is smooth: at every prefix t no endpoint is ahead of its share (picks <= ceil(t*w/W)) nor behind by more than n-1', () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const n = weights.length;
        const counts = new Array<number>(n).fill(0);
        const violations: string[] = [];
        run(weights, 2 * total).forEach((picked, t) => {
          counts[picked]!++;
          for (let i = 0; i < n; i++) {
            const share = ((t + 1) * weights[i]!) / total;
            if (counts[i]! > Math.ceil(share) || counts[i]! < share - (n - 1)) violations.push(`t=${t} i=${i}`);
          }
        });
        expect(violations).toEqual([]);
      }),
    );
  });

  it('bounds runs of one endpoint: run * (W - w) < n * W (follows from the prefix bounds)', () => {
    fc.assert(
      fc.property(weightsArb.filter((w) => w.length > 1), (weights) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const seq = run(weights, 3 * total);
        let len = 0;
        seq.forEach((picked, t) => {
          len = t > 0 && seq[t - 1] === picked ? len + 1 : 1;
          expect(len * (total - weights[picked]!)).toBeLessThan(weights.length * total);
        });
      }),
    );
  });

  it('never runs one endpoint twice in a row when weights are equal', () => {
    const seq = run([4, 4, 4, 4], 64);
    for (let t = 1; t < seq.length; t++) expect(seq[t]).not.toBe(seq[t - 1]);
  });
});
