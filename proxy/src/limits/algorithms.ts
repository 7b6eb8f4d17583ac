/**
 * The six rate-limit algorithms of a RateLimitPolicy rule, as pure state machines over a
 * clock the caller passes in (milliseconds of any monotonic clock). docs/limits-algorithms.md
 * states the semantics and formulas; redis-scripts.ts runs the same formulas in Lua for Cluster scope,
 * so a change here is a change there.
 *
 * Hand-written rather than taken from a library: the npm limiters (limiter, bottleneck,
 * rate-limiter-flexible) read the wall clock, have no reserve-then-settle for token limits,
 * and none offers warm-up or AIMD, so their semantics could not be matched in the Lua script.
 *
 * All state is a few numbers per key (no logs), so 100,000 keys cost a few MB.
 */

import { EPS, allow, positive, refuse, waitMs } from './decision.ts';
import { WarmUp } from './warm-up.ts';

export { warmUpShape } from './warm-up.ts';

export type Algorithm = 'TokenBucket' | 'LeakyBucket' | 'SlidingWindow' | 'FixedWindow' | 'WarmUp' | 'Adaptive';

export interface LimitSpec {
  algorithm: Algorithm;
  /** Requests or tokens allowed per period (>= 1). */
  limit: number;
  /** > 0. */
  periodMs: number;
  /** 0 when unset. TokenBucket, LeakyBucket, WarmUp and Adaptive use it; the windows ignore it. */
  burst: number;
  /** WarmUp only, coldFactor >= 1. */
  warmUp?: { periodMs: number; coldFactor: number };
  /** Adaptive only. */
  adaptive?: { latencyTargetMs: number; min: number; max: number };
}

export interface Decision {
  allowed: boolean;
  /** Admitted but must wait this long first (LeakyBucket queueing); 0 otherwise. */
  delayMs: number;
  /** Refused: ms until `amount` could be admitted (>= 1 when refused; 0 when allowed). */
  retryAfterMs: number;
  /** The per-period limit (x-ratelimit-limit-*); for Adaptive its current value. */
  limit: number;
  /** What is left after this decision, integer >= 0. */
  remaining: number;
  /** ms until the counter is back to its full/empty state (x-ratelimit-reset-*). */
  resetMs: number;
  /**
   * Set on a refusal when `amount` exceeds what the rule can admit at once (the bucket's
   * capacity, the window's limit, Adaptive's current L + burst): waiting does not help, and
   * retryAfterMs is then only the time until the limiter is back to full.
   */
  oversize?: true;
}

export interface Limiter {
  /** amount: 1 for request limits, estimated tokens for token limits. A refusal charges nothing. */
  take(now: number, amount: number): Decision;
  /**
   * Settle an admitted take made at time `at`: delta > 0 charges more (even into debt),
   * delta < 0 refunds (never below empty). adjust(now, at, -amount) undoes a take.
   */
  adjust(now: number, at: number, delta: number): void;
  /** Adaptive: the outcome of an admitted request; no-op elsewhere. */
  observe(now: number, latencyMs: number, upstreamThrottled: boolean): void;
  /** The state is the same as a fresh limiter's: safe to forget. */
  idle(now: number): boolean;
}

/**
 * Slack in comparisons of fractional tokens and milliseconds, so that float rounding of
 * `elapsed * rate` never refuses a caller that waited exactly retryAfterMs. It can grant at
 * most 1e-6 of a unit per decision.
 */

/** Adaptive: the multiplicative decrease. */
export const ADAPTIVE_DECREASE_FACTOR = 0.5;
/** Adaptive: at most one decrease per this interval (ms). */
export function adaptiveDecreaseIntervalMs(latencyTargetMs: number): number {
  return Math.max(1000, 2 * latencyTargetMs);
}
/**
 * Adaptive: without any observe() for this long (ms), the limit is back at its start value.
 * Never shorter than the decrease interval, so that a limiter that forgot is a fresh one.
 */
