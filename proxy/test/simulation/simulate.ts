// The routing simulation (issue 13's proof): the same offered load, in virtual time, through
// RoundRobin, LeastConnections and LoadAware, onto fake vLLM engines that model a queue, a KV
// cache and a prefix cache (@jairouter/testkit/engine/model). The balancers are the proxy's own
// (createBalancer, LoadAwareBalancer), and LoadAware reads the engines only as the proxy does:
// their /metrics text, through the proxy's reader, every scrape interval. Deterministic: a
// seeded workload and no real clock. Used by simulation.test.ts (small) and `make sim` (large).
import { EngineModel, type EngineOptions } from '@jairouter/testkit/engine/model';
import { mulberry32 } from '@jairouter/testkit/seeded-random';
import { createBalancer, type BalanceEndpoint, type Balancer } from '../../src/balance/index.ts';
import { LoadAwareBalancer, type LoadAwareSettings } from '../../src/balance/load-aware.ts';
import { readEngineMetrics, type EngineSignals } from '../../src/engine/signals.ts';
import { prefixKey } from '../../src/http/request-keys.ts';

export type SimStrategy = 'RoundRobin' | 'LeastConnections' | 'LoadAware';

export interface SimOptions {
  strategy: SimStrategy;
  engines: number;
  /** Gateway replicas, each with its own balancer and in-flight counts; requests reach them at random (a Service). */
  proxies: number;
  requests: number;
  /** Offered load: mean arrivals per second (Poisson). */
  ratePerSecond: number;
  /** Distinct system prompts ("apps"), chosen with Zipf-like popularity (s = 1). */
  apps: number;
  systemChars: number;
  userChars: number;
  /** Output tokens, uniform in [min, max]. */
  outputTokens: [number, number];
  engine: Omit<EngineOptions, 'name'>;
  scrapeIntervalMs: number;
  /** LoadAware's prefix blocks (characters) and bound. */
  blockSize: number;
  maxBlocks: number;
  epsilon: number;
  seed: number;
}

export interface SimResult {
  strategy: SimStrategy;
  ttftP50Ms: number;
  ttftP99Ms: number;
  /** Prompt tokens found in the engines' prefix caches / all prompt tokens. */
  hitRatio: number;
  /** The best any placement could do: every request's system prompt cached but the first of each app. */
  idealHitRatio: number;
  /** The most requests one engine held at once. */
  maxEndpointLoad: number;
  /**
   * Picks that left the chosen engine over the bounded load, ceil((1 + epsilon) * total / engines)
   * of all requests in flight (every replica's): LoadAware bounds each replica's view of the load,
   * which lags the engines by up to a scrape interval.
   */
  overBound: number;
  picks: number;
}

export const DEFAULTS: Omit<SimOptions, 'strategy'> = {
  engines: 4,
  proxies: 3,
  requests: 3000,
  ratePerSecond: 14,
  apps: 24,
  systemChars: 6000,
  userChars: 300,
  outputTokens: [20, 180],
  engine: { maxBatch: 16, kvCapacityTokens: 20480, prefillMsPerToken: 0.1, prefillChunkTokens: 512, decodeBaseMs: 15, decodePerSeqMs: 1 },
  scrapeIntervalMs: 1000,
  blockSize: 256,
  maxBlocks: 8,
  epsilon: 0.25,
  seed: 7,
};

interface Arrival {
  at: number;
  id: string;
  app: number;
  system: string;
  user: string;
  maxTokens: number;
}

