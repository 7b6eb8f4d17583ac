import type { Balancer, PickInput } from './types.ts';

/** Weight of a sample below the current estimate; samples above it are taken at once (the "peak"). */
export const EWMA_ALPHA = 0.3;
/** Weight of a sample in the route-wide estimate used for endpoints not measured yet. */
const GLOBAL_ALPHA = 0.1;
/** A failure counts as this many times the worst of: its latency, its estimate, the route's. */
export const FAILURE_FACTOR = 2;
/** Cap on a penalised estimate, above any first-byte timeout, so recovery takes bounded time. */
export const MAX_ESTIMATE_MS = 120_000;
/** Each time an endpoint loses a comparison its estimate ages by this factor (see pick). */
export const LOSER_DECAY = 0.98;

/**
 * Peak-EWMA with power of two choices (Finagle, Linkerd): two distinct random candidates
 * are compared by (estimate + 1) * (in-flight + 1) and the lower wins, which prefers fast
 * endpoints without stampeding the fastest one. Estimates jump to any slower sample at once
 * and come down gradually; failures (a refused connection is fast but useless) raise them.
 *
 * There is no clock here, so estimates age by traffic instead of time: the loser of each
 * comparison decays a little, and a slow or penalised endpoint is re-measured after a number
 * of losses that grows only with the log of how much slower it was. An unmeasured candidate
 * with nothing in flight is picked first, one request at a time, so it gets measured.
 * O(1) per pick once every endpoint has been measured.
 */
export class LatencyBalancer implements Balancer {
  readonly #rng: () => number;
  readonly #estimate: Float64Array;
  readonly #measured: Uint8Array;
  #unmeasured: number;
  /** Route-wide estimate: the prior for unmeasured endpoints and the floor of a penalty. */
  #global = 0;
  #anyMeasured = false;

  constructor(size: number, rng: () => number) {
    this.#rng = rng;
    this.#estimate = new Float64Array(size);
    this.#measured = new Uint8Array(size);
    this.#unmeasured = size;
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    const k = c.length;
    if (k <= 1) return c[0] ?? -1;
    const load = input.inflight;
    if (this.#unmeasured > 0) {
      for (let j = 0; j < k; j++) {
        const i = c[j]!;
        if (this.#measured[i] === 0 && (load[i] ?? 0) === 0) return i;
      }
    }
    // Two distinct positions, uniformly: draw the second from the k-1 others.
    const ja = Math.min(Math.floor(this.#rng() * k), k - 1);
    let jb = Math.min(Math.floor(this.#rng() * (k - 1)), k - 2);
    if (jb >= ja) jb++;
    const a = c[ja]!;
    const b = c[jb]!;
    if (this.#score(a, load) <= this.#score(b, load)) {
      this.#estimate[b] = this.#estimate[b]! * LOSER_DECAY;
      return a;
    }
    this.#estimate[a] = this.#estimate[a]! * LOSER_DECAY;
    return b;
  }

  observe(index: number, latencyMs: number, ok: boolean): void {
    // Feedback can arrive for an index of an older, larger config, or carry garbage: ignore it.
    if (!Number.isInteger(index) || index < 0 || index >= this.#estimate.length || !(latencyMs >= 0)) return;
    const measured = this.#measured[index] === 1;
    const prev = this.#estimate[index]!;
    let next: number;
    if (!ok) {
      next = Math.min(Math.max(measured ? prev : 0, latencyMs, this.#global, 1) * FAILURE_FACTOR, MAX_ESTIMATE_MS);
    } else if (!measured || latencyMs >= prev) {
      next = Math.min(latencyMs, MAX_ESTIMATE_MS);
    } else {
      next = prev + EWMA_ALPHA * (latencyMs - prev);
    }
    this.#estimate[index] = next;
    if (!measured) {
      this.#measured[index] = 1;
      this.#unmeasured--;
    }
    if (ok) {
      this.#global = this.#anyMeasured ? this.#global + GLOBAL_ALPHA * (latencyMs - this.#global) : latencyMs;
      this.#anyMeasured = true;
    }
  }

  #score(i: number, load: ArrayLike<number>): number {
    const estimate = this.#measured[i] === 1 ? this.#estimate[i]! : this.#global;
    return (estimate + 1) * ((load[i] ?? 0) + 1);
  }
}
