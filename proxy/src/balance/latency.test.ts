import { describe, expect, it } from 'vitest';
import { LatencyBalancer } from './latency.ts';
import { input, mulberry32, range } from './test-helpers.ts';

/** Sends `count` sequential requests, each observed with its endpoint's latency. */
function simulate(b: LatencyBalancer, latencies: readonly number[], count: number, failing: ReadonlySet<number> = new Set()): number[] {
  const counts = latencies.map(() => 0);
  const all = range(latencies.length);
  const idle = latencies.map(() => 0);
  for (const _ of range(count)) {
    const i = b.pick(input(all, '', idle));
    counts[i]!++;
    b.observe(i, latencies[i]!, !failing.has(i));
  }
  return counts;
}

describe('Latency', () => {
  it('tries every endpoint once before it has measured them', () => {
    const b = new LatencyBalancer(4, mulberry32(1));
    const picks = range(4).map(() => {
      const i = b.pick(input([0, 1, 2, 3], '', [0, 0, 0, 0]));
      b.observe(i, 100, true);
      return i;
    });
    expect(picks.sort()).toEqual([0, 1, 2, 3]);
  });

  it('measures an unmeasured endpoint one request at a time', () => {
    const b = new LatencyBalancer(2, mulberry32(2));
    b.observe(0, 100, true);
    expect(b.pick(input([0, 1], '', [0, 0]))).toBe(1);
    // Endpoint 1 is being measured (1 in flight): no stampede onto it.
    const picks = range(50).map(() => b.pick(input([0, 1], '', [0, 1])));
    expect(picks.filter((i) => i === 0).length).toBeGreaterThan(25);
  });

  it('prefers the faster endpoint once measured, and still re-measures the slower one', () => {
    const counts = simulate(new LatencyBalancer(2, mulberry32(3)), [50, 500], 5000);
    expect(counts[0]! / 5000).toBeGreaterThan(0.95);
    expect(counts[1]).toBeGreaterThan(5);
  });

  it('ranks by latency; with k candidates the fastest gets the 2/k of pairs it is drawn into', () => {
    const counts = simulate(new LatencyBalancer(3, mulberry32(8)), [50, 500, 400], 6000);
    expect(counts[0]! / 6000).toBeGreaterThan(0.6);
    expect(counts[2]).toBeGreaterThan(counts[1]! * 3);
    expect(counts[1]).toBeGreaterThan(5);
  });

  it('follows an endpoint that becomes slow', () => {
    const b = new LatencyBalancer(2, mulberry32(4));
    simulate(b, [50, 200], 500);
    const after = simulate(b, [900, 200], 2000);
    expect(after[1]! / 2000).toBeGreaterThan(0.9);
  });

  it('penalises failures, even fast ones such as refused connections', () => {
    const counts = simulate(new LatencyBalancer(2, mulberry32(5)), [1, 100], 2000, new Set([0]));
    expect(counts[1]! / 2000).toBeGreaterThan(0.9);
  });

  it('weighs load: a busy fast endpoint loses to an idle one that is a little slower', () => {
    const b = new LatencyBalancer(2, mulberry32(6));
    b.observe(0, 100, true);
    b.observe(1, 150, true);
    expect(b.pick(input([0, 1], '', [5, 0]))).toBe(1);
    expect(b.pick(input([0, 1], '', [0, 0]))).toBe(0);
  });

  it('compares two distinct candidates (power of two choices)', () => {
    const b = new LatencyBalancer(5, mulberry32(7));
    for (const i of range(5)) b.observe(i, 100 * (i + 1), true);
    // With only the two slowest as candidates, the faster of them wins.
    expect(b.pick(input([3, 4], '', [0, 0, 0, 0, 0]))).toBe(3);
  });
});
