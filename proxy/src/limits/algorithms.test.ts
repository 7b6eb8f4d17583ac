import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADAPTIVE_DECREASE_FACTOR,
  adaptiveDecreaseIntervalMs,
  adaptiveMemoryMs,
  capacity,
  createLimiter,
  type Algorithm,
  type Decision,
  type LimitSpec,
  type Limiter,
} from './algorithms.ts';

const T0 = 1_000_000; // an arbitrary monotonic origin, not aligned to anything but whole ms

function spec(algorithm: Algorithm, limit: number, periodMs: number, burst = 0, extra: Partial<LimitSpec> = {}): LimitSpec {
  return { algorithm, limit, periodMs, burst, ...extra };
}

/** Arrivals: gaps (0 = concurrent with the previous one) and amounts. */
const arrivalsArb = (maxGap: number, maxAmount: number) =>
  fc.array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: maxGap })),
      amount: fc.integer({ min: 1, max: maxAmount }),
    }),
    { minLength: 1, maxLength: 120 },
  );

interface Admitted {
  now: number;
  amount: number;
  d: Decision;
}

function run(limiter: Limiter, arrivals: { gap: number; amount: number }[], start = T0): Admitted[] {
  let now = start;
  const admitted: Admitted[] = [];
  for (const a of arrivals) {
    now += a.gap;
    const d = limiter.take(now, a.amount);
    if (d.allowed) admitted.push({ now, amount: a.amount, d });
  }
  return admitted;
}

/** Over every interval [t_i, t_j] of admissions, the admitted amount is at most cap + rate * (t_j - t_i). */
function maxExcessOverBucket(admitted: Admitted[], cap: number, rate: number): number {
  let worst = -Infinity;
  for (let i = 0; i < admitted.length; i++) {
    let sum = 0;
    for (let j = i; j < admitted.length; j++) {
      sum += admitted[j]!.amount;
      worst = Math.max(worst, sum - (cap + rate * (admitted[j]!.now - admitted[i]!.now)));
    }
  }
  return worst;
}

/** A client that takes again as soon as retryAfterMs says it may; returns admission times. */
function greedy(limiter: Limiter, from: number, until: number): number[] {
  const times: number[] = [];
  let now = from;
  while (now < until) {
    const d = limiter.take(now, 1);
    if (d.allowed) times.push(now);
    else now += d.retryAfterMs;
  }
  return times;
}

const ALL: Algorithm[] = ['TokenBucket', 'LeakyBucket', 'SlidingWindow', 'FixedWindow', 'WarmUp', 'Adaptive'];
const specArb = fc
  .record({
    algorithm: fc.constantFrom(...ALL),
    limit: fc.integer({ min: 1, max: 20 }),
    periodMs: fc.integer({ min: 100, max: 60_000 }),
    burst: fc.integer({ min: 0, max: 5 }),
    coldFactor: fc.double({ min: 1, max: 5, noNaN: true }),
    warmMs: fc.integer({ min: 100, max: 600_000 }),
  })
  .map((r) =>
    spec(r.algorithm, r.limit, r.periodMs, r.burst, {
      ...(r.algorithm === 'WarmUp' ? { warmUp: { periodMs: r.warmMs, coldFactor: r.coldFactor } } : {}),
      ...(r.algorithm === 'Adaptive' ? { adaptive: { latencyTargetMs: 1000, min: 1, max: 40 } } : {}),
    }),
  );