export function adaptiveMemoryMs(periodMs: number, latencyTargetMs: number): number {
  return Math.max(60_000, 10 * periodMs, adaptiveDecreaseIntervalMs(latencyTargetMs));
}
/** Adaptive: the starting limit, the rule's limit clamped into [min, max]. */
export function adaptiveStart(spec: LimitSpec): number {
  const a = adaptiveBounds(spec);
  return Math.min(a.max, Math.max(a.min, Math.round(spec.limit)));
}
/** Adaptive: min and max as enforced (integers, 1 <= min <= max); without `adaptive`, both are the limit. */
export function adaptiveBounds(spec: LimitSpec): { latencyTargetMs: number; min: number; max: number } {
  const a = spec.adaptive ?? { latencyTargetMs: Infinity, min: spec.limit, max: spec.limit };
  const min = Math.max(1, Math.round(a.min));
  return { latencyTargetMs: a.latencyTargetMs, min, max: Math.max(min, Math.round(a.max)) };
}

/**
 * The largest amount one take can ever be admitted for: limit + burst for the buckets,
 * limit for the windows, Infinity for LeakyBucket (a lone request of any size is admitted
 * into an empty queue), max + burst for Adaptive.
 */
export function capacity(spec: LimitSpec): number {
  switch (spec.algorithm) {
    case 'TokenBucket':
    case 'WarmUp':
      return spec.limit + spec.burst;
    case 'Adaptive':
      return adaptiveBounds(spec).max + spec.burst;
    case 'LeakyBucket':
      return Infinity;
    case 'SlidingWindow':
    case 'FixedWindow':
      return spec.limit;
  }
}

/**
 * Problems that make a spec meaningless (compile() should refuse such rules). createLimiter
 * does not throw on them, as it runs on the request path: it clamps to the nearest sane value.
 */
export function specProblems(spec: LimitSpec): string[] {
  const p: string[] = [];
  if (!(spec.limit >= 1)) p.push('limit must be >= 1');
  if (!(spec.periodMs > 0)) p.push('periodMs must be > 0');
  if (!(spec.burst >= 0)) p.push('burst must be >= 0');
  if (spec.algorithm === 'WarmUp') {
    if (!spec.warmUp) p.push('WarmUp needs warmUp');
    else {
      if (!(spec.warmUp.periodMs > 0)) p.push('warmUp.periodMs must be > 0');
      if (!(spec.warmUp.coldFactor >= 1)) p.push('warmUp.coldFactor must be >= 1');
    }
  }
  if (spec.algorithm === 'Adaptive') {
    if (!spec.adaptive) p.push('Adaptive needs adaptive');
    else if (!(spec.adaptive.min >= 1 && spec.adaptive.min <= spec.adaptive.max)) p.push('adaptive needs 1 <= min <= max');
  }
  return p;
}

/** The spec createLimiter runs (clamped as specProblems describes); redis.ts sends the same to Lua. */
export function saneSpec(spec: LimitSpec): LimitSpec {
  const s: LimitSpec = {
    algorithm: spec.algorithm,
    limit: spec.limit >= 1 ? spec.limit : 1,
    periodMs: spec.periodMs > 0 ? spec.periodMs : 1,
    burst: spec.burst > 0 ? spec.burst : 0,
  };
  if (spec.warmUp) s.warmUp = { periodMs: spec.warmUp.periodMs > 0 ? spec.warmUp.periodMs : 1, coldFactor: spec.warmUp.coldFactor >= 1 ? spec.warmUp.coldFactor : 1 };
  if (spec.adaptive) s.adaptive = spec.adaptive;
  return s;
}

export function createLimiter(spec: LimitSpec, now: number): Limiter {
  const s = saneSpec(spec);
  switch (s.algorithm) {
    case 'TokenBucket':
      return new TokenBucket(s.limit, s.periodMs, s.burst, now);
    case 'LeakyBucket':
      return new LeakyBucket(s, now);
    case 'SlidingWindow':
      return new SlidingWindow(s);
    case 'FixedWindow':
      return new FixedWindow(s);
    case 'WarmUp':
      return s.warmUp ? new WarmUp(s, s.warmUp, now) : new TokenBucket(s.limit, s.periodMs, s.burst, now);
    case 'Adaptive':
      return new Adaptive(s, now);
  }
}

/**
 * Capacity `limit + burst`, refilled continuously at limit/periodMs, starting full.
 * Tokens go negative when adjust() charges more than is left: usage that happened counts.
 */
class TokenBucket implements Limiter {
  #limit: number;
  #cap: number;
  #rate: number;
  #tokens: number;
  #t: number;

