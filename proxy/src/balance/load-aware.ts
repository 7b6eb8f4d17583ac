import type { EngineSignals } from '../engine/signals.ts';
import { hash32 } from './hash.ts';
import { isCandidate } from './ip-hash.ts';
import { ringStart, vnodeCounts } from './consistent-hash.ts';
import type { BalanceEndpoint, Balancer, PickInput } from './types.ts';

/** What LoadAware reads of an endpoint besides the in-flight count: its engine's last reading. */
export interface EngineView {
  readonly engine: EngineSignals | null;
}

export interface LoadAwareSettings {
  weights: { queue: number; running: number; kvCache: number; latency: number };
  /** Absent: no prefix affinity. */
  prefixAffinity?: { epsilon: number };
  /** A reading older than this is not trusted (three scrape intervals). */
  staleAfterMs: number;
  /**
   * Gateway replicas sharing the engines (the operator reports them; 1 standalone): since the
   * last reading, each other replica is assumed to have sent an endpoint as many requests as
   * this one (they hash prefixes to the same endpoints).
   */
  replicas?: () => number;
}

/** KV-cache usage from which an engine counts as queueing (it admits little more). */
const FULL_KV = 0.9;

/** Weight of a new time-to-first-byte sample in the per-endpoint average. */
const EWMA_ALPHA = 0.2;

/**
 * LoadAware: picks the endpoint with the lowest load score, made from what the engine reports
 * and what the gateway sees itself (docs/routing.md has the formula):
 *
 *   score = queue * (waiting + sent) + running * running + kvCache * kvUsage + latency * (ttfb / fastest ttfb - 1)
 *
 * where `sent` is the requests this proxy has sent the endpoint since the engine's reading (the
 * reading cannot show them yet; fewer in flight than then counts as 0). Without a fresh reading
 * (none, or older than `staleAfterMs`) an endpoint is scored by the gateway's own view: its
 * in-flight requests count as running, nothing as waiting or cached.
 *
 * LoRA: when some candidates' engines run the requested model as a LoRA adapter, only those are
 * considered (unless every one of them is over the load bound below).
 *
 * Prefix affinity (hashValue = the prompt's shared prefix, http/request-keys.ts): consistent
 * hashing with bounded loads. The key goes to the first endpoint clockwise on a hash ring whose
 * load (waiting + running + sent, or in-flight without a reading) plus this request stays within
 * ceil((1 + epsilon) * (total load + 1) / candidates); one over it passes the key on. Requests
 * sharing a system prompt so meet its KV blocks in one engine's prefix cache, and no endpoint
 * takes more than its bounded share. Without a key (a prompt shorter than one block) the score
 * decides. Allocation-free per pick: buffers are sized once per route.
 */
export class LoadAwareBalancer implements Balancer {
  readonly #views: readonly (EngineView | undefined)[];
  readonly #s: LoadAwareSettings;
  readonly #now: () => number;
  readonly #ewma: Float64Array;
  readonly #load: Float64Array;
  /** Requests the engine's reading shows waiting (0 without a fresh reading). */
  readonly #queued: Float64Array;
  readonly #score: Float64Array;
  readonly #preferred: Uint8Array;
  readonly #points: Uint32Array;
  readonly #owners: Int32Array;
  #turn: number;

