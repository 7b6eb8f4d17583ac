import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBalancer } from './index.ts';
import { endpoints, input, mulberry32, range, subsetArb } from './test-helpers.ts';
import type { StrategyName } from './types.ts';

const STRATEGIES: StrategyName[] = [
  'Random', 'RoundRobin', 'WeightedRoundRobin', 'LeastConnections', 'IPHash',
  'ConsistentHash', 'Latency', 'Cost', 'Capability',
];

/** A route (weights, costs) and a run of picks against changing candidates and feedback. */
const scenarioArb = fc.integer({ min: 1, max: 10 }).chain((n) =>
  fc.record({
    weights: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: n, maxLength: n }),
    costs: fc.array(fc.constantFrom(0, 0.15, 0.6, 2.5), { minLength: n, maxLength: n }),
    seed: fc.integer(),
    steps: fc.array(
      fc.record({
        candidates: subsetArb(n),
        hashValue: fc.oneof(fc.constant(''), fc.ipV4(), fc.string()),
        inflight: fc.array(fc.nat({ max: 4 }), { minLength: n, maxLength: n }),
        latency: fc.double({ min: 0, max: 5000, noNaN: true }),
        ok: fc.boolean(),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  }),
);

describe.each(STRATEGIES)('%s', (strategy) => {
  it('only ever returns a candidate, and never a drained one while a weighted one is a candidate', () => {
    fc.assert(
      fc.property(scenarioArb, ({ weights, costs, seed, steps }) => {
        const b = createBalancer(strategy, endpoints(weights, costs), mulberry32(seed));
        const allDrained = weights.every((w) => w === 0);
        for (const s of steps) {
          const i = b.pick(input(s.candidates, s.hashValue, s.inflight));
          expect(s.candidates).toContain(i);
          if (!allDrained && s.candidates.some((c) => weights[c]! > 0)) expect(weights[i]).toBeGreaterThan(0);
          b.observe?.(i, s.latency, s.ok);
        }
      }),
    );
  });

  it('serves a route whose weights are all 0', () => {
    const b = createBalancer(strategy, endpoints([0, 0, 0]), mulberry32(1));
    const seen = new Set(range(30).map(() => b.pick(input([0, 1, 2], '', [0, 0, 0]))));
    expect(seen.size).toBeGreaterThan(0);
    for (const i of seen) expect([0, 1, 2]).toContain(i);
  });

  it('ignores feedback for endpoints it does not know', () => {
    const b = createBalancer(strategy, endpoints([1, 1]), mulberry32(2));
    b.observe?.(7, 10, true);
    b.observe?.(-1, 10, false);
    b.observe?.(0, Number.NaN, true);
    expect([0, 1]).toContain(b.pick(input([0, 1], 'x', [0, 0])));
  });
});

describe('createBalancer', () => {
  it('rejects a strategy it does not know', () => {
    expect(() => createBalancer('Fastest' as StrategyName, endpoints([1]))).toThrow(/unknown load-balancing strategy/);
  });
});
