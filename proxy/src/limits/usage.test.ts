import { describe, expect, it } from 'vitest';
import { UsageMeter } from './usage.ts';

describe('UsageMeter', () => {
  it('counts the current UTC minute and day; a new minute starts the minute counts over, a new day all of them', () => {
    let now = Date.UTC(2026, 11, 3, 23, 58, 30);
    const m = new UsageMeter(() => now);
    m.admitted('ns/a', 10);
    m.admitted('ns/a', 5);
    m.throttled('ns/a', 'ns/p/r');
    expect(m.report()).toEqual({
      minute: '2026-12-03T23:58', day: '2026-12-03',
      tenants: { 'ns/a': { requestsMinute: 2, tokensMinute: 15, requestsDay: 2, tokensDay: 15, throttledDay: 1 } },
      limits: { 'ns/p/r': { throttledDay: 1 } },
    });
    now += 60_000; // 23:59:30: same day
    expect(m.report().tenants['ns/a']).toEqual({ requestsMinute: 0, tokensMinute: 0, requestsDay: 2, tokensDay: 15, throttledDay: 1 });
    now += 60_000; // 00:00:30 the next day: nothing to report for a tenant idle since yesterday
    expect(m.report()).toEqual({ minute: '2026-12-04T00:00', day: '2026-12-04', tenants: {}, limits: {} });
  });

  it('keeps the budget spend of the period it is reported for, and starts over in a new period', () => {
    const m = new UsageMeter(() => Date.UTC(2026, 11, 3));
    m.spent('ns/a', '2026-12', 300);
    m.spent('ns/a', '2026-12', 200);
    expect(m.report().tenants['ns/a']!.budget).toEqual({ period: '2026-12', spentMicros: 500 });
    m.spent('ns/a', '2027-01', 7);
    expect(m.report().tenants['ns/a']!.budget).toEqual({ period: '2027-01', spentMicros: 7 });
  });
});