  constructor(endpoints: readonly BalanceEndpoint[], weights: Float64Array, settings: LoadAwareSettings, now: () => number = () => performance.now(), start = 0) {
    this.#views = endpoints.map((e) => e.view);
    this.#s = settings;
    this.#now = now;
    const n = endpoints.length;
    this.#ewma = new Float64Array(n);
    this.#load = new Float64Array(n);
    this.#queued = new Float64Array(n);
    this.#score = new Float64Array(n);
    this.#preferred = new Uint8Array(n);
    this.#turn = start;
    // The ring of ConsistentHash, over every endpoint (owners by weight), for the affinity walk.
    const counts = vnodeCounts(weights);
    const pts: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let v = 0; v < counts[i]!; v++) pts.push([hash32(`${endpoints[i]!.key}#${v}`), i]);
    pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#points = Uint32Array.from(pts, (p) => p[0]);
    this.#owners = Int32Array.from(pts, (p) => p[1]);
  }

  pick(input: PickInput): number {
    const c = input.candidates;
    if (c.length === 1) return c[0]!;
    const { queue, running, kvCache, latency } = this.#s.weights;
    const t = this.#now();
    let fastest = Infinity;
    for (let j = 0; j < c.length; j++) {
      const e = this.#ewma[c[j]!]!;
      if (e > 0 && e < fastest) fastest = e;
    }
    const model = input.model;
    const replicas = Math.max(1, this.#s.replicas?.() ?? 1);
    let withLora = 0;
    for (let j = 0; j < c.length; j++) {
      const i = c[j]!;
      const inflight = input.inflight[i] ?? 0;
      const s = this.#views[i]?.engine ?? null;
      let waiting = 0;
      let run = inflight;
      let kv = 0;
      this.#preferred[i] = 0;
      this.#queued[i] = 0;
      if (s !== null && t - s.at <= this.#s.staleAfterMs && !Number.isNaN(s.waiting) && !Number.isNaN(s.running)) {
        // This proxy's own requests are known now; the reading adds those of other replicas.
        // What this proxy sent since the reading waits (it may be running: the engine will
        // say); what finished since freed room for the engine's waiting ones.
        const sent = inflight - s.inflightAtRead;
        const others = Math.max(0, s.waiting + s.running - s.inflightAtRead) + Math.max(0, sent) * (replicas - 1);
        waiting = Math.max(0, s.waiting + sent * replicas);
        run = Math.max(0, inflight + others - waiting);
        kv = Number.isNaN(s.kvUsage) ? 0 : s.kvUsage;
        // Queueing, or about to: a KV cache this full admits little more.
        this.#queued[i] = Math.max(0, s.waiting + Math.min(0, sent)) + (kv >= FULL_KV ? 1 : 0);
        if (model !== undefined && s.loras.has(model)) {
          this.#preferred[i] = 1;
          withLora++;
        }
      }
      this.#load[i] = waiting + run;
      const e = this.#ewma[i]!;
      const slower = e > 0 && fastest < Infinity ? e / fastest - 1 : 0;
      this.#score[i] = queue * waiting + running * run + kvCache * kv + latency * slower;
    }
    if (withLora === 0 || withLora === c.length) {
      for (let j = 0; j < c.length; j++) this.#preferred[c[j]!] = 1;
      withLora = c.length;
    }
    if (this.#s.prefixAffinity !== undefined && input.hashValue !== '') {
      const picked = this.#affinity(c, input.hashValue, withLora);
      if (picked >= 0) return picked;
      // Every endpoint with the adapter is over the bound: any candidate will do.
      for (let j = 0; j < c.length; j++) this.#preferred[c[j]!] = 1;
    }
    return this.#lowest(c);
  }

  observe(index: number, latencyMs: number, ok: boolean): void {
    if (!ok || !(latencyMs >= 0)) return;
    const e = this.#ewma[index]!;
    this.#ewma[index] = e === 0 ? Math.max(latencyMs, 1e-3) : e + EWMA_ALPHA * (latencyMs - e);
  }

  /**
   * The first preferred candidate clockwise from the key whose load stays within the bound and
   * whose engine queues nothing, when one does not; else the first within the bound; -1 when none.
   */
  #affinity(c: readonly number[], key: string, preferred: number): number {
    let total = 0;
    for (let j = 0; j < c.length; j++) if (this.#preferred[c[j]!] === 1) total += this.#load[c[j]!]!;
    const cap = Math.ceil(((1 + this.#s.prefixAffinity!.epsilon) * (total + 1)) / preferred);
    const points = this.#points;
    if (points.length === 0) return -1;
    const start = ringStart(points, key);
    // A prefix-cache hit saves a prefill; a queue costs a whole generation's wait: an engine
    // with requests waiting passes the key on while another has room.
    for (const queueFree of [true, false]) {
      for (let step = 0, p = start; step < points.length; step++, p = p + 1 === points.length ? 0 : p + 1) {
        const i = this.#owners[p]!;
        if (this.#preferred[i] === 1 && (!queueFree || this.#queued[i] === 0) && isCandidate(c, i) && this.#load[i]! + 1 <= cap) return i;
      }
    }
    return -1;
  }

  /** The preferred candidate with the lowest score; ties rotate, so equal endpoints share the traffic. */
  #lowest(c: readonly number[]): number {
    let best = -1;
    let min = Infinity;
    const n = c.length;
    const from = this.#turn++ % n;
    for (let k = 0; k < n; k++) {
      const i = c[(from + k) % n]!;
      if (this.#preferred[i] !== 1) continue;
      const s = this.#score[i]!;
      if (s < min) {
        min = s;
        best = i;
      }
    }
    return best;
  }
}