/** The workload: the same for every strategy of one seed. */
function workload(o: Omit<SimOptions, 'strategy'>): Arrival[] {
  const rnd = mulberry32(o.seed);
  const words = ['table', 'query', 'index', 'join', 'rows', 'sum', 'group', 'order', 'limit', 'where', 'select', 'count'];
  const text = (chars: number, r: () => number) => {
    let s = '';
    while (s.length < chars) s += words[Math.floor(r() * words.length)]! + ' ';
    return s.slice(0, chars);
  };
  const systems = Array.from({ length: o.apps }, (_, k) => `App ${k} instructions. ` + text(o.systemChars, mulberry32(1000 + k)));
  // Zipf-like: app k drawn with weight 1 / (k + 1).
  const weights = systems.map((_, k) => 1 / (k + 1));
  const total = weights.reduce((a, w) => a + w, 0);
  const out: Arrival[] = [];
  let t = 0;
  for (let n = 0; n < o.requests; n++) {
    t += (-Math.log(1 - rnd()) / o.ratePerSecond) * 1000;
    let pickW = rnd() * total;
    let app = 0;
    while (app < o.apps - 1 && (pickW -= weights[app]!) > 0) app++;
    const [lo, hi] = o.outputTokens;
    out.push({ at: t, id: `r${n}`, app, system: systems[app]!, user: text(o.userChars, rnd), maxTokens: lo + Math.floor(rnd() * (hi - lo + 1)) });
  }
  return out;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function simulate(opts: SimOptions): SimResult {
  const arrivals = workload(opts);
  const n = opts.engines;
  const engines = Array.from({ length: n }, (_, i) => new EngineModel({ ...opts.engine, name: `vllm-${i}` }));
  let now = 0;
  // As the proxy runs it: the ModelRoute defaults, and the replica count the operator reports.
  const settings: LoadAwareSettings = {
    weights: { queue: 1, running: 0.25, kvCache: 4, latency: 1 }, prefixAffinity: { epsilon: opts.epsilon }, staleAfterMs: 3 * opts.scrapeIntervalMs, replicas: () => opts.proxies,
  };
  // Each replica: its own readings of the engines (each scrapes), balancer and in-flight counts.
  const proxies = Array.from({ length: opts.proxies }, (_, p) => {
    const views = engines.map(() => ({ engine: null as EngineSignals | null }));
    const endpoints: BalanceEndpoint[] = engines.map((_, i) => ({ key: `pool http://10.0.0.${i}:8000/v1`, weight: 1, cost: 0, view: views[i]! }));
    const balancer: Balancer = opts.strategy === 'LoadAware'
      ? new LoadAwareBalancer(endpoints, new Float64Array(n).fill(1), settings, () => now, p)
      : createBalancer(opts.strategy, endpoints, mulberry32(opts.seed + p));
    return { views, balancer, inflight: new Int32Array(n) };
  });
  const route = mulberry32(opts.seed * 31 + 1);
  /** Requests on each engine, from every replica. */
  const inflight = new Int32Array(n);
  const candidates = Array.from({ length: n }, (_, i) => i);
  const where = new Map<string, { engine: number; at: number; proxy: number }>();
  const ttft: number[] = [];
  let promptTokens = 0;
  let cachedTokens = 0;
  let maxEndpointLoad = 0;
  let overBound = 0;
  const charsPerToken = opts.engine.charsPerToken ?? 4;
  const blockChars = (opts.engine.blockTokens ?? 16) * charsPerToken;

  /** Runs every engine to `t`, settling what happened. */
  const runTo = (t: number) => {
    now = t;
    for (let i = 0; i < n; i++) {
      for (const e of engines[i]!.advance(t)) {
        const w = where.get(e.id)!;
        if (e.kind === 'first-token') {
          ttft.push(e.atMs - w.at);
          promptTokens += e.promptTokens;
          cachedTokens += e.cachedTokens;
          proxies[w.proxy]!.balancer.observe?.(i, e.atMs - w.at, true);
        } else {
          inflight[i]!--;
          proxies[w.proxy]!.inflight[i]!--;
          where.delete(e.id);
        }
      }
    }
  };
  let nextScrape = 0;
  for (const a of arrivals) {
    while (nextScrape <= a.at) {
      runTo(nextScrape);
      for (const p of proxies) for (let i = 0; i < n; i++) p.views[i]!.engine = readEngineMetrics(engines[i]!.prometheusText(), nextScrape, p.inflight[i]!, p.views[i]!.engine);
      nextScrape += opts.scrapeIntervalMs;
    }
    runTo(a.at);
    const body = { messages: [{ role: 'system', content: a.system }, { role: 'user', content: a.user }] };
    const hashValue = opts.strategy === 'LoadAware' ? prefixKey(body, opts.blockSize, opts.maxBlocks) : '';
    const pr = Math.floor(route() * opts.proxies);
    const proxy = proxies[pr]!;
    const i = proxy.balancer.pick({ candidates, hashValue, inflight: proxy.inflight });
    inflight[i]!++;
    proxy.inflight[i]!++;
    where.set(a.id, { engine: i, at: a.at, proxy: pr });
    // The prompt as the fake vLLM server builds it from chat messages.
    engines[i]!.submit({ id: a.id, prompt: `<|system|>${a.system}\n<|user|>${a.user}\n`, maxTokens: a.maxTokens }, a.at);
    let total = 0;
    for (let k = 0; k < n; k++) total += inflight[k]!;
    if (inflight[i]! > maxEndpointLoad) maxEndpointLoad = inflight[i]!;
    if (inflight[i]! > Math.ceil(((1 + opts.epsilon) * total) / n)) overBound++;
  }
  // Drain: everything submitted gets its first token.
  for (let guard = 0; guard < 1e7; guard++) {
    let next = Infinity;
    for (const e of engines) next = Math.min(next, e.nextEventAt() ?? Infinity);
    if (next === Infinity) break;
    runTo(next);
  }
  // Ideal: each app's first request pays its system prompt, every later one finds it cached
  // (whole blocks of the prompt's system part).
  const seen = new Set<number>();
  let ideal = 0;
  let all = 0;
  for (const a of arrivals) {
    const prompt = `<|system|>${a.system}\n<|user|>${a.user}\n`;
    const tokens = Math.ceil(prompt.length / charsPerToken);
    all += tokens;
    if (seen.has(a.app)) ideal += Math.floor((`<|system|>${a.system}\n`.length) / blockChars) * (blockChars / charsPerToken);
    seen.add(a.app);
  }
  ttft.sort((x, y) => x - y);
  return {
    strategy: opts.strategy,
    ttftP50Ms: percentile(ttft, 50),
    ttftP99Ms: percentile(ttft, 99),
    hitRatio: cachedTokens / promptTokens,
    idealHitRatio: ideal / all,
    maxEndpointLoad,
    overBound,
    picks: arrivals.length,
  };
}

/** The report table (docs/routing.md and the issue note). */
export function table(results: readonly SimResult[]): string {
  const f = (x: number, d = 0) => x.toFixed(d);
  const rows = results.map((r) => `| ${r.strategy} | ${f(r.ttftP50Ms)} | ${f(r.ttftP99Ms)} | ${f(r.hitRatio * 100, 1)}% (ideal ${f(r.idealHitRatio * 100, 1)}%) | ${r.maxEndpointLoad} | ${f((r.overBound / r.picks) * 100, 1)}% |`);
  return ['| strategy | TTFT p50 (ms) | TTFT p99 (ms) | prefix-cache hit ratio | max requests on one engine | picks over the bounded load |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