  constructor(limit: number, periodMs: number, burst: number, now: number) {
    this.#limit = limit;
    this.#cap = limit + burst;
    this.#rate = limit / periodMs;
    this.#tokens = this.#cap;
    this.#t = now;
  }

  #refill(now: number): void {
    if (now > this.#t) {
      this.#tokens = Math.min(this.#cap, this.#tokens + (now - this.#t) * this.#rate);
      this.#t = now;
    }
  }

  /** Adaptive: a new limit; tokens already earned stay, up to the new capacity. */
  resize(now: number, limit: number, periodMs: number, burst: number): void {
    this.#refill(now);
    this.#limit = limit;
    this.#cap = limit + burst;
    this.#rate = limit / periodMs;
    this.#tokens = Math.min(this.#tokens, this.#cap);
  }

  get limit(): number {
    return this.#limit;
  }

  take(now: number, amount: number): Decision {
    const saved = this.snapshot();
    this.#refill(now);
    const n = positive(amount);
    const tokens = this.#tokens;
    const toFull = (this.#cap - tokens) / this.#rate;
    if (tokens + EPS >= n && n <= this.#cap) {
      this.#tokens -= n;
      return allow(this.#limit, this.#tokens, (this.#cap - this.#tokens) / this.#rate);
    }
    this.restore(saved);
    if (n > this.#cap) return refuse(this.#limit, tokens, toFull, toFull, true);
    const retry = waitMs((n - tokens) / this.#rate, (w) => Math.min(this.#cap, tokens + w * this.#rate) + EPS >= n);
    return refuse(this.#limit, tokens, toFull, retry);
  }

  /**
   * A refused take leaves the state as it was, refill included: the Lua script writes
   * nothing on a refusal, and refilling in two steps instead of one rounds differently.
   */
  snapshot(): [number, number, number, number, number] {
    return [this.#limit, this.#cap, this.#rate, this.#tokens, this.#t];
  }

  restore(s: [number, number, number, number, number]): void {
    [this.#limit, this.#cap, this.#rate, this.#tokens, this.#t] = s;
  }

  adjust(now: number, _at: number, delta: number): void {
    this.#refill(now);
    this.#tokens = delta > 0 ? this.#tokens - delta : Math.min(this.#cap, this.#tokens - delta);
  }

  observe(): void {}

  idle(now: number): boolean {
    return this.#tokens + Math.max(0, now - this.#t) * this.#rate >= this.#cap - EPS;
  }
}

/**
 * GCRA (virtual scheduling). Each unit occupies T = periodMs/limit of the bucket's drain
 * time; `tat` is when everything admitted so far has drained. A take waits for what is
 * ahead of it (delay = tat - now) and is refused when that exceeds burst * T, i.e. more
 * than `burst` units are queued ahead of it (as nginx's limit_req with burst, without nodelay).
 */
class LeakyBucket implements Limiter {
  readonly #limit: number;
  readonly #burst: number;
  readonly #interval: number;
  #tat: number;

  constructor(spec: LimitSpec, now: number) {
    this.#limit = spec.limit;
    this.#burst = spec.burst;
    this.#interval = spec.periodMs / spec.limit;
    this.#tat = now;
  }

  /** How many 1-unit takes in a row would be admitted now. */
  #remaining(now: number): number {
    const ahead = Math.max(0, this.#tat - now) / this.#interval;
    return ahead > this.#burst + EPS ? 0 : Math.floor(this.#burst - ahead + EPS) + 1;
  }

  take(now: number, amount: number): Decision {
    const n = positive(amount);
    const start = Math.max(this.#tat, now);
    const wait = start - now;
    const tolerance = this.#burst * this.#interval;
    if (wait > tolerance + EPS) return refuse(this.#limit, 0, wait, waitMs(wait - tolerance, (w) => wait - w <= tolerance + EPS));
    this.#tat = start + n * this.#interval;
    return allow(this.#limit, this.#remaining(now), this.#tat - now, Math.max(0, Math.ceil(wait - EPS)));
  }

  adjust(now: number, _at: number, delta: number): void {
    if (delta > 0) this.#tat = Math.max(this.#tat, now) + delta * this.#interval;
    else this.#tat = Math.max(now, this.#tat + delta * this.#interval);
  }

  observe(): void {}

  idle(now: number): boolean {
    return this.#tat <= now + EPS;
  }
}

/**
 * Counts per window aligned to multiples of periodMs. `counts` is where the window of `at`
 * stands for adjust(): a charge for a window that has passed goes to the current one (the
 * usage happened and is not forgiven), a refund for it is dropped (that window is over).
 */
class FixedWindow implements Limiter {
  readonly #limit: number;
  readonly #period: number;
  #window = -Infinity;
  #count = 0;

  constructor(spec: LimitSpec) {
    this.#limit = spec.limit;
    this.#period = spec.periodMs;
  }

  #roll(now: number): void {
    const w = Math.floor(now / this.#period);
    if (w > this.#window) {
      this.#window = w;
      this.#count = 0;
    }
  }

  take(now: number, amount: number): Decision {
    this.#roll(now);
    const n = positive(amount);
    const toNext = (this.#window + 1) * this.#period - now;
    const left = this.#limit - this.#count;
    if (n > this.#limit) return refuse(this.#limit, left, this.#count > 0 ? toNext : 0, toNext, true);
    if (this.#count + n <= this.#limit + EPS) {
      this.#count += n;
      return allow(this.#limit, this.#limit - this.#count, this.#count > 0 ? toNext : 0);
    }
    return refuse(this.#limit, left, toNext, waitMs(toNext, (w) => Math.floor((now + w) / this.#period) > this.#window));
  }

  adjust(now: number, at: number, delta: number): void {
    this.#roll(now);
    const sameWindow = Math.floor(at / this.#period) === this.#window;
    if (delta > 0) this.#count += delta;
    else if (sameWindow) this.#count = Math.max(0, this.#count + delta);
  }

  observe(): void {}

  idle(now: number): boolean {
    return this.#count <= 0 || Math.floor(now / this.#period) > this.#window;
  }
}

/**
 * The weighted two-window approximation (Cloudflare's): the previous aligned window's count
 * weighted by the part of it still inside the sliding window, plus the current count.
 * O(1) state per key, where a sliding log would keep one timestamp per admitted request
 * (100k keys x limit timestamps). It assumes the previous window's requests were spread
 * evenly; see the docs for what that allows.
 */
class SlidingWindow implements Limiter {
  readonly #limit: number;
  readonly #period: number;
  #window = -Infinity;
  #prev = 0;
  #cur = 0;

  constructor(spec: LimitSpec) {
    this.#limit = spec.limit;
    this.#period = spec.periodMs;
  }

  #roll(now: number): void {
    const w = Math.floor(now / this.#period);
    if (w === this.#window + 1) {
      this.#prev = this.#cur;
      this.#cur = 0;
      this.#window = w;
    } else if (w > this.#window) {
      this.#prev = 0;
      this.#cur = 0;
      this.#window = w;
    }
  }

  /** prev weighted by the share of its window still inside [now - period, now]; `now` may be later than the last roll. */
  #estimate(now: number): number {
    const w = Math.floor(now / this.#period);
    const elapsed = now - w * this.#period;
    if (w === this.#window) return (this.#prev * (this.#period - elapsed)) / this.#period + this.#cur;
    if (w === this.#window + 1) return (this.#cur * (this.#period - elapsed)) / this.#period;
    return 0;
  }

  /** ms until the estimate is 0: the end of the next window if the current one counts. */
  #reset(now: number): number {
    const end = (this.#window + 1) * this.#period;
    if (this.#cur > 0) return end + this.#period - now;
    return this.#prev > 0 ? end - now : 0;
  }

  /** Earliest wait after which `n` fits; the estimate only decreases while nothing is admitted. */
  #retryAfter(now: number, n: number): number {
    const start = this.#window * this.#period;
    const room = this.#limit - n - this.#cur;
    if (room >= 0 && this.#prev > 0) {
      // prev * (P - e) / P <= room  <=>  e >= P * (1 - room / prev)
      return start + this.#period * (1 - room / this.#prev) - now;
    }
    // Not in this window: in the next one the current count becomes the weighted one.
    const next = start + this.#period;
    const roomNext = this.#limit - n;
    if (this.#cur <= roomNext) return next - now;
    return next + this.#period * (1 - roomNext / this.#cur) - now;
  }

  take(now: number, amount: number): Decision {
    this.#roll(now);
    const n = positive(amount);
    const est = this.#estimate(now);
    if (n > this.#limit) return refuse(this.#limit, this.#limit - est, this.#reset(now), this.#reset(now), true);
    if (est + n <= this.#limit + EPS) {
      this.#cur += n;
      return allow(this.#limit, this.#limit - est - n, this.#reset(now));
    }
    const retry = waitMs(this.#retryAfter(now, n), (w) => this.#estimate(now + w) + n <= this.#limit + EPS);
    return refuse(this.#limit, this.#limit - est, this.#reset(now), retry);
  }

  adjust(now: number, at: number, delta: number): void {
    this.#roll(now);
    const w = Math.floor(at / this.#period);
    if (w === this.#window) this.#cur = Math.max(0, this.#cur + delta);
    else if (w === this.#window - 1) this.#prev = Math.max(0, this.#prev + delta);
    else if (delta > 0) this.#cur += delta;
  }

  observe(): void {}

  idle(now: number): boolean {
    this.#roll(now);
    return this.#prev <= 0 && this.#cur <= 0;
  }
}

/**
 * A token bucket of L per periodMs (+ burst), with L moved by AIMD between min and max:
 * observe() of a slow (> latencyTarget) or throttled answer halves L, at most once per
 * adaptiveDecreaseIntervalMs (answers already on their way when L dropped say nothing new);
 * any other answer adds 1. L starts at the rule's limit clamped into [min, max] and returns
 * there after adaptiveMemoryMs without observations: what was learned about an upstream goes stale.
 */
class Adaptive implements Limiter {
  readonly #spec: LimitSpec;
  readonly #start: number;
  readonly #bounds: { latencyTargetMs: number; min: number; max: number };
  readonly #memory: number;
  readonly #decreaseInterval: number;
  readonly #bucket: TokenBucket;
  #lastDecrease = -Infinity;
  #lastObserve = -Infinity;

  constructor(spec: LimitSpec, now: number) {
    this.#spec = spec;
    this.#bounds = adaptiveBounds(spec);
    this.#start = adaptiveStart(spec);
    this.#memory = adaptiveMemoryMs(spec.periodMs, this.#bounds.latencyTargetMs);
    this.#decreaseInterval = adaptiveDecreaseIntervalMs(this.#bounds.latencyTargetMs);
    this.#bucket = new TokenBucket(this.#start, spec.periodMs, spec.burst, now);
  }

  #setLimit(now: number, l: number): void {
    if (l !== this.#bucket.limit) this.#bucket.resize(now, l, this.#spec.periodMs, this.#spec.burst);
  }

  #forgetIfStale(now: number): void {
    if (now - this.#lastObserve >= this.#memory) this.#setLimit(now, this.#start);
  }

  get current(): number {
    return this.#bucket.limit;
  }

  take(now: number, amount: number): Decision {
    const saved = this.#bucket.snapshot();
    this.#forgetIfStale(now);
    // Over the current L + burst is oversize: only a larger L would admit it, and no wait promises that.
    const d = this.#bucket.take(now, amount);
    if (!d.allowed) this.#bucket.restore(saved);
    return d;
  }

  adjust(now: number, at: number, delta: number): void {
    this.#forgetIfStale(now);
    this.#bucket.adjust(now, at, delta);
  }

  observe(now: number, latencyMs: number, upstreamThrottled: boolean): void {
    this.#forgetIfStale(now);
    this.#lastObserve = now;
    const l = this.#bucket.limit;
    if (upstreamThrottled || latencyMs > this.#bounds.latencyTargetMs) {
      if (now - this.#lastDecrease < this.#decreaseInterval) return;
      this.#lastDecrease = now;
      this.#setLimit(now, Math.max(this.#bounds.min, Math.floor(l * ADAPTIVE_DECREASE_FACTOR)));
    } else {
      this.#setLimit(now, Math.min(this.#bounds.max, l + 1));
    }
  }

  idle(now: number): boolean {
    const stale = now - this.#lastObserve >= this.#memory;
    const settled = stale || (this.#bucket.limit === this.#start && now - this.#lastDecrease >= this.#decreaseInterval);
    return settled && this.#bucket.idle(now);
  }
}
