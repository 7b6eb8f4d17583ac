import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { adaptiveBounds, adaptiveStart, saneSpec, type Decision, type LimitSpec } from './algorithms.ts';
import type { BudgetStore } from './budget.ts';
import type { KeyValue } from '../responses/store.ts';
import { BUDGET_LUA, HUGE, LIMITS_LUA, NEVER } from './redis-scripts.ts';

export { LIMITS_LUA } from './redis-scripts.ts';

/**
 * Cluster-scope limits: the algorithms of algorithms.ts run in one Lua script (redis-scripts.ts) inside Redis,
 * so every replica of the proxy shares one state per key, timed by Redis's clock (TIME), so
 * the replicas' clocks do not matter. The script mirrors the TypeScript formulas operation by
 * operation (doubles in both, so the results are the same bits); redis.test.ts runs random
 * sequences through both and compares every decision.
 *
 * All rules of a request are decided in one EVALSHA, all or nothing: when any refuses,
 * nothing is written. Every key carries the constant hash tag {jr}, so the keys of one call
 * are in one slot and the script runs on Redis Cluster too; the price is that all limit keys
 * live on one shard (a limit check is a few hash fields: one shard carries a lot of them).
 */

export interface ClusterItem {
  /** The rule's id (LimitIR.id); part of the key. */
  rule: string;
  /** The counter's key within the rule (tenant, user, ... joined by the caller). */
  key: string;
  spec: LimitSpec;
  amount: number;
}

export interface ClusterAdjustment {
  rule: string;
  key: string;
  spec: LimitSpec;
  /** The `at` that takeAll answered for the take being settled. */
  at: number;
  delta: number;
}

export interface RedisLimitsOptions {
  /**
   * redis://[user:password@]host:port[/db], rediss:// for TLS; redis+cluster:// and
   * rediss+cluster:// for Redis Cluster (the host is the seed node).
   */
  url: string;
  /** Redis Cluster, as the +cluster schemes say. */
  cluster?: boolean;
  /** TLS options for rediss:// (a private CA, a client certificate). */
  tls?: ConnectionOptions;
  /**
   * Called on each transition: up after being down, down after being up. Starts as up (the
   * first connection is awaited with ready(); a Redis that cannot be reached reports down).
   */
  onStateChange?(up: boolean, err?: string): void;
  /** Called when the script itself fails (a bug, not an outage); the take answers null. */
  onError?(err: string): void;
  /** The longest takeAll waits for Redis before answering null (default 250 ms). */
  timeoutMs?: number;
  /** Tests only: this clock instead of Redis's TIME, to replay a sequence exactly. */
  clock?: () => number;
}

/** `jr:{jr}:<algorithm>:<length of rule>:<rule>:<key>`: the length keeps rule and key apart whatever they contain. */
export function redisKey(rule: string, key: string, spec: LimitSpec): string {
  return `jr:{jr}:${effectiveAlgorithm(spec)}:${rule.length}:${rule}:${key}`;
}

function effectiveAlgorithm(spec: LimitSpec): string {
  return spec.algorithm === 'WarmUp' && !spec.warmUp ? 'TokenBucket' : spec.algorithm;
}

function specArgs(spec: LimitSpec): (string | number)[] {
  const s = saneSpec(spec);
  const w = s.warmUp ?? { periodMs: 0, coldFactor: 1 };
  const a = adaptiveBounds(s);
  const target = Number.isFinite(a.latencyTargetMs) ? a.latencyTargetMs : HUGE;
  return [effectiveAlgorithm(s), s.limit, s.periodMs, s.burst, w.periodMs, w.coldFactor, target, a.min, a.max, adaptiveStart(s)];
}

/** 17 significant digits: a double goes through Redis as a string and comes back the same. */
const num = (x: number): string => (Number.isFinite(x) ? x.toPrecision(17) : x > 0 ? String(HUGE) : String(NEVER));

type LimitsCommand = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

function scrub(message: string, secret: string | undefined): string {
  return secret ? message.split(secret).join('***') : message;
}

