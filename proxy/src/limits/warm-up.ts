// WarmUp: Guava's SmoothWarmingUp as a Limiter (createLimiter in algorithms.ts builds it).
import type { Decision, LimitSpec, Limiter } from './algorithms.ts';
import { EPS, allow, positive, refuse, waitMs } from './decision.ts';

/**
 * Guava's SmoothWarmingUp, with a bucket of capacity limit + burst at the full rate in front.
 *
 * Guava's model: "stored permits" measure coldness. They accumulate while the limiter is
 * unused (maxPermits of them over warmUp.periodMs) and each one taken costs an interval that
 * grows linearly from the stable interval (below thresholdPermits) to stable x coldFactor
 * (at maxPermits), so a cold limiter runs at rate/coldFactor and reaches the full rate after
 * warmUp.periodMs of saturated use. As in Guava the cost is paid after admission: the first
 * request after idle passes, the next ones wait for its cold price.
 *
 * In GCRA form: `tat` is when the paid-for time ends; a take of n is admitted when
 * (tat - now) + n x stable <= (limit + burst) x stable, i.e. the bucket, priced at the full
 * rate, has room for it. Checking at the full-rate price and charging the cold price keeps a
 * request of up to the whole capacity admissible when cold (otherwise a cold limiter could
 * refuse a large token request forever, as nothing would warm it).
 */
export class WarmUp implements Limiter {
  readonly #limit: number;
  readonly #cap: number;
  readonly #stable: number;
  readonly #threshold: number;
  readonly #maxPermits: number;
  readonly #slope: number;
  readonly #coolDown: number;
  #stored: number;
  #tat: number;

  constructor(spec: LimitSpec, warmUp: { periodMs: number; coldFactor: number }, now: number) {
    const w = warmUpShape(spec, warmUp);
    this.#limit = spec.limit;
    this.#cap = spec.limit + spec.burst;
    this.#stable = w.stable;
    this.#threshold = w.threshold;
    this.#maxPermits = w.maxPermits;
    this.#slope = w.slope;
    this.#coolDown = w.coolDown;
    this.#stored = w.maxPermits; // Guava starts cold
    this.#tat = now;
  }

  /** Time to take permits 0..x of the stored ones (the integral of the interval). */
  #integral(x: number): number {
    const above = x - this.#threshold;
    return this.#stable * x + (above > 0 ? (this.#slope * above * above) / 2 : 0);
  }

  /** Time n units cost with `stored` permits of coldness: the stored ones first, as Guava. */
  #cost(stored: number, n: number): number {
    const fromStored = Math.min(n, stored);
    return this.#integral(stored) - this.#integral(stored - fromStored) + (n - fromStored) * this.#stable;
  }

  #sync(now: number): void {
    if (now > this.#tat) {
      this.#stored = Math.min(this.#maxPermits, this.#stored + (now - this.#tat) / this.#coolDown);
      this.#tat = now;
    }
  }

  #remaining(now: number): number {
    const room = this.#cap * this.#stable - (this.#tat - now);
    // k units in a row are admitted while cost(k - 1) + stable <= room; cost is increasing in k.
    let lo = 0;
    let hi = Math.floor(this.#cap + EPS);
    while (lo < hi) {
      const k = Math.ceil((lo + hi) / 2);
      if (this.#cost(this.#stored, k - 1) + this.#stable <= room + EPS) lo = k;
      else hi = k - 1;
    }
    return lo;
  }

  take(now: number, amount: number): Decision {
    // A refusal leaves the state as it was (see TokenBucket.snapshot).
    const stored = this.#stored;
    const tat = this.#tat;
    const refused = (d: Decision): Decision => {
      this.#stored = stored;
      this.#tat = tat;
      return d;
    };
    this.#sync(now);
    const n = positive(amount);
    const ahead = this.#tat - now;
    if (n > this.#cap) return refused(refuse(this.#limit, this.#remaining(now), ahead, ahead, true));
    const over = ahead + n * this.#stable - this.#cap * this.#stable;
    if (over > EPS) {
      const excess = (n - this.#cap) * this.#stable;
      return refused(refuse(this.#limit, this.#remaining(now), ahead, waitMs(over, (w) => Math.max(0, ahead - w) + excess <= EPS)));
    }
    this.#charge(n);
    return allow(this.#limit, this.#remaining(now), this.#tat - now);
  }

  #charge(n: number): void {
    const fromStored = Math.min(n, this.#stored);
    this.#tat += this.#cost(this.#stored, n);
    this.#stored -= fromStored;
  }

  /** A refund gives the units back as stored permits: the exact inverse of the take that consumed them. */
  adjust(now: number, _at: number, delta: number): void {
    this.#sync(now);
    if (delta > 0) {
      this.#charge(delta);
      return;
    }
    const n = -delta;
    const back = Math.min(n, this.#maxPermits - this.#stored);
    const time = this.#integral(this.#stored + back) - this.#integral(this.#stored) + (n - back) * this.#stable;
    this.#stored += back;
    this.#tat = Math.max(now, this.#tat - time);
  }

  observe(): void {}

  idle(now: number): boolean {
    const stored = this.#stored + Math.max(0, now - this.#tat) / this.#coolDown;
    return this.#tat <= now + EPS && stored >= this.#maxPermits - EPS;
  }
}

/** Guava's SmoothWarmingUp parameters, in ms and units; exported for the Lua side's tests. */
export function warmUpShape(spec: LimitSpec, warmUp: { periodMs: number; coldFactor: number }): {
  stable: number;
  threshold: number;
  maxPermits: number;
  slope: number;
  coolDown: number;
} {
  const stable = spec.periodMs / spec.limit;
  const cold = stable * warmUp.coldFactor;
  const threshold = (0.5 * warmUp.periodMs) / stable;
  const maxPermits = threshold + (2 * warmUp.periodMs) / (stable + cold);
  return { stable, threshold, maxPermits, slope: (cold - stable) / (maxPermits - threshold), coolDown: warmUp.periodMs / maxPermits };
}

