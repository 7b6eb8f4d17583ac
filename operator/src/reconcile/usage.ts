import type { UsageReport } from '@jairouter/crds';

/** What every proxy counted, summed: the current UTC minute and day, and the budget periods. */
export interface UsageView {
  tenants: ReadonlyMap<string, TenantUsageSum>;
  /** Requests refused today, by limit id (`ns/policy/rule`, `ns/tenant/quota:<field>`, `ns/tenant/budget`). */
  throttled: ReadonlyMap<string, number>;
  /** Some reporting proxy has no Redis, or cannot reach it: Cluster limits are split per replica. */
  perReplica: boolean;
  /** Proxies whose reports are summed. */
  reports: number;
  /** When these sums were made (RFC 3339): the status's updatedAt. */
  updatedAt: string;
  /** Ejected and saturated endpoints by route id and backend: the most any proxy reports. */
  capacity: ReadonlyMap<string, ReadonlyMap<string, { ejected: number; saturated: number }>>;
}

export interface TenantUsageSum {
  requestsThisMinute: number;
  tokensThisMinute: number;
  requestsToday: number;
  tokensToday: number;
  throttledToday: number;
  /** Spend in the latest budget period any proxy reports, in millionths of the pricing unit. */
  budgetSpentMicros?: number;
}

/**
 * Sums the proxies' latest reports. The current minute and day are the latest any report names
 * (the proxies' clocks, not the operator's): a report of an earlier window counts 0 for it.
 */
export function sumUsage(reports: Iterable<UsageReport>, updatedAt: string): UsageView {
  const list = [...reports];
  let minute = '';
  let day = '';
  for (const r of list) {
    if (r.minute > minute) minute = r.minute;
    if (r.day > day) day = r.day;
  }
  const tenants = new Map<string, TenantUsageSum>();
  const periods = new Map<string, string>();
  for (const r of list) for (const [id, t] of Object.entries(r.tenants)) {
    if (t.budget && t.budget.period > (periods.get(id) ?? '')) periods.set(id, t.budget.period);
  }
  const throttled = new Map<string, number>();
  for (const r of list) {
    for (const [id, t] of Object.entries(r.tenants)) {
      let s = tenants.get(id);
      if (!s) tenants.set(id, (s = { requestsThisMinute: 0, tokensThisMinute: 0, requestsToday: 0, tokensToday: 0, throttledToday: 0 }));
      if (r.minute === minute) {
        s.requestsThisMinute += t.requestsMinute;
        s.tokensThisMinute += t.tokensMinute;
      }
      if (r.day === day) {
        s.requestsToday += t.requestsDay;
        s.tokensToday += t.tokensDay;
        s.throttledToday += t.throttledDay;
      }
      if (t.budget && t.budget.period === periods.get(id)) s.budgetSpentMicros = (s.budgetSpentMicros ?? 0) + t.budget.spentMicros;
    }
    if (r.day === day) for (const [id, l] of Object.entries(r.limits)) throttled.set(id, (throttled.get(id) ?? 0) + l.throttledDay);
  }
  const capacity = new Map<string, Map<string, { ejected: number; saturated: number }>>();
  for (const r of list) {
    for (const [route, backends] of Object.entries(r.endpoints ?? {})) {
      let m = capacity.get(route);
      if (!m) capacity.set(route, (m = new Map()));
      for (const [name, e] of Object.entries(backends)) {
        // The proxies see the same endpoints: the most any of them reports, not the sum.
        const c = m.get(name) ?? { ejected: 0, saturated: 0 };
        m.set(name, { ejected: Math.max(c.ejected, e.ejected), saturated: Math.max(c.saturated, e.saturated) });
      }
    }
  }
  return { tenants, throttled, perReplica: list.some((r) => r.redis !== 'up'), reports: list.length, updatedAt, capacity };
}

/** Two views with the same sums (updatedAt aside): nothing to write. */
export function sameUsage(a: UsageView | null, b: UsageView): boolean {
  if (a === null) return false;
  const key = (v: UsageView) =>
    JSON.stringify([[...v.tenants].sort(), [...v.throttled].sort(), v.perReplica, v.reports > 0, [...v.capacity].map(([r, m]) => [r, [...m].sort()]).sort()]);
  return key(a) === key(b);
}
