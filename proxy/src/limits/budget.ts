/**
 * Tenant spend budgets (Tenant.spec.quotas.budget): a request reserves its estimated cost at
 * admission, at the highest prices of its route's backends; when it finishes it is charged its
 * real cost at the prices of the backend that served it. Periods are UTC calendar days, weeks
 * from Monday 00:00, and months. Amounts are kept in millionths of the pricing unit, as integers,
 * so that a million small charges add up exactly.
 */

export type BudgetPeriod = 'day' | 'week' | 'month';

/** Where spend is counted: this process, or Redis shared by every replica. */
export interface BudgetStore {
  /**
   * Adds `amount` to `key` if the total stays within `limit`; the total after (or as it stands,
   * when refused). Null when the store cannot answer (Redis down): the caller counts locally.
   */
  reserve(key: string, amount: number, limit: number, ttlMs: number): { ok: boolean; spent: number } | Promise<{ ok: boolean; spent: number } | null>;
  /** Corrects `key` by `delta` (negative refunds), never below zero. */
  add(key: string, delta: number, ttlMs: number): void;
}

/** Spend kept in this process. */
export class LocalBudgetStore implements BudgetStore {
  private readonly spent = new Map<string, { value: number; until: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  reserve(key: string, amount: number, limit: number, ttlMs: number): { ok: boolean; spent: number } {
    const e = this.entry(key, ttlMs);
    if (e.value + amount > limit) return { ok: false, spent: e.value };
    e.value += amount;
    return { ok: true, spent: e.value };
  }

  add(key: string, delta: number, ttlMs: number): void {
    const e = this.entry(key, ttlMs);
    e.value = Math.max(0, e.value + delta);
  }

  private entry(key: string, ttlMs: number): { value: number; until: number } {
    const now = this.now();
    let e = this.spent.get(key);
    if (e === undefined || e.until <= now) {
      // A period key is never reused, so expired ones are only dropped to bound memory.
      if (this.spent.size > 10_000) for (const [k, v] of this.spent) if (v.until <= now) this.spent.delete(k);
      e = { value: 0, until: now + ttlMs };
      this.spent.set(key, e);
    }
    return e;
  }
}

/** Millionths of the pricing unit per unit. */
export const MICRO = 1_000_000;

/** The period holding `now` (ms since the epoch): its key and when it ends. */
export function periodOf(period: BudgetPeriod, now: number): { key: string; endsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (period === 'day') return { key: `${y}-${pad(m + 1)}-${pad(day)}`, endsAt: Date.UTC(y, m, day + 1) };
  if (period === 'month') return { key: `${y}-${pad(m + 1)}`, endsAt: Date.UTC(y, m + 1, 1) };
  // ISO weeks start on Monday: getUTCDay() is 0 on Sunday.
  const sinceMonday = (d.getUTCDay() + 6) % 7;
  const start = Date.UTC(y, m, day - sinceMonday);
  const s = new Date(start);
  return { key: `w${s.getUTCFullYear()}-${pad(s.getUTCMonth() + 1)}-${pad(s.getUTCDate())}`, endsAt: start + 7 * 86_400_000 };
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Cost in millionths of the pricing unit of `tokensIn` and `tokensOut` at per-million prices. */
export function microCost(tokensIn: number, tokensOut: number, price: { inputPerMillion: number; outputPerMillion: number }): number {
  // (tokens / 1e6) * price * 1e6 = tokens * price
  return Math.round(tokensIn * price.inputPerMillion + tokensOut * price.outputPerMillion);
}

export interface BudgetHold {
  readonly store: BudgetStore;
  readonly key: string;
  /** The period's key (2026-12-04, w2026-11-30, 2026-12). */
  readonly period: string;
  readonly reserved: number;
  readonly ttlMs: number;
}

export type BudgetAdmission = { ok: true; hold: BudgetHold | null } | { ok: false; retryAfterMs: number; period: BudgetPeriod };

/**
 * Budgets of every tenant. With a shared store (Redis) the limit holds across replicas; while it
 * cannot answer, each replica holds its share (limit / replicas) locally, as Cluster limits do.
 */
export class Budgets {
  private readonly shared: BudgetStore | null;
  private readonly local: LocalBudgetStore;
  private readonly replicas: () => number;
  private readonly now: () => number;

  constructor(opts: { shared: BudgetStore | null; replicas(): number; now?(): number }) {
    this.shared = opts.shared;
    this.replicas = opts.replicas;
    this.now = opts.now ?? Date.now;
    this.local = new LocalBudgetStore(this.now);
  }

  admit(tenantId: string, budget: { limit: number; period: BudgetPeriod }, reserve: number): BudgetAdmission | Promise<BudgetAdmission> {
    const now = this.now();
    const p = periodOf(budget.period, now);
    const key = `${tenantId}/budget/${p.key}`;
    const limit = Math.round(budget.limit * MICRO);
    // A period's key outlives it by a day, so a late settlement still finds it.
    const ttlMs = p.endsAt - now + 86_400_000;
    const refused = (): BudgetAdmission => ({ ok: false, retryAfterMs: p.endsAt - now, period: budget.period });
    const localShare = (): BudgetAdmission => {
      const share = Math.floor(limit / Math.max(1, this.replicas()));
      const r = this.local.reserve(key, reserve, share, ttlMs);
      return r.ok ? { ok: true, hold: { store: this.local, key, period: p.key, reserved: reserve, ttlMs } } : refused();
    };
    if (this.shared === null) return localShare();
    const shared = this.shared;
    const r = shared.reserve(key, reserve, limit, ttlMs);
    const decide = (x: { ok: boolean } | null): BudgetAdmission =>
      x === null ? localShare() : x.ok ? { ok: true, hold: { store: shared, key, period: p.key, reserved: reserve, ttlMs } } : refused();
    return r instanceof Promise ? r.then(decide) : decide(r);
  }

  /** Charges the real cost instead of the reservation (`cost` null = unknown: the reservation stands). */
  settle(hold: BudgetHold, cost: number | null): void {
    if (cost === null || cost === hold.reserved) return;
    hold.store.add(hold.key, cost - hold.reserved, hold.ttlMs);
  }

  /** Gives a reservation back (the request never ran). */
  undo(hold: BudgetHold): void {
    hold.store.add(hold.key, -hold.reserved, hold.ttlMs);
  }
}
