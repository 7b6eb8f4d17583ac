import { describe, expect, it } from 'vitest';
import { mulberry32 } from './seeded-random.ts';

describe('mulberry32', () => {
  it('replays the same sequence from the same seed, another from another', () => {
    const take = (seed: number) => Array.from({ length: 5 }, mulberry32(seed));
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
  });

  it('stays in [0, 1) and spreads over it', () => {
    const r = mulberry32(7);
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const v = r();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      buckets[Math.floor(v * 4)]!++;
    }
    for (const b of buckets) expect(b).toBeGreaterThan(900);
  });
});
