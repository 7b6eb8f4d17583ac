import { describe, expect, it } from 'vitest';
import { RandomBalancer } from './random.ts';
import { input, mulberry32, tally } from './test-helpers.ts';

/** Pearson's chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: readonly number[], picks: number): number {
  const expected = picks / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('Random', () => {
  it('is uniform over the candidates (chi-square, seeded)', () => {
    for (const seed of [1, 2, 3]) {
      const b = new RandomBalancer(mulberry32(seed));
      const counts = tally(() => b.pick(input([0, 1, 2, 3, 4])), 5, 50_000);
      // 18.47 is the 0.1% critical value for 4 degrees of freedom.
      expect(chiSquare(counts, 50_000)).toBeLessThan(18.47);
    }
  });

  it('ignores weights and non-candidates', () => {
    const b = new RandomBalancer(mulberry32(9));
    const counts = tally(() => b.pick(input([2, 5, 6])), 7, 30_000);
    expect([counts[0], counts[1], counts[3], counts[4]]).toEqual([0, 0, 0, 0]);
    // 13.82: 0.1% critical value for 2 degrees of freedom.
    expect(chiSquare([counts[2]!, counts[5]!, counts[6]!], 30_000)).toBeLessThan(13.82);
  });

  it('stays in range when the rng returns its extremes', () => {
    expect(new RandomBalancer(() => 0).pick(input([3, 4]))).toBe(3);
    expect(new RandomBalancer(() => 1).pick(input([3, 4]))).toBe(4);
  });
});
