import type { LimitIR } from '@jairouter/crds';
import type { Decision, LimitSpec } from './algorithms.ts';
import type { ClusterItem, RedisLimits } from './redis.ts';
import { LimiterTable } from './table.ts';

/**
 * One limit (a RateLimitPolicy rule or a tenant quota) of one config version. Its counters live
 * in `table`, which a later version keeps when the rule is unchanged (same `signature`), as
 * balancers are kept: editing one policy does not reset the others' counters.
 */
export class LimitRuntime {
  readonly ir: LimitIR;
  readonly spec: LimitSpec;
  readonly tokens: boolean;
  readonly cluster: boolean;
  /** Everything that defines the counters: equal signatures share state across versions. */
  readonly signature: string;
  /** Local counters (scope Local), keyed by the request's key values. */
  readonly table: LimiterTable;
  /** Scope Cluster without Redis: this replica's share of the limit, made for `share` replicas. */
  private degraded: { table: LimiterTable; replicas: number } | null = null;
  /** Redis key prefix of this rule's counters. */
  readonly redisPrefix: string;
  /** String(limit), for x-ratelimit-limit-*; null when the limit moves (Adaptive) or may be a per-replica share (Cluster). */
  readonly limitText: string | null;

  constructor(ir: LimitIR, previous: LimitRuntime | undefined) {
    this.ir = ir;
    this.spec = {
      algorithm: ir.algorithm,
      limit: ir.limit,
      periodMs: ir.periodMs,
      burst: ir.burst,
      ...(ir.warmUp ? { warmUp: { ...ir.warmUp } } : {}),
      ...(ir.adaptive ? { adaptive: { ...ir.adaptive } } : {}),
    };
    this.tokens = ir.unit === 'tokens';
    this.cluster = ir.scope === 'Cluster';
    this.signature = JSON.stringify([ir.id, ir.scope, ir.unit, ir.key, this.spec]);
    const keep = previous !== undefined && previous.signature === this.signature;
    this.table = keep ? previous.table : new LimiterTable(this.spec);
    if (keep) this.degraded = previous.degraded;
    this.redisPrefix = ir.id;
    this.limitText = ir.algorithm === 'Adaptive' || ir.scope === 'Cluster' ? null : String(ir.limit);
  }

  /** Drops the counters that are back to fresh (bounded memory between table-full sweeps). */
  sweep(now: number): void {
    this.table.sweep(now);
    if (this.degraded !== null && this.degraded.table !== this.table) this.degraded.table.sweep(now);
  }

  /** The local table standing in for the cluster counters: the limit split among `replicas`. */
  degradedTable(replicas: number): LimiterTable {
    const n = Math.max(1, Math.floor(replicas));
    if (this.degraded === null || this.degraded.replicas !== n) {
      const share = (x: number) => Math.max(1, Math.floor(x / n));
      const spec: LimitSpec = {
        ...this.spec,
        limit: share(this.spec.limit),
        burst: this.spec.burst > 0 ? share(this.spec.burst) : 0,
        ...(this.spec.adaptive ? { adaptive: { ...this.spec.adaptive, min: share(this.spec.adaptive.min), max: share(this.spec.adaptive.max) } } : {}),
      };
      this.degraded = { table: n === 1 ? this.table : new LimiterTable(spec), replicas: n };
    }
    return this.degraded.table;
  }
}

/** What a request is counted by: the values its rules' keys read. */
export interface KeySource {
  tenant: string;
  user: string;
  apiKey: string;
  clientIP: string;
  model: string;
  header(name: string): string;
}

/** One rule's admitted take, kept on the exchange to settle it when the answer is complete. */
export interface Taken {
  readonly limit: LimitRuntime;
  readonly key: string;
  /** The clock reading of the take (ms): Date.now() locally, Redis TIME in cluster scope. */
  readonly at: number;
  readonly amount: number;
  readonly decision: Decision;
  /** Counted in Redis (else in a local table, possibly the degraded share). */
  readonly inRedis: boolean;
  /** The table it was taken from (local takes). */
  readonly table: LimiterTable | null;
}

