import type { LimitIR } from '@jairouter/crds';
import { describe, expect, it } from 'vitest';
import { LimitRuntime, Limits, resetDuration, type KeySource } from './engine.ts';

const ir = (over: Partial<LimitIR>): LimitIR => ({
  id: 'ns/p/r', source: 'ns/p', sourceKind: 'RateLimitPolicy', name: 'r', algorithm: 'FixedWindow', key: ['tenant'],
  unit: 'requests', limit: 2, periodMs: 60_000, burst: 0, scope: 'Local', routes: [], tenants: ['ns/t'], ...over,
});
const src = (over: Partial<KeySource> = {}): KeySource => ({
  tenant: 'ns/t', user: 'u', apiKey: 'k', clientIP: '10.0.0.1', model: 'm', header: () => '', ...over,
});

describe('Limits', () => {
  it('is all or nothing: when a later rule refuses, what earlier rules took is given back', () => {
    const now = 1_000_000;
    const limits = new Limits({ redis: null, replicas: () => 1, now: () => now });
    const roomy = new LimitRuntime(ir({ id: 'ns/p/roomy', limit: 10 }), undefined);
    const tight = new LimitRuntime(ir({ id: 'ns/p/tight', limit: 1, key: ['user'] }), undefined);
    expect(limits.admit([roomy, tight], src(), 0)).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) expect(limits.admit([roomy, tight], src(), 0)).toMatchObject({ ok: false });
    // roomy was charged once, not six times: nine are left for another user.
    const other = limits.admit([roomy], src({ user: 'v' }), 0) as { ok: true; taken: { decision: { remaining: number } }[] };
    expect(other.taken[0]!.decision.remaining).toBe(8);
  });

  it('keys combine their parts, so tenant+user counts differ from user alone', () => {
    const a = new LimitRuntime(ir({ key: ['tenant', 'user'] }), undefined);
    expect(Limits.keyOf(a, src())).not.toBe(Limits.keyOf(a, src({ tenant: 'ns/other' })));
    const h = new LimitRuntime(ir({ key: ['header:X-Team'] }), undefined);
    expect(Limits.keyOf(h, src({ header: (n) => (n === 'X-Team' ? 'red' : '') }))).toBe('red');
  });

  it('a Cluster rule without Redis holds the limit divided by the replicas (at least 1)', () => {
    const limits = new Limits({ redis: null, replicas: () => 3, now: () => 0 });
    const l = new LimitRuntime(ir({ scope: 'Cluster', limit: 7 }), undefined);
    const results = Array.from({ length: 4 }, () => (limits.admit([l], src(), 0) as { ok: boolean }).ok);
    expect(results).toEqual([true, true, false, false]); // floor(7 / 3) = 2
  });

  it('keeps a rule\'s counters for a new config version only when the rule is unchanged', () => {
    const first = new LimitRuntime(ir({}), undefined);
    expect(new LimitRuntime(ir({}), first).table).toBe(first.table);
    expect(new LimitRuntime(ir({ limit: 3 }), first).table).not.toBe(first.table);
  });
});

describe('resetDuration (the x-ratelimit-reset-* format OpenAI clients parse)', () => {
  it.each([[20, '20ms'], [1000, '1s'], [1500, '1.5s'], [360_000, '6m0s'], [7_261_000, '2h1m1s']])('%d ms -> %s', (ms, s) => {
    expect(resetDuration(ms)).toBe(s);
  });
});
