import { createLimiter, type LimitSpec, type Limiter } from './algorithms.ts';

export interface LimiterTableOptions {
  /** Most keys held at once (default 100,000). */
  maxEntries?: number;
  /** When full, a sweep runs at most this often (default 1,000 ms): a sweep is O(entries). */
  minSweepIntervalMs?: number;
}

/**
 * The limiters of one rule, one per key string, created on demand. Memory is bounded:
 * idle limiters (equal to fresh ones) are dropped by sweep(), and when the table is full
 * and a sweep frees nothing, the least recently used key is evicted. An evicted key that
 * comes back starts fresh, so under a flood of distinct keys the rule errs towards
 * admitting the least active keys rather than refusing new ones or growing without bound.
 * Map keeps insertion order; get() re-inserts a key to keep that order "least recent first".
 */
export class LimiterTable {
  readonly spec: LimitSpec;
  readonly #max: number;
  readonly #minSweepInterval: number;
  readonly #limiters = new Map<string, Limiter>();
  #lastSweep = -Infinity;
  /** Keys evicted while not idle, since the table was made (a metric for the wiring). */
  evictions = 0;

  constructor(spec: LimitSpec, opts: LimiterTableOptions = {}) {
    this.spec = spec;
    this.#max = Math.max(1, opts.maxEntries ?? 100_000);
    this.#minSweepInterval = opts.minSweepIntervalMs ?? 1000;
  }

  get size(): number {
    return this.#limiters.size;
  }

  get(key: string, now: number): Limiter {
    const found = this.#limiters.get(key);
    if (found) {
      // Recency only matters once eviction may come: below half full, a hit costs one lookup.
      if (this.#limiters.size * 2 >= this.#max) {
        this.#limiters.delete(key);
        this.#limiters.set(key, found);
      }
      return found;
    }
    if (this.#limiters.size >= this.#max) this.#makeRoom(now);
    const limiter = createLimiter(this.spec, now);
    this.#limiters.set(key, limiter);
    return limiter;
  }

  /** The limiter of `key` if one is held, without creating or touching it. */
  peek(key: string): Limiter | undefined {
    return this.#limiters.get(key);
  }

  /** Drops the limiters that are idle at `now`; returns how many. */
  sweep(now: number): number {
    this.#lastSweep = now;
    let dropped = 0;
    for (const [key, limiter] of this.#limiters) {
      if (limiter.idle(now)) {
        this.#limiters.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  #makeRoom(now: number): void {
    if (now - this.#lastSweep >= this.#minSweepInterval) this.sweep(now);
    while (this.#limiters.size >= this.#max) {
      const oldest = this.#limiters.keys().next();
      if (oldest.done) return;
      const limiter = this.#limiters.get(oldest.value);
      if (limiter && !limiter.idle(now)) this.evictions++;
      this.#limiters.delete(oldest.value);
    }
  }
}
