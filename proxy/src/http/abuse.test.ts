import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthFailureThrottle, nestedDeeperThan } from './abuse.ts';

describe('AuthFailureThrottle', () => {
  it('locks an address out after 10 failures in a minute, doubling while it keeps failing, up to the cap', () => {
    const t = new AuthFailureThrottle({ maxLockMs: 8_000 });
    let now = 0;
    for (let i = 0; i < 9; i++) t.failed('10.0.0.1', now++);
    expect(t.lockedFor('10.0.0.1', now)).toBe(0);
    t.failed('10.0.0.1', now);
    expect(t.lockedFor('10.0.0.1', now)).toBe(1_000);
    expect(t.lockedFor('10.0.0.2', now)).toBe(0); // another address is not affected
    const locks = [];
    for (let i = 0; i < 5; i++) {
      now += t.lockedFor('10.0.0.1', now); // waits out the lock, then fails again
      t.failed('10.0.0.1', now);
      locks.push(t.lockedFor('10.0.0.1', now));
    }
    expect(locks).toEqual([2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('forgets failures older than the window', () => {
    const t = new AuthFailureThrottle();
    for (let i = 0; i < 9; i++) t.failed('ip', 0);
    t.failed('ip', 61_000);
    expect(t.lockedFor('ip', 61_000)).toBe(0);
  });

  it('holds at most maxEntries addresses', () => {
    const t = new AuthFailureThrottle({ maxEntries: 100 });
    for (let i = 0; i < 1_000; i++) t.failed(`10.0.${i >> 8}.${i & 255}`, i);
    expect(t.size).toBe(100);
  });
});

describe('nestedDeeperThan', () => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
  it('counts objects and arrays, not brackets inside strings (escaped quotes included)', () => {
    expect(nestedDeeperThan(Buffer.from(nest(64)), 64)).toBe(false);
    expect(nestedDeeperThan(Buffer.from(nest(65)), 64)).toBe(true);
    expect(nestedDeeperThan(Buffer.from('{"a":' + nest(3) + '}'), 3)).toBe(true);
    const tricky = JSON.stringify({ s: '[[[[[[[[[[\\"{{{{{{{{{{{{' + '['.repeat(200) });
    expect(nestedDeeperThan(Buffer.from(tricky), 2)).toBe(false);
  });

  it('agrees with the real nesting depth of any JSON value', () => {
    const depth = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 12 }), (v, max) => {
      const raw = Buffer.from(JSON.stringify(v));
      expect(nestedDeeperThan(raw, max)).toBe(depth(v) > max);
    }), { seed: 9, numRuns: 500 });
  });
});
