import type { UsageReport } from '@jairouter/crds';
import { describe, expect, it } from 'vitest';
import { sameUsage, sumUsage } from './usage.ts';

const report = (over: Partial<UsageReport> & { proxy: string }): UsageReport => ({
  minute: '2026-12-04T00:05', day: '2026-12-04', redis: 'up', tenants: {}, limits: {}, ...over,
});
const t = (requests: number, tokens: number, throttled = 0, budget?: { period: string; spentMicros: number }) => ({
  requestsMinute: requests, tokensMinute: tokens, requestsDay: requests, tokensDay: tokens, throttledDay: throttled, ...(budget && { budget }),
});

describe('sumUsage', () => {
  it('sums every proxy\'s counts of the latest minute and day; a report of an earlier window counts 0 for it', () => {
    const v = sumUsage([
      report({ proxy: 'p0', tenants: { 'ns/a': t(3, 30, 1) }, limits: { 'ns/p/r': { throttledDay: 1 } } }),
      report({ proxy: 'p1', tenants: { 'ns/a': t(2, 20, 2) }, limits: { 'ns/p/r': { throttledDay: 2 } } }),
      report({ proxy: 'p2', minute: '2026-12-04T00:04', tenants: { 'ns/a': t(7, 70) } }),
      report({ proxy: 'p3', minute: '2026-12-03T23:59', day: '2026-12-03', tenants: { 'ns/a': t(100, 1000, 50) }, limits: { 'ns/p/r': { throttledDay: 50 } } }),
    ], '2026-12-04T00:05:10Z');
    expect(v.tenants.get('ns/a')).toEqual({ requestsThisMinute: 5, tokensThisMinute: 50, requestsToday: 12, tokensToday: 120, throttledToday: 3 });
    expect(v.throttled.get('ns/p/r')).toBe(3);
    expect(v.perReplica).toBe(false);
    expect(v.reports).toBe(4);
  });

  it('sums the budget spend of the latest period only, and says PerReplica when a proxy has no Redis', () => {
    const v = sumUsage([
      report({ proxy: 'p0', tenants: { 'ns/a': t(1, 1, 0, { period: '2026-12', spentMicros: 400 }) } }),
      report({ proxy: 'p1', redis: 'down', tenants: { 'ns/a': t(1, 1, 0, { period: '2026-12', spentMicros: 100 }) } }),
      report({ proxy: 'p2', tenants: { 'ns/a': t(1, 1, 0, { period: '2026-11', spentMicros: 9999 }) } }),
    ], 'x');
    expect(v.tenants.get('ns/a')!.budgetSpentMicros).toBe(500);
    expect(v.perReplica).toBe(true);
  });

  it('ejected and saturated endpoints: the most any proxy reports per route and backend (they see the same endpoints)', () => {
    const v = sumUsage([
      report({ proxy: 'p0', endpoints: { 'ns/llama': { vllm: { ejected: 1, saturated: 0 }, tgi: { ejected: 0, saturated: 0 } } } }),
      report({ proxy: 'p1', endpoints: { 'ns/llama': { vllm: { ejected: 0, saturated: 2 } } } }),
      report({ proxy: 'p2' }),
    ], 'x');
    expect([...v.capacity.get('ns/llama')!]).toEqual([['vllm', { ejected: 1, saturated: 2 }], ['tgi', { ejected: 0, saturated: 0 }]]);
    const same = sumUsage([report({ proxy: 'p0', endpoints: { 'ns/llama': { vllm: { ejected: 1, saturated: 2 } } } })], 'y');
    const other = sumUsage([report({ proxy: 'p0', endpoints: { 'ns/llama': { vllm: { ejected: 0, saturated: 2 } } } })], 'y');
    expect(sameUsage(same, sumUsage([report({ proxy: 'p9', endpoints: { 'ns/llama': { vllm: { ejected: 1, saturated: 2 } } } })], 'z'))).toBe(true);
    expect(sameUsage(same, other)).toBe(false);
  });

  it('two views with the same sums are the same (no status write), whatever their time', () => {
    const r = [report({ proxy: 'p0', tenants: { 'ns/a': t(1, 1) } })];
    expect(sameUsage(sumUsage(r, 'a'), sumUsage(r, 'b'))).toBe(true);
    expect(sameUsage(sumUsage(r, 'a'), sumUsage([report({ proxy: 'p0', tenants: { 'ns/a': t(2, 1) } })], 'a'))).toBe(false);
  });
});