export type Admission =
  | { ok: true; taken: Taken[]; delayMs: number }
  | { ok: false; limit: LimitRuntime; decision: Decision };

export interface LimitsOptions {
  /** Cluster-scope counters; null = none configured (every Cluster rule uses its per-replica share). */
  redis: RedisLimits | null;
  /** Proxy replicas sharing the Cluster limits (from the operator; 1 standalone). */
  replicas(): number;
  now?(): number;
}

const SEP = '\u0001';

/**
 * Applies limits to requests. Local rules are counted here; Cluster rules in Redis, all of one
 * request's in one round trip, or when Redis is unavailable in a local table holding this
 * replica's share (limit / replicas). A request passes every rule or is charged by none.
 */
export class Limits {
  private readonly redis: RedisLimits | null;
  private readonly replicas: () => number;
  private readonly now: () => number;

  constructor(opts: LimitsOptions) {
    this.redis = opts.redis;
    this.replicas = opts.replicas;
    this.now = opts.now ?? Date.now;
  }

  /** The counter key of `limit` for a request: its key values joined (tenant, user, ...). */
  static keyOf(limit: LimitRuntime, src: KeySource): string {
    const parts = limit.ir.key;
    if (parts.length === 1) return part(parts[0]!, src);
    let k = '';
    for (let i = 0; i < parts.length; i++) k += (i === 0 ? '' : SEP) + part(parts[i]!, src);
    return k;
  }

  /**
   * Takes `tokens` (token rules) or 1 (request rules) from every rule. Synchronous when no rule
   * is Cluster-scoped with Redis configured.
   */
  admit(rules: readonly LimitRuntime[], src: KeySource, tokens: number): Admission | Promise<Admission> {
    const taken: Taken[] = [];
    let cluster: { limit: LimitRuntime; key: string; amount: number }[] | null = null;
    const now = this.now();
    let delayMs = 0;
    for (const limit of rules) {
      const key = Limits.keyOf(limit, src);
      const amount = limit.tokens ? Math.max(1, tokens) : 1;
      if (limit.cluster && this.redis !== null) {
        (cluster ??= []).push({ limit, key, amount });
        continue;
      }
      const table = limit.cluster ? limit.degradedTable(this.replicas()) : limit.table;
      const decision = table.get(key, now).take(now, amount);
      if (!decision.allowed) {
        this.undo(taken);
        return { ok: false, limit, decision };
      }
      if (decision.delayMs > delayMs) delayMs = decision.delayMs;
      taken.push({ limit, key, at: now, amount, decision, inRedis: false, table });
    }
    if (cluster === null) return { ok: true, taken, delayMs };
    return this.admitCluster(cluster, taken, delayMs);
  }

  private async admitCluster(items: { limit: LimitRuntime; key: string; amount: number }[], taken: Taken[], delayMs: number): Promise<Admission> {
    const reply = await this.redis!.takeAll(items.map((i): ClusterItem => ({ rule: i.limit.redisPrefix, key: i.key, spec: i.limit.spec, amount: i.amount })));
    if (reply === null) {
      // Redis is unavailable: this replica's share of each limit, counted here.
      const now = this.now();
      for (const i of items) {
        const table = i.limit.degradedTable(this.replicas());
        const decision = table.get(i.key, now).take(now, i.amount);
        if (!decision.allowed) {
          this.undo(taken);
          return { ok: false, limit: i.limit, decision };
        }
        if (decision.delayMs > delayMs) delayMs = decision.delayMs;
        taken.push({ limit: i.limit, key: i.key, at: now, amount: i.amount, decision, inRedis: false, table });
      }
      return { ok: true, taken, delayMs };
    }
    for (let k = 0; k < items.length; k++) {
      const decision = reply.decisions[k]!;
      if (!decision.allowed) {
        // The script charged nothing (all or nothing); the local takes are given back.
        this.undo(taken);
        return { ok: false, limit: items[k]!.limit, decision };
      }
    }
    for (let k = 0; k < items.length; k++) {
      const i = items[k]!;
      const decision = reply.decisions[k]!;
      if (decision.delayMs > delayMs) delayMs = decision.delayMs;
      taken.push({ limit: i.limit, key: i.key, at: reply.at, amount: i.amount, decision, inRedis: true, table: null });
    }
    return { ok: true, taken, delayMs };
  }