describe('never admits more than promised, whatever the arrivals (many at the same now included)', () => {
  it.each(['TokenBucket', 'WarmUp'] as const)('%s: at most limit + burst + rate x (t_j - t_i) over any interval', (algorithm) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 100, max: 10_000 }),
        fc.integer({ min: 0, max: 5 }),
        arrivalsArb(2000, 4),
        (limit, periodMs, burst, arrivals) => {
          const s = spec(algorithm, limit, periodMs, burst, { warmUp: { periodMs: 5000, coldFactor: 3 } });
          const admitted = run(createLimiter(s, T0), arrivals);
          expect(maxExcessOverBucket(admitted, limit + burst, limit / periodMs)).toBeLessThanOrEqual(1e-6);
        },
      ),
    );
  });

  it('Adaptive: within the bucket of max + burst whatever observe() says, and reports L within [min, max]', () => {
    fc.assert(
      fc.property(
        arrivalsArb(500, 3),
        fc.array(fc.record({ latency: fc.integer({ min: 0, max: 3000 }), throttled: fc.boolean() }), { minLength: 120, maxLength: 120 }),
        (arrivals, outcomes) => {
          const s = spec('Adaptive', 10, 1000, 2, { adaptive: { latencyTargetMs: 1000, min: 3, max: 30 } });
          const l = createLimiter(s, T0);
          let now = T0;
          const admitted: Admitted[] = [];
          arrivals.forEach((a, i) => {
            now += a.gap;
            const d = l.take(now, a.amount);
            expect(d.limit).toBeGreaterThanOrEqual(3);
            expect(d.limit).toBeLessThanOrEqual(30);
            if (!d.allowed) return;
            admitted.push({ now, amount: a.amount, d });
            l.observe(now, outcomes[i]!.latency, outcomes[i]!.throttled);
          });
          expect(maxExcessOverBucket(admitted, 32, 30 / 1000)).toBeLessThanOrEqual(1e-6);
        },
      ),
    );
  });

  it('LeakyBucket: releases (now + delayMs) are spaced by amount x periodMs/limit, no take waits more than burst intervals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 10_000 }), fc.integer({ min: 0, max: 5 }), arrivalsArb(2000, 4), (limit, periodMs, burst, arrivals) => {
        const interval = periodMs / limit;
        const admitted = run(createLimiter(spec('LeakyBucket', limit, periodMs, burst), T0), arrivals);
        for (const a of admitted) expect(a.d.delayMs).toBeLessThanOrEqual(Math.ceil(burst * interval));
        for (let i = 1; i < admitted.length; i++) {
          const prev = admitted[i - 1]!;
          const cur = admitted[i]!;
          // delayMs is rounded up to whole ms, so a release is at most 1 ms late.
          expect(cur.now + cur.d.delayMs).toBeGreaterThan(prev.now + prev.d.delayMs + prev.amount * interval - 1);
        }
      }),
    );
  });

  it('FixedWindow: at most limit in each window aligned to multiples of periodMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 10_000 }), arrivalsArb(2000, 4), (limit, periodMs, arrivals) => {
        const admitted = run(createLimiter(spec('FixedWindow', limit, periodMs, 3), T0), arrivals);
        const perWindow = new Map<number, number>();
        for (const a of admitted) {
          const w = Math.floor(a.now / periodMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + a.amount);
        }
        for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(limit);
      }),
    );
  });

  it('SlidingWindow: after each admission, previous window x (share of it still in the last period) + current window <= limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 10_000 }), arrivalsArb(2000, 4), (limit, periodMs, arrivals) => {
        const admitted = run(createLimiter(spec('SlidingWindow', limit, periodMs), T0), arrivals);
        const sumIn = (w: number, upTo: number) =>
          admitted.filter((a) => Math.floor(a.now / periodMs) === w && a.now <= upTo).reduce((s, a) => s + a.amount, 0);
        admitted.forEach((a, i) => {
          const w = Math.floor(a.now / periodMs);
          const weight = (periodMs - (a.now - w * periodMs)) / periodMs;
          // Admissions at the same now after this one belong to later checks: count up to index i.
          const cur = admitted.slice(0, i + 1).filter((b) => Math.floor(b.now / periodMs) === w).reduce((s, b) => s + b.amount, 0);
          expect(sumIn(w - 1, a.now) * weight + cur).toBeLessThanOrEqual(limit + 1e-6);
        });
      }),
    );
  });
});

