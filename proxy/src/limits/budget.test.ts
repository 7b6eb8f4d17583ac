import { describe, expect, it } from 'vitest';
import { Budgets, LocalBudgetStore, MICRO, microCost, periodOf } from './budget.ts';

describe('budget periods (UTC)', () => {
  it('a day runs from midnight to midnight UTC', () => {
    const p = periodOf('day', Date.UTC(2026, 11, 3, 23, 59, 59));
    expect(p).toEqual({ key: '2026-12-03', endsAt: Date.UTC(2026, 11, 4) });
  });
  it('a week starts on Monday 00:00 UTC, also when now is a Sunday', () => {
    // 2026-12-06 is a Sunday: its week began on Monday 2026-11-30.
    expect(periodOf('week', Date.UTC(2026, 11, 6, 12))).toEqual({ key: 'w2026-11-30', endsAt: Date.UTC(2026, 11, 7) });
    expect(periodOf('week', Date.UTC(2026, 11, 7, 0, 0, 0))).toEqual({ key: 'w2026-12-07', endsAt: Date.UTC(2026, 11, 14) });
  });
  it('a month ends on the first of the next, across a year', () => {
    expect(periodOf('month', Date.UTC(2026, 11, 31, 23))).toEqual({ key: '2026-12', endsAt: Date.UTC(2027, 0, 1) });
  });
});

describe('Budgets', () => {
  const budget = { limit: 1, period: 'day' as const };
  it('never lets concurrent reservations exceed the limit, and settles to the real cost', () => {
    let now = Date.UTC(2026, 11, 3, 10);
    const b = new Budgets({ shared: null, replicas: () => 1, now: () => now });
    const holds = [];
    for (let i = 0; i < 5; i++) {
      const r = b.admit('ns/t', budget, 0.3 * MICRO) as { ok: boolean; hold?: unknown };
      if (r.ok) holds.push((r as { hold: NonNullable<Parameters<Budgets['settle']>[0]> }).hold);
    }
    expect(holds.length).toBe(3); // 0.9 of 1; a fourth 0.3 would overspend
    for (const h of holds) b.settle(h, 0.1 * MICRO); // each cost 0.1 in the end
    expect((b.admit('ns/t', budget, 0.7 * MICRO) as { ok: boolean }).ok).toBe(true); // 0.3 + 0.7 = 1
    const refused = b.admit('ns/t', budget, 1) as { ok: false; retryAfterMs: number };
    expect(refused.ok).toBe(false);
    expect(refused.retryAfterMs).toBe(Date.UTC(2026, 11, 4) - now);
    now = Date.UTC(2026, 11, 4, 0, 0, 1);
    expect((b.admit('ns/t', budget, 0.9 * MICRO) as { ok: boolean }).ok).toBe(true); // a new day
  });
  it('without a shared store each of N replicas holds limit / N', () => {
    const b = new Budgets({ shared: null, replicas: () => 4, now: () => 0 });
    expect((b.admit('ns/t', { limit: 4, period: 'month' }, MICRO) as { ok: boolean }).ok).toBe(true);
    expect((b.admit('ns/t', { limit: 4, period: 'month' }, 1) as { ok: boolean }).ok).toBe(false);
  });
  it('a refund never takes the spend below zero', () => {
    const s = new LocalBudgetStore(() => 0);
    s.add('k', -5, 1000);
    expect(s.reserve('k', 3, 3, 1000)).toEqual({ ok: true, spent: 3 });
  });
  it('costs are per-million prices in millionths of the unit', () => {
    expect(microCost(1000, 500, { inputPerMillion: 0.15, outputPerMillion: 0.6 })).toBe(450); // $0.00045
  });
});