  /** Gives back what an admission took (another rule refused, or the request never ran). */
  undo(taken: readonly Taken[]): void {
    const now = this.now();
    const back: { rule: string; key: string; spec: LimitSpec; at: number; delta: number }[] = [];
    for (const t of taken) {
      if (t.inRedis) back.push({ rule: t.limit.redisPrefix, key: t.key, spec: t.limit.spec, at: t.at, delta: -t.amount });
      else t.table!.peek(t.key)?.adjust(now, t.at, -t.amount);
    }
    if (back.length > 0) this.redis?.adjust(back);
  }

  /**
   * Settles a finished request: token rules are charged the real usage instead of the estimate
   * (`usedTokens` null = unknown: the reservation stands), and Adaptive rules learn the latency.
   */
  settle(taken: readonly Taken[], usedTokens: number | null, latencyMs: number, upstreamThrottled: boolean): void {
    const now = this.now();
    let back: { rule: string; key: string; spec: LimitSpec; at: number; delta: number }[] | null = null;
    for (const t of taken) {
      if (t.limit.tokens && usedTokens !== null && usedTokens !== t.amount) {
        const delta = usedTokens - t.amount;
        if (t.inRedis) (back ??= []).push({ rule: t.limit.redisPrefix, key: t.key, spec: t.limit.spec, at: t.at, delta });
        else t.table!.peek(t.key)?.adjust(now, t.at, delta);
      }
      if (t.limit.spec.algorithm === 'Adaptive') {
        if (t.inRedis) this.redis!.observe(t.limit.redisPrefix, t.key, t.limit.spec, latencyMs, upstreamThrottled);
        else t.table!.peek(t.key)?.observe(now, latencyMs, upstreamThrottled);
      }
    }
    if (back !== null) this.redis!.adjust(back);
  }
}

function part(name: string, src: KeySource): string {
  switch (name) {
    case 'tenant':
      return src.tenant;
    case 'user':
      return src.user;
    case 'apiKey':
      return src.apiKey;
    case 'clientIP':
      return src.clientIP;
    case 'model':
      return src.model;
    default:
      return name.startsWith('header:') ? src.header(name.slice(7)) : '';
  }
}

/**
 * OpenAI's rate-limit headers for the rules a request was held to: for requests and for tokens,
 * the rule with the least left. `reset` is a duration as OpenAI writes it (`1s`, `6m0s`, `20ms`).
 */
export function rateLimitHeaders(taken: readonly { limit: LimitRuntime; decision: Decision }[], set: (name: string, value: string) => void): void {
  let req: { limit: LimitRuntime; decision: Decision } | null = null;
  let tok: { limit: LimitRuntime; decision: Decision } | null = null;
  for (const t of taken) {
    if (t.limit.tokens) {
      if (tok === null || t.decision.remaining < tok.decision.remaining) tok = t;
    } else if (req === null || t.decision.remaining < req.decision.remaining) req = t;
  }
  if (req !== null) {
    set('x-ratelimit-limit-requests', req.limit.limitText ?? String(req.decision.limit));
    set('x-ratelimit-remaining-requests', String(req.decision.remaining));
    set('x-ratelimit-reset-requests', resetDuration(req.decision.resetMs));
  }
  if (tok !== null) {
    set('x-ratelimit-limit-tokens', tok.limit.limitText ?? String(tok.decision.limit));
    set('x-ratelimit-remaining-tokens', String(tok.decision.remaining));
    set('x-ratelimit-reset-tokens', resetDuration(tok.decision.resetMs));
  }
}

/** 20 -> "20ms", 1500 -> "1.5s", 360000 -> "6m0s", 7200000 -> "2h0m0s" (Go's duration format, which OpenAI uses). */
export function resetDuration(ms: number): string {
  const v = Math.max(0, Math.ceil(ms));
  if (v < 1000) return `${v}ms`;
  const totalS = v / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  const sec = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}
