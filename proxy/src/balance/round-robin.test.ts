import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoundRobinBalancer } from './round-robin.ts';
import { input, range, subsetArb, tally } from './test-helpers.ts';

describe('RoundRobin', () => {
  it('serves each candidate exactly once in any |S| consecutive picks from an unchanged set S, whatever came before', () => {
    const arb = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.record({ start: fc.nat({ max: n }), history: fc.array(subsetArb(n), { maxLength: 20 }), set: subsetArb(n), cycles: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(arb, ({ start, history, set, cycles }) => {
        const b = new RoundRobinBalancer(start);
        for (const h of history) b.pick(input(h));
        const picks = range(set.length * cycles).map(() => b.pick(input(set)));
        for (let c = 0; c < cycles; c++) {
          expect(picks.slice(c * set.length, (c + 1) * set.length).sort((x, y) => x - y)).toEqual(set);
        }
      }),
    );
  });

  it('gives exactly equal shares over full cycles', () => {
    const b = new RoundRobinBalancer();
    expect(tally(() => b.pick(input([1, 3, 4, 7])), 8, 400)).toEqual([0, 100, 0, 100, 100, 0, 0, 100]);
  });

  it('moves on to the next endpoint when a retry excludes the one just tried', () => {
    const b = new RoundRobinBalancer();
    const first = b.pick(input([0, 1, 2]));
    expect(first).toBe(0);
    expect(b.pick(input([1, 2]))).toBe(1);
    // The rotation continues after the retry instead of restarting.
    expect(b.pick(input([0, 1, 2]))).toBe(2);
    expect(b.pick(input([0, 1, 2]))).toBe(0);
  });

  it('does not starve anyone when one endpoint flaps in and out', () => {
    const b = new RoundRobinBalancer();
    let t = 0;
    const counts = tally(() => b.pick(input(t++ % 2 === 0 ? [0, 1, 2, 3] : [0, 1, 3])), 4, 4000);
    for (const c of counts) expect(c).toBeGreaterThan(600);
  });
});
