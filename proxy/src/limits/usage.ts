/**
 * What this proxy's tenants consumed in the current UTC minute and day, and in their budget
 * periods, reported to the operator every 10 s (UsageReport); the operator sums the replicas'
 * reports into Tenant.status.usage. One map lookup and a few additions per request; windows
 * roll over lazily, by minute and day number, with no timer.
 */

interface TenantCounts {
  minute: number;
  day: number;
  requestsMinute: number;
  tokensMinute: number;
  requestsDay: number;
  tokensDay: number;
  throttledDay: number;
  budget: { period: string; spentMicros: number } | null;
}

export interface UsageReportBody {
  minute: string;
  day: string;
  tenants: Record<string, {
    requestsMinute: number;
    tokensMinute: number;
    requestsDay: number;
    tokensDay: number;
    throttledDay: number;
    budget?: { period: string; spentMicros: number };
  }>;
  limits: Record<string, { throttledDay: number }>;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export class UsageMeter {
  private readonly tenants = new Map<string, TenantCounts>();
  private readonly limits = new Map<string, { day: number; throttled: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private counts(tenant: string, now: number): TenantCounts {
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    let c = this.tenants.get(tenant);
    if (c === undefined) {
      c = { minute, day, requestsMinute: 0, tokensMinute: 0, requestsDay: 0, tokensDay: 0, throttledDay: 0, budget: null };
      this.tenants.set(tenant, c);
    }
    if (c.minute !== minute) {
      c.minute = minute;
      c.requestsMinute = 0;
      c.tokensMinute = 0;
    }
    if (c.day !== day) {
      c.day = day;
      c.requestsDay = 0;
      c.tokensDay = 0;
      c.throttledDay = 0;
    }
    return c;
  }

  /** A request the limits admitted, with the tokens it used (0 when unknown). */
  admitted(tenant: string, tokens: number): void {
    const c = this.counts(tenant, this.now());
    c.requestsMinute++;
    c.requestsDay++;
    c.tokensMinute += tokens;
    c.tokensDay += tokens;
  }

  /** A request refused with 429 by `limit` (a LimitIR id, or `<tenant>/budget`). */
  throttled(tenant: string, limit: string): void {
    const now = this.now();
    this.counts(tenant, now).throttledDay++;
    const day = Math.floor(now / DAY);
    let l = this.limits.get(limit);
    if (l === undefined || l.day !== day) this.limits.set(limit, (l = { day, throttled: 0 }));
    l.throttled++;
  }

  /** Spend settled in the tenant's budget period `period` (its key), in millionths. */
  spent(tenant: string, period: string, micros: number): void {
    const c = this.counts(tenant, this.now());
    if (c.budget === null || c.budget.period !== period) c.budget = { period, spentMicros: 0 };
    c.budget.spentMicros = Math.max(0, c.budget.spentMicros + micros);
  }

  /** The counts of the current minute and day (stale windows read as zero). Drops tenants idle since yesterday. */
  report(): UsageReportBody {
    const now = this.now();
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const tenants: UsageReportBody['tenants'] = {};
    for (const [id, c] of this.tenants) {
      if (c.day !== day && c.budget === null) {
        this.tenants.delete(id);
        continue;
      }
      const sameMinute = c.minute === minute;
      const sameDay = c.day === day;
      tenants[id] = {
        requestsMinute: sameMinute ? c.requestsMinute : 0,
        tokensMinute: sameMinute ? c.tokensMinute : 0,
        requestsDay: sameDay ? c.requestsDay : 0,
        tokensDay: sameDay ? c.tokensDay : 0,
        throttledDay: sameDay ? c.throttledDay : 0,
        ...(c.budget ? { budget: { ...c.budget } } : {}),
      };
    }
    const limits: UsageReportBody['limits'] = {};
    for (const [id, l] of this.limits) {
      if (l.day !== day) this.limits.delete(id);
      else limits[id] = { throttledDay: l.throttled };
    }
    const iso = new Date(minute * MINUTE).toISOString();
    return { minute: iso.slice(0, 16), day: iso.slice(0, 10), tenants, limits };
  }
}