export class RedisLimits {
  readonly #client: Redis | Cluster;
  readonly #timeoutMs: number;
  readonly #clock: (() => number) | undefined;
  readonly #onStateChange: ((up: boolean, err?: string) => void) | undefined;
  readonly #onError: ((err: string) => void) | undefined;
  readonly #password: string | undefined;
  #up = true;
  /** Resolves the first time the connection is ready. */
  readonly #firstReady: Promise<void>;
  #markReady: () => void = () => {};
  #closed = false;

  constructor(opts: RedisLimitsOptions) {
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#clock = opts.clock;
    this.#onStateChange = opts.onStateChange;
    this.#onError = opts.onError;
    const url = new URL(opts.url);
    const cluster = opts.cluster === true || url.protocol.endsWith('+cluster:');
    const tls = url.protocol.startsWith('rediss') ? { ...opts.tls } : undefined;
    this.#password = url.password ? decodeURIComponent(url.password) : undefined;
    // Fail fast while down (no offline queue, no retries of a command, a short connect
    // timeout) and reconnect in the background with a capped backoff.
    const retry = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000);
    const redisOptions: RedisOptions = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 6379),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: this.#timeoutMs,
      retryStrategy: retry,
    };
    if (url.username) redisOptions.username = decodeURIComponent(url.username);
    if (this.#password !== undefined) redisOptions.password = this.#password;
    const db = url.pathname.slice(1);
    if (db && !cluster) redisOptions.db = Number(db);
    // ioredis does not turn TLS on from a rediss:// URL: it has to be asked.
    if (tls) redisOptions.tls = tls;
    this.#client = cluster
      ? new Cluster([{ host: redisOptions.host!, port: redisOptions.port! }], { enableOfflineQueue: false, clusterRetryStrategy: retry, redisOptions })
      : new Redis(redisOptions);
    this.#client.defineCommand('jrLimits', { lua: LIMITS_LUA });
    this.#client.defineCommand('jrBudget', { lua: BUDGET_LUA, numberOfKeys: 1 });
    this.#firstReady = new Promise((resolve) => (this.#markReady = resolve));
    this.#client.on('ready', () => {
      this.#markReady();
      this.#setUp(true);
    });
    this.#client.on('error', (err: Error) => this.#setUp(false, err.message));
    this.#client.on('close', () => this.#setUp(false, 'connection closed'));
  }

  #setUp(up: boolean, err?: string): void {
    if (this.#closed || up === this.#up) return;
    this.#up = up;
    if (up) this.#onStateChange?.(true);
    else this.#onStateChange?.(false, scrub(err ?? 'unavailable', this.#password));
  }

  #run(mode: 'take' | 'adjust' | 'observe', keys: string[], perItem: (string | number)[][]): Promise<unknown> {
    const args: (string | number)[] = [mode, this.#clock ? num(this.#clock()) : ''];
    for (const a of perItem) args.push(...a);
    return (this.#client as unknown as { jrLimits: LimitsCommand }).jrLimits(keys.length, ...keys, ...args);
  }

  #failed(err: unknown): void {
    const message = scrub(err instanceof Error ? err.message : String(err), this.#password);
    // A reply error is the script's (or a wrong server's) fault, not an outage.
    if (err instanceof Error && err.name === 'ReplyError') this.#onError?.(message);
    else this.#setUp(false, message);
  }

  /**
   * Decides every item in one round trip, all or nothing. null when Redis is unavailable or
   * slower than timeoutMs; never throws. `at` is Redis's time of the decision, for adjust().
   * When a rule refuses, the others' decisions still say whether they would have admitted.
   */
  async takeAll(items: ClusterItem[]): Promise<{ decisions: Decision[]; at: number } | null> {
    if (items.length === 0) return { decisions: [], at: this.#clock?.() ?? 0 };
    const reply = (await this.#answer(() =>
      this.#run(
        'take',
        items.map((i) => redisKey(i.rule, i.key, i.spec)),
        items.map((i) => [...specArgs(i.spec), num(i.amount), '']),
      ),
    )) as [number, number[][]] | null;
    return reply === null ? null : { at: reply[0], decisions: reply[1].map(toDecision) };
  }

  /**
   * A call's reply, or null when Redis is not ready, fails or is slower than timeoutMs (then it
   * is marked down); never throws. A reply marks it up.
   */
  async #answer<T>(call: () => Promise<T>): Promise<T | null> {
    if (this.#client.status !== 'ready') return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = call();
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), this.#timeoutMs);
        timer.unref();
      });
      const reply = await Promise.race([pending, timeout]);
      if (reply === null) {
        pending.catch(() => {}); // settles later; its outcome no longer matters
        this.#setUp(false, `no answer within ${this.#timeoutMs} ms`);
        return null;
      }
      this.#setUp(true);
      return reply;
    } catch (err) {
      this.#failed(err);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Settles earlier takes (charge delta > 0, refund < 0). Fire and forget: lost while Redis is down. */
  adjust(items: ClusterAdjustment[]): void {
    if (items.length === 0 || this.#client.status !== 'ready') return;
    this.#run(
      'adjust',
      items.map((i) => redisKey(i.rule, i.key, i.spec)),
      items.map((i) => [...specArgs(i.spec), num(i.delta), num(i.at)]),
    ).catch((err: unknown) => this.#failed(err));
  }

  /** Adaptive: the outcome of an admitted request. Fire and forget; a no-op for other algorithms. */
  observe(rule: string, key: string, spec: LimitSpec, latencyMs: number, throttled: boolean): void {
    if (spec.algorithm !== 'Adaptive' || this.#client.status !== 'ready') return;
    this.#run('observe', [redisKey(rule, key, spec)], [[...specArgs(spec), num(latencyMs), throttled ? '1' : '0']]).catch((err: unknown) =>
      this.#failed(err),
    );
  }

  /**
   * Tenant budgets in the same Redis: spend per key in millionths (integers), reserved only
   * while the total stays within the limit, in one atomic script.
   */
  budgetStore(): BudgetStore {
    const budget = (this.#client as unknown as { jrBudget: (key: string, mode: string, amount: number, limit: number, ttlMs: number) => Promise<[number, string]> }).jrBudget.bind(this.#client);
    const key = (k: string) => `jr:{jr}:budget:${k}`;
    return {
      reserve: async (k, amount, limit, ttlMs) => {
        const r = await this.#answer(() => budget(key(k), 'reserve', Math.round(amount), Math.round(limit), Math.ceil(ttlMs)));
        return r === null ? null : { ok: r[0] === 1, spent: Number(r[1]) };
      },
      add: (k, delta, ttlMs) => {
        if (this.#client.status !== 'ready') return;
        budget(key(k), 'add', Math.round(delta), 0, Math.ceil(ttlMs)).catch((err: unknown) => this.#failed(err));
      },
    };
  }

  /**
   * Plain strings with a time to live in the same Redis (the responses the gateway keeps,
   * responses/store.ts): each call answers undefined when Redis is not ready, fails or is slower
   * than timeoutMs.
   */
  keyValue(): KeyValue {
    const c = this.#client;
    return {
      get: async (k) => {
        // Boxed: a missing key's null is an answer, not #answer's "no answer".
        const r = await this.#answer(() => c.get(k).then((v) => ({ v })));
        return r === null ? undefined : r.v;
      },
      // #answer's null means no answer; the replies themselves are never null here.
      set: async (k, v, ttlMs) => (await this.#answer(() => c.set(k, v, 'PX', Math.max(1, Math.ceil(ttlMs))))) === 'OK',
      del: async (k) => {
        const r = await this.#answer(() => c.del(k));
        return r === null ? undefined : r > 0;
      },
    };
  }

  /** Whether Redis became ready within `timeoutMs` (the proxy waits for it before listening). */
  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([this.#firstReady.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}

function toDecision(r: number[]): Decision {
  const d: Decision = { allowed: r[0] === 1, delayMs: r[1]!, retryAfterMs: r[2]!, limit: r[3]!, remaining: r[4]!, resetMs: r[5]! };
  if (r[6] === 1) d.oversize = true;
  return d;
}
