import type { BalanceEndpoint, Balancer, PickInput } from './types.ts';

/**
 * Weights as the strategies use them: non-finite or negative count as 0 (drained). If every
 * endpoint is drained, all count as 1: a route whose weights are all 0 still has to serve.
 */
export function effectiveWeights(endpoints: readonly BalanceEndpoint[]): Float64Array {
  const w = new Float64Array(endpoints.length);
  let anyPositive = false;
  for (let i = 0; i < endpoints.length; i++) {
    const x = endpoints[i]!.weight;
    if (Number.isFinite(x) && x > 0) {
      w[i] = x;
      anyPositive = true;
    }
  }
  if (!anyPositive) w.fill(1);
  return w;
}

/**
 * Hides weight-0 candidates from the inner strategy while a positive-weight candidate remains,
 * so "weight 0 = drain" holds for every strategy without each one re-implementing it. Only
 * routes that mix 0 and positive weights pay for it (createBalancer wraps only those); when
 * the candidates are all drained, they are passed through so the request is still served.
 */
export class DrainFilter implements Balancer {
  readonly #inner: Balancer;
  readonly #weights: Float64Array;
  /** Reused for every filtered pick: the strategies never keep a reference to candidates. */
  readonly #scratch: number[] = [];
  readonly #input: { candidates: readonly number[]; hashValue: string; inflight: ArrayLike<number> };

  constructor(inner: Balancer, weights: Float64Array) {
    this.#inner = inner;
    this.#weights = weights;
    this.#input = { candidates: this.#scratch, hashValue: '', inflight: weights };
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    const w = this.#weights;
    let drained = 0;
    for (let j = 0; j < c.length; j++) if (!(w[c[j]!]! > 0)) drained++;
    if (drained === 0 || drained === c.length) return this.#inner.pick(input);
    const s = this.#scratch;
    s.length = 0;
    for (let j = 0; j < c.length; j++) if (w[c[j]!]! > 0) s.push(c[j]!);
    const inner = this.#input;
    inner.hashValue = input.hashValue;
    inner.inflight = input.inflight;
    return this.#inner.pick(inner);
  }

  observe(index: number, latencyMs: number, ok: boolean): void {
    this.#inner.observe?.(index, latencyMs, ok);
  }
}
