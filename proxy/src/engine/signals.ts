// What a self-hosted engine's Prometheus metrics say about its load, read from its /metrics text
// by the background scraper (scraper.ts), never on the request path. Covered (the names as the
// engines publish them):
//   vLLM v1 (0.8 and later):  vllm:num_requests_waiting, vllm:num_requests_running,
//                             vllm:kv_cache_usage_perc (a 0-1 fraction), vllm:prefix_cache_queries_total,
//                             vllm:prefix_cache_hits_total, vllm:lora_requests_info{running_lora_adapters,
//                             waiting_lora_adapters}
//   vLLM v0 (before 0.8):     vllm:gpu_cache_usage_perc, vllm:gpu_prefix_cache_hit_rate (and the first two)
//   SGLang:                   sglang:num_queue_reqs, sglang:num_running_reqs, sglang:token_usage,
//                             sglang:cache_hit_rate
// Several series of one name (one per model_name or engine index) are summed (counts) or
// averaged (fractions). The parser reads only these names: a hand-written line reader, since no
// maintained npm package parses the text format (prom-client only writes it). Pure.

/** One endpoint's last engine reading. NaN: the engine does not publish that figure. */
export interface EngineSignals {
  /** When it was read (the scraper's clock, ms). */
  readonly at: number;
  readonly waiting: number;
  readonly running: number;
  /** KV-cache usage, 0-1. */
  readonly kvUsage: number;
  /** Prefix-cache hit ratio since the previous reading (counters), or as the engine reports it (gauges). */
  readonly prefixHitRatio: number;
  /** Cumulative prefix-cache queries and hits (tokens), for the next reading's ratio. */
  readonly prefixQueries: number;
  readonly prefixHits: number;
  /** LoRA adapters the engine is running or queueing requests for (loaded, or being loaded). */
  readonly loras: ReadonlySet<string>;
  /** The gateway's own in-flight count to this endpoint when the reading arrived. */
  readonly inflightAtRead: number;
}

const NONE: ReadonlySet<string> = new Set();

interface Sample {
  name: string;
  labels: string;
  value: number;
}

/** `name{labels} value [timestamp]` lines of the names wanted; comments and other names skipped. */
function samples(text: string, wanted: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    let labels = '';
    let rest: string;
    if (line[nameEnd] === '{') {
      const close = line.lastIndexOf('}');
      if (close < nameEnd) continue;
      labels = line.slice(nameEnd + 1, close);
      rest = line.slice(close + 1).trim();
    } else rest = line.slice(nameEnd + 1).trim();
    const value = Number(rest.split(/\s+/, 1)[0]);
    if (!Number.isNaN(value)) out.push({ name, labels, value });
  }
  return out;
}

/** One label's value from a `k="v",k2="v2"` list (escapes \", \\ and \n undone). */
export function labelValue(labels: string, key: string): string | undefined {
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(labels); m !== null; m = re.exec(labels)) {
    if (m[1] === key) return m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return undefined;
}

const WANTED = new Set([
  'vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc',
  'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hit_rate', 'vllm:lora_requests_info',
  'sglang:num_queue_reqs', 'sglang:num_running_reqs', 'sglang:token_usage', 'sglang:cache_hit_rate',
]);

/**
 * The signals of a /metrics text, or null when it holds none of the names above (not an engine
 * this reader knows: the endpoint is then balanced by the gateway's own view). `previous` gives
 * the counters a hit ratio over the interval.
 */
export function readEngineMetrics(text: string, at: number, inflight: number, previous: EngineSignals | null): EngineSignals | null {
  const found = samples(text, WANTED);
  if (found.length === 0) return null;
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  const loras = new Set<string>();
  let loraAt = -Infinity;
  for (const s of found) {
    if (s.name === 'vllm:lora_requests_info') {
      // One series per state change, the value its time: the newest says what runs now.
      if (s.value < loraAt) continue;
      if (s.value > loraAt) loras.clear();
      loraAt = s.value;
      for (const k of ['running_lora_adapters', 'waiting_lora_adapters']) {
        for (const a of (labelValue(s.labels, k) ?? '').split(',')) if (a.trim() !== '') loras.add(a.trim());
      }
      continue;
    }
    sum.set(s.name, (sum.get(s.name) ?? 0) + s.value);
    count.set(s.name, (count.get(s.name) ?? 0) + 1);
  }
  const total = (...names: string[]): number => {
    for (const n of names) if (sum.has(n)) return sum.get(n)!;
    return NaN;
  };
  const mean = (...names: string[]): number => {
    for (const n of names) if (sum.has(n)) return sum.get(n)! / count.get(n)!;
    return NaN;
  };
  const queries = total('vllm:prefix_cache_queries_total');
  const hits = total('vllm:prefix_cache_hits_total');
  let prefixHitRatio = mean('vllm:gpu_prefix_cache_hit_rate', 'sglang:cache_hit_rate');
  if (!Number.isNaN(queries) && !Number.isNaN(hits)) {
    // Over the interval when the counters went on from the last reading; since the start otherwise (a restart resets them).
    const dq = previous !== null && queries >= previous.prefixQueries ? queries - previous.prefixQueries : queries;
    const dh = previous !== null && queries >= previous.prefixQueries ? hits - previous.prefixHits : hits;
    prefixHitRatio = dq > 0 ? dh / dq : previous?.prefixHitRatio ?? NaN;
  }
  return {
    at,
    waiting: total('vllm:num_requests_waiting', 'sglang:num_queue_reqs'),
    running: total('vllm:num_requests_running', 'sglang:num_running_reqs'),
    kvUsage: mean('vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'),
    prefixHitRatio,
    prefixQueries: queries,
    prefixHits: hits,
    loras: loras.size === 0 ? NONE : loras,
    inflightAtRead: inflight,
  };
}

/**
 * An endpoint's saturation, 0-1 (docs/autoscaling.md): with engine signals, the larger of the
 * KV-cache usage and the share of the engine's requests that wait (waiting / (waiting +
 * running)); without, in-flight / maxConcurrency when the backend sets one; NaN when neither.
 */
export function saturation(signals: EngineSignals | null, inflight: number, maxConcurrency: number | undefined): number {
  if (signals !== null) {
    const w = Number.isNaN(signals.waiting) ? 0 : signals.waiting;
    const r = Number.isNaN(signals.running) ? 0 : signals.running;
    const queued = w + r > 0 ? w / (w + r) : 0;
    const kv = Number.isNaN(signals.kvUsage) ? 0 : signals.kvUsage;
    return Math.min(1, Math.max(kv, queued));
  }
  if (maxConcurrency !== undefined && maxConcurrency > 0) return Math.min(1, inflight / maxConcurrency);
  return NaN;
}
