import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LimitSpec } from './algorithms.ts';
import { LimiterTable } from './table.ts';

const perMinute: LimitSpec = { algorithm: 'TokenBucket', limit: 2, periodMs: 60_000, burst: 0 };

describe('LimiterTable', () => {
  it('keeps one limiter per key: keys do not share a limit', () => {
    const t = new LimiterTable(perMinute);
    expect(t.get('a', 0)).toBe(t.get('a', 5));
    expect(t.get('a', 0).take(0, 2).allowed).toBe(true);
    expect(t.get('a', 0).take(0, 1).allowed).toBe(false);
    expect(t.get('b', 0).take(0, 2).allowed).toBe(true);
  });

  it('sweep drops only the limiters that are back to fresh', () => {
    const t = new LimiterTable(perMinute);
    t.get('a', 0).take(0, 1);
    t.get('b', 0).take(0, 2);
    t.get('c', 0);
    expect(t.sweep(30_000)).toBe(2); // c was never used, a refilled its one token in 30 s
    expect(t.size).toBe(1);
    expect(t.get('b', 30_000).take(30_000, 2).allowed).toBe(false); // b's state was kept
    expect(t.sweep(60_000)).toBe(1);
  });

  it('when full, a sweep makes room before anything is evicted', () => {
    const t = new LimiterTable(perMinute, { maxEntries: 2 });
    t.get('a', 0).take(0, 1);
    t.get('b', 0).take(0, 2);
    t.get('c', 30_000); // a is idle again: swept, b stays
    expect(t.size).toBe(2);
    expect(t.evictions).toBe(0);
    expect(t.peek('a')).toBeUndefined();
    expect(t.peek('b')).toBeDefined();
  });

  it('when full of busy keys, evicts the least recently used, and never holds more than maxEntries', () => {
    const t = new LimiterTable(perMinute, { maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) t.get(k, 0).take(0, 2);
    t.get('a', 1); // a is now the most recent
    t.get('d', 2).take(2, 1);
    expect(t.size).toBe(3);
    expect(t.evictions).toBe(1);
    expect(t.peek('b')).toBeUndefined();
    expect(t.get('a', 3).take(3, 1).allowed).toBe(false); // a kept its state
  });

  it('bounds memory under any sequence of keys and times, and get() never throws', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ key: fc.string({ maxLength: 2 }), gap: fc.integer({ min: 0, max: 40_000 }), sweep: fc.boolean() }), { maxLength: 200 }),
        (max, ops) => {
          const t = new LimiterTable(perMinute, { maxEntries: max, minSweepIntervalMs: 10_000 });
          let now = 0;
          for (const op of ops) {
            now += op.gap;
            t.get(op.key, now).take(now, 1);
            if (op.sweep) t.sweep(now);
            expect(t.size).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('when full, sweeps at most once per minSweepIntervalMs (a sweep is O(entries)) and evicts in between', () => {
    const t = new LimiterTable(perMinute, { maxEntries: 2, minSweepIntervalMs: 60_000 });
    t.get('a', 0).take(0, 2);
    t.get('b', 0).take(0, 2);
    t.get('c', 0).take(0, 1); // sweeps at 0: nothing idle, a evicted
    t.get('c', 1); // order: b, c
    // At 40 s c is idle (its token is back) but no sweep may run yet: the least recent, b, goes.
    t.get('d', 40_000).take(40_000, 2);
    expect(t.peek('b')).toBeUndefined();
    expect(t.peek('c')).toBeDefined();
    expect(t.evictions).toBe(2);
    // At 61 s a sweep may run again: idle c is dropped, busy d is kept.
    t.get('e', 61_000);
    expect(t.peek('c')).toBeUndefined();
    expect(t.peek('d')).toBeDefined();
    expect(t.evictions).toBe(2);
  });
});
