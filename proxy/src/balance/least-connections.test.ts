import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeastConnectionsBalancer } from './least-connections.ts';
import { input, range, subsetArb, tally } from './test-helpers.ts';

describe('LeastConnections', () => {
  it('always picks a candidate with the fewest requests in flight', () => {
    const arb = fc.integer({ min: 1, max: 10 }).chain((n) =>
      fc.array(fc.tuple(subsetArb(n), fc.array(fc.nat({ max: 5 }), { minLength: n, maxLength: n })), { minLength: 1, maxLength: 30 }),
    );
    fc.assert(
      fc.property(arb, (steps) => {
        const b = new LeastConnectionsBalancer(new Float64Array(steps[0]![1].length).fill(1));
        for (const [candidates, inflight] of steps) {
          const i = b.pick(input(candidates, '', inflight));
          expect(inflight[i]).toBe(Math.min(...candidates.map((c) => inflight[c]!)));
        }
      }),
    );
  });

  it('spreads ties evenly instead of always choosing the lowest index', () => {
    const b = new LeastConnectionsBalancer(Float64Array.from([1, 1, 1, 1]));
    expect(tally(() => b.pick(input([0, 1, 2, 3], '', [0, 0, 0, 0])), 4, 400)).toEqual([100, 100, 100, 100]);
  });

  it('spreads ties by weight', () => {
    const b = new LeastConnectionsBalancer(Float64Array.from([3, 1, 1]));
    expect(tally(() => b.pick(input([0, 1, 2], '', [0, 0, 0])), 3, 500)).toEqual([300, 100, 100]);
  });

  it('tracks load as requests start and finish', () => {
    const b = new LeastConnectionsBalancer(Float64Array.from([1, 1, 1]));
    const inflight = [0, 0, 0];
    // Start 9 requests without finishing any: load must end up level.
    for (const _ of range(9)) inflight[b.pick(input([0, 1, 2], '', inflight))]!++;
    expect(inflight).toEqual([3, 3, 3]);
    inflight[1] = 0;
    expect(b.pick(input([0, 1, 2], '', inflight))).toBe(1);
  });
});