describe('retryAfterMs is truthful and tight for a lone caller', () => {
  it('after any history, a refused take succeeds at now + retryAfterMs and not 1 ms earlier', () => {
    fc.assert(
      fc.property(specArb, arrivalsArb(3000, 3), fc.integer({ min: 1, max: 3 }), (s, arrivals, amount) => {
        // Build the history on one limiter per probe time: take() mutates.
        const history = () => {
          const l = createLimiter(s, T0);
          run(l, arrivals);
          return l;
        };
        const now = T0 + arrivals.reduce((t, a) => t + a.gap, 0);
        const d = history().take(now, amount);
        fc.pre(!d.allowed && !d.oversize);
        expect(d.retryAfterMs).toBeGreaterThanOrEqual(1);
        expect(history().take(now + d.retryAfterMs, amount).allowed).toBe(true);
        if (d.retryAfterMs > 1) expect(history().take(now + d.retryAfterMs - 1, amount).allowed).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('adjust', () => {
  it('undoing an admitted take (adjust(now, at, -amount)) leaves the limiter as if it had not happened', () => {
    const exact = specArb.filter((s) => s.algorithm !== 'WarmUp');
    fc.assert(
      fc.property(exact, arrivalsArb(3000, 3), arrivalsArb(3000, 3), fc.integer({ min: 1, max: 3 }), (s, before, after, amount) => {
        const undone = createLimiter(s, T0);
        const untouched = createLimiter(s, T0);
        run(undone, before);
        run(untouched, before);
        const now = T0 + before.reduce((t, a) => t + a.gap, 0);
        const d = undone.take(now, amount);
        if (d.allowed) undone.adjust(now, now, -amount);
        expect(run(undone, after, now).map((a) => [a.now, a.d])).toEqual(run(untouched, after, now).map((a) => [a.now, a.d]));
      }),
    );
  });

  it('TokenBucket: a charge beyond what is left is a debt that delays the next take; a refund never exceeds the capacity', () => {
    const l = createLimiter(spec('TokenBucket', 100, 60_000), T0); // 100 tokens per minute, 600 ms per token
    expect(l.take(T0, 50).allowed).toBe(true);
    l.adjust(T0, T0, 80); // the answer used 130
    const d = l.take(T0, 1);
    expect(d).toMatchObject({ allowed: false, retryAfterMs: 31 * 600, remaining: 0 });
    l.adjust(T0, T0, -1000);
    expect(l.take(T0, 100)).toMatchObject({ allowed: true, remaining: 0 });
    expect(l.take(T0, 1).allowed).toBe(false);
  });

  it('FixedWindow: a late charge counts in the current window, a late refund is dropped', () => {
    const P = 60_000;
    const l = createLimiter(spec('FixedWindow', 10, P), 0);
    expect(l.take(P + 10, 8).allowed).toBe(true);
    l.adjust(2 * P + 5, P + 10, -8); // the window of the take is over
    l.adjust(2 * P + 5, P + 10, 3); // but more usage still counts
    expect(l.take(2 * P + 6, 8)).toMatchObject({ allowed: false, remaining: 7 });
    expect(l.take(2 * P + 6, 7)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('SlidingWindow: a refund within the last two windows frees room in the window of the take', () => {
    const P = 10_000;
    const l = createLimiter(spec('SlidingWindow', 10, P), 0);
    expect(l.take(5000, 10).allowed).toBe(true);
    // At 1.2 P the previous 10 weigh 8: 3 more fit when they weigh 7, at 1.3 P.
    expect(l.take(P + 2000, 3)).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    l.adjust(P + 2000, 5000, -6); // the previous window now holds 4, weighing 3.2
    expect(l.take(P + 2000, 6)).toMatchObject({ allowed: true, remaining: 0 });
    expect(l.take(P + 2000, 1).allowed).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('limit 5 per minute: 5 at once, the 6th refused for 12 s, then one every 12 s', () => {
    const l = createLimiter(spec('TokenBucket', 5, 60_000), T0);
    for (let i = 0; i < 5; i++) expect(l.take(T0, 1)).toMatchObject({ allowed: true, remaining: 4 - i, limit: 5 });
    expect(l.take(T0, 1)).toMatchObject({ allowed: false, retryAfterMs: 12_000, remaining: 0, resetMs: 60_000 });
    expect(l.take(T0 + 11_999, 1).allowed).toBe(false);
    expect(l.take(T0 + 12_000, 1)).toMatchObject({ allowed: true, remaining: 0, resetMs: 60_000 });
    expect(greedy(l, T0 + 12_001, T0 + 72_001)).toEqual([1, 2, 3, 4, 5].map((k) => T0 + 12_000 + 12_000 * k));
  });

  it('burst adds capacity, not rate: limit + burst at once, then limit per period', () => {
    const l = createLimiter(spec('TokenBucket', 10, 1000, 5), T0);
    expect(greedy(l, T0, T0 + 1)).toHaveLength(15);
    expect(greedy(l, T0 + 1, T0 + 10_001)).toHaveLength(100);
  });

  it('refuses a take larger than limit + burst as oversize', () => {
    const l = createLimiter(spec('TokenBucket', 10, 1000, 5), T0);
    expect(l.take(T0, 16)).toMatchObject({ allowed: false, oversize: true });
    expect(capacity(spec('TokenBucket', 10, 1000, 5))).toBe(15);
    expect(l.take(T0, 15).allowed).toBe(true);
  });
});

describe('LeakyBucket', () => {
  const s = spec('LeakyBucket', 10, 10_000, 2); // one per second, 2 may queue

  it('admits the first at once, queues the next ones one interval apart, refuses beyond burst', () => {
    const l = createLimiter(s, T0);
    expect(l.take(T0, 1)).toMatchObject({ allowed: true, delayMs: 0, remaining: 2 });
    expect(l.take(T0, 1)).toMatchObject({ allowed: true, delayMs: 1000, remaining: 1 });
    expect(l.take(T0, 1)).toMatchObject({ allowed: true, delayMs: 2000, remaining: 0, resetMs: 3000 });
    expect(l.take(T0, 1)).toMatchObject({ allowed: false, retryAfterMs: 1000, delayMs: 0 });
    expect(l.take(T0 + 1000, 1)).toMatchObject({ allowed: true, delayMs: 2000 });
  });

  it('with burst 0 never queues: an early request is refused until the previous one has drained', () => {
    const l = createLimiter(spec('LeakyBucket', 10, 10_000), T0);
    expect(l.take(T0, 1).allowed).toBe(true);
    expect(l.take(T0 + 400, 1)).toMatchObject({ allowed: false, retryAfterMs: 600 });
    expect(l.take(T0 + 1000, 1)).toMatchObject({ allowed: true, delayMs: 0 });
  });

  it('an amount of n occupies n intervals', () => {
    const l = createLimiter(s, T0);
    expect(l.take(T0, 3)).toMatchObject({ allowed: true, delayMs: 0, resetMs: 3000 });
    expect(l.take(T0 + 500, 1)).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(l.take(T0 + 1000, 5)).toMatchObject({ allowed: true, delayMs: 2000, resetMs: 7000 });
  });
});

describe('FixedWindow', () => {
  it('counts per window aligned to multiples of periodMs; a refusal waits for the next window', () => {
    const l = createLimiter(spec('FixedWindow', 3, 60_000), 0);
    expect(greedy(l, 59_000, 59_001)).toHaveLength(3);
    expect(l.take(59_500, 1)).toMatchObject({ allowed: false, retryAfterMs: 500, resetMs: 500 });
    expect(l.take(60_000, 1)).toMatchObject({ allowed: true, remaining: 2, resetMs: 60_000 });
  });
});

describe('SlidingWindow', () => {
  it('weights the previous window by the part of it still inside the last period', () => {
    const P = 60_000;
    const l = createLimiter(spec('SlidingWindow', 10, P), 0);
    expect(greedy(l, 0, 1)).toHaveLength(10);
    // At 1.25 P the previous 10 weigh 7.5: two more fit, the third when they weigh 7.
    expect(greedy(l, P + P / 4, P + P / 4 + 1)).toHaveLength(2);
    expect(l.take(P + P / 4, 1)).toMatchObject({ allowed: false, retryAfterMs: 3000, remaining: 0 });
    expect(l.take(P + P / 4 + 3000, 1).allowed).toBe(true);
  });
});

describe('WarmUp (Guava SmoothWarmingUp)', () => {
  // 60 per minute: stable interval 1 s, cold interval 3 s, 10 minutes to warm up.
  const s = spec('WarmUp', 60, 60_000, 0, { warmUp: { periodMs: 600_000, coldFactor: 3 } });
  const intervals = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

  it('starts cold: a burst of about capacity / coldFactor, then one every 3 s, reaching 1 s after the warm-up period', () => {
    const l = createLimiter(s, T0);
    const times = greedy(l, T0, T0 + 900_000);
    const burst = times.filter((t) => t === T0).length;
    expect(burst).toBeGreaterThanOrEqual(19);
    expect(burst).toBeLessThanOrEqual(21);
    const gaps = intervals(times.filter((t) => t > T0));
    expect(gaps[0]! / 3000).toBeCloseTo(1, 1);
    // Guava: from cold to the stable interval takes warmUp.periodMs of saturated use.
    const after = times.filter((t) => t > T0);
    const warmAt = after[gaps.findIndex((g) => g <= 1001) + 1]! - T0;
    expect(warmAt).toBeGreaterThan(540_000);
    expect(warmAt).toBeLessThan(660_000);
    expect(intervals(times.filter((t) => t > T0 + 700_000)).every((g) => g >= 999 && g <= 1001)).toBe(true);
    // Between cold and warm the interval only shrinks.
    const smoothed = gaps.map((g, i) => (i > 0 ? Math.min(g, gaps[i - 1]!) : g));
    expect(smoothed.every((g, i) => i === 0 || g <= gaps[i - 1]! + 1)).toBe(true);
  });

  it('cools down again after an idle warm-up period', () => {
    const l = createLimiter(s, T0);
    const warm = greedy(l, T0, T0 + 900_000);
    const last = warm.at(-1)!;
    expect(l.idle(last + 60_000)).toBe(false);
    const after = greedy(l, last + 60_000 + 600_000, last + 60_000 + 600_000 + 120_000);
    const gaps = intervals(after.filter((t) => t > after[0]!));
    expect(gaps[0]! / 3000).toBeCloseTo(1, 1);
    expect(l.idle(after.at(-1)! + 60_000 + 600_000)).toBe(true);
  });

  it('a refund of a cold take restores it exactly', () => {
    const undone = createLimiter(s, T0);
    const untouched = createLimiter(s, T0);
    undone.take(T0, 5);
    undone.adjust(T0, T0, -5);
    expect(greedy(undone, T0, T0 + 120_000)).toEqual(greedy(untouched, T0, T0 + 120_000));
  });
});

describe('Adaptive (AIMD)', () => {
  const target = 2000;
  const s = spec('Adaptive', 100, 60_000, 0, { adaptive: { latencyTargetMs: target, min: 10, max: 500 } });
  const limitNow = (l: Limiter, now: number) => l.take(now, 0).limit;

  it('starts at the rule limit clamped into [min, max]', () => {
    expect(limitNow(createLimiter(s, T0), T0)).toBe(100);
    expect(limitNow(createLimiter({ ...s, limit: 5 }, T0), T0)).toBe(10);
    expect(limitNow(createLimiter({ ...s, limit: 9000 }, T0), T0)).toBe(500);
  });

  it('adds 1 per good answer up to max; halves on a slow or throttled answer, at most once per interval, down to min', () => {
    const l = createLimiter(s, T0);
    l.observe(T0, 100, false);
    l.observe(T0, target, false);
    expect(limitNow(l, T0)).toBe(102);
    l.observe(T0 + 1, target + 1, false);
    expect(limitNow(l, T0 + 1)).toBe(Math.floor(102 * ADAPTIVE_DECREASE_FACTOR));
    l.observe(T0 + 2, 10, true); // within the interval: a burst of bad answers counts once
    expect(limitNow(l, T0 + 2)).toBe(51);
    const next = T0 + 1 + adaptiveDecreaseIntervalMs(target);
    l.observe(next, 10, true);
    expect(limitNow(l, next)).toBe(25);
    for (let k = 1; k <= 4; k++) l.observe(next + k * adaptiveDecreaseIntervalMs(target), 9999, false);
    expect(limitNow(l, next + 5 * adaptiveDecreaseIntervalMs(target))).toBe(10);
    for (let k = 0; k < 1000; k++) l.observe(next + 60_000, 1, false);
    expect(limitNow(l, next + 60_000)).toBe(500);
  });

  it('admits like a token bucket of the current limit and returns to the start value when observations stop', () => {
    const l = createLimiter(s, T0);
    l.observe(T0, 0, true);
    const times = greedy(l, T0, T0 + 60_000);
    expect(times.filter((t) => t === T0)).toHaveLength(50);
    const quiet = T0 + adaptiveMemoryMs(60_000, target);
    expect(l.take(quiet, 0).limit).toBe(100);
    expect(l.idle(quiet + 60_000)).toBe(true);
  });
});

describe('idle', () => {
  it('a fresh limiter is idle; after a take it is not until it is back to fresh', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: 1, max: 3 }), (s, amount) => {
        const l = createLimiter(s, T0);
        expect(l.idle(T0)).toBe(true);
        fc.pre(l.take(T0, amount).allowed);
        expect(l.idle(T0)).toBe(false);
        // Long enough for every algorithm: two periods, the warm-up period, the Adaptive memory.
        const later = T0 + 2 * s.periodMs + (s.warmUp?.periodMs ?? 0) * 2 + adaptiveMemoryMs(s.periodMs, 1000) + 1;
        expect(l.idle(later)).toBe(true);
      }),
    );
  });

  it('is not idle while a token bucket refills, and is once full', () => {
    const l = createLimiter(spec('TokenBucket', 10, 10_000), T0);
    l.take(T0, 1);
    expect(l.idle(T0 + 999)).toBe(false);
    expect(l.idle(T0 + 1000)).toBe(true);
  });
});
