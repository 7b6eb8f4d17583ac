// A fake vLLM engine in virtual time: pure and deterministic (no timers, no clock, no I/O), so
// the routing simulation can run thousands of requests in milliseconds and get the same answer
// every run, and fake-vllm.ts can wrap the same model in real time behind HTTP.
//
// What it models, and nothing more, because these are what an inference-aware router reads:
// - Tokens: a prompt has ceil(chars / charsPerToken) tokens; its full blocks (blockTokens *
//   charsPerToken chars each) are keyed by a chained hash (previous key + block text), so a
//   block only matches when everything before it matches too, and under the same LoRA adapter.
// - Prefix cache: the block keys whose KV is kept. A request's cached tokens are its leading
//   full blocks found there. Counters as vLLM v1: queries += prompt tokens, hits += cached
//   tokens, both at admission.
// - Admission: FIFO. The head is admitted when a running slot is free (maxBatch), its adapter
//   can be loaded (maxLoras), and the KV blocks it needs (prompt + maxTokens, minus blocks of its
//   prompt another running request already holds) fit beside those running requests hold.
//   Cached blocks no running request holds are evicted least recently used to make room (a
//   prompt's tail blocks before its head, as vLLM frees them). A prompt's blocks count as
//   cached from its admission on. A request bigger than the whole cache is admitted alone
//   rather than never.
// - LoRA: a request for an adapter not loaded loads it first (loraLoadMs, once: the adapter
//   stays loaded, evicted LRU beyond maxLoras but never while a running request uses it).
// - Timing: first token at admission + any adapter load + uncached prompt tokens *
//   prefillMsPerToken (prefills do not contend with each other). Then one token per decode step
//   of the whole batch, a step lasting decodeBaseMs + decodePerSeqMs * running at its start; a
//   sequence joins at the next step. Done after maxTokens tokens (the first token counts).
//   With prefillChunkTokens > 0 prefill is chunked into the steps instead (vLLM v1's chunked
//   prefill): a step also processes up to that many uncached prompt tokens and lasts
//   prefillMsPerToken longer per token, so a cache miss slows the whole batch.
//   Waiting for admission is what makes time to first token grow with load.
//
// Use: submit() requests, then advance() to the time of nextEventAt() (or any later time), and
// repeat. A request submitted at a time before the model's clock is admitted no earlier than
// the clock.

export interface EngineOptions {
  name: string;
  /** Running slots (default 8). */
  maxBatch?: number;
  /** KV cache size in tokens (default 32768). */
  kvCapacityTokens?: number;
  /** KV and prefix-cache block size in tokens (default 16). */
  blockTokens?: number;
  /** Prompt characters per token (default 4). */
  charsPerToken?: number;
  /** Prefill cost per uncached prompt token (default 0.25). */
  prefillMsPerToken?: number;
  /**
   * Chunked prefill, as vLLM v1 schedules it (0, the default: prefills do not contend). With N >
   * 0, prefill runs inside the decode steps: each step takes up to N uncached prompt tokens of
   * the admitted requests, in admission order, and lasts that much longer (prefillMsPerToken per
   * token), so a cache miss slows every running request; a request's first token comes at the
   * end of the step that finishes its prompt.
   */
  prefillChunkTokens?: number;
  /** One decode step at batch 1 (default 15). */
  decodeBaseMs?: number;
  /** Added to a decode step per running sequence (default 1.5). */
  decodePerSeqMs?: number;
  /** LoRA adapters loaded at once (default 4). */
  maxLoras?: number;
  /** Cost of loading an adapter that is not loaded (default 200). */
  loraLoadMs?: number;
  /** The served base model's name (default 'llama-3.1-8b'). */
  baseModel?: string;
  /** Which server's /metrics prometheusText() imitates (default 'vllm', i.e. vLLM v1). */
  metricsFlavour?: 'vllm' | 'vllm-legacy' | 'sglang';
}

/** `model` is the base model (the default) or a LoRA adapter's name. */
export interface EngineRequest {
  id: string;
  prompt: string;
  maxTokens: number;
  model?: string;
}

export interface EngineEvent {
  id: string;
  kind: 'first-token' | 'done';
  atMs: number;
  promptTokens: number;
  cachedTokens: number;
  /** Tokens generated so far: 1 at first-token (or maxTokens when that is 1), maxTokens at done. */
  completionTokens: number;
}

export interface EngineMetrics {
  waiting: number;
  running: number;
  /** Blocks held by running requests (prompt and reserved output) / all blocks, 0-1. */
  kvUsage: number;
  prefixQueriesTokens: number;
  prefixHitsTokens: number;
  /** Adapters of running requests, sorted. */
  lorasRunning: string[];
  /** Adapters of waiting requests, sorted. */
  lorasWaiting: string[];
  maxLoras: number;
}

interface Seq {
  id: string;
  arrivedAt: number;
  promptTokens: number;
  maxTokens: number;
  /** Chained keys of the prompt's full blocks, in order. */
  keys: number[];
  /** The partial last prompt block plus the reserved output, which no other request shares. */
  privateBlocks: number;
  adapter: string | undefined;
  cachedTokens: number;
  firstTokenAt: number;
  tokens: number;
  /** In the decode step that is running now. */
  stepping: boolean;
  /** Chunked prefill: uncached prompt tokens still to process, from readyAt (a LoRA load), and this step's share. */
  prefillLeft: number;
  readyAt: number;
  chunk: number;
}

type Resolved = Required<EngineOptions>;

const DEFAULTS: Omit<Resolved, 'name'> = {
  maxBatch: 8,
  kvCapacityTokens: 32768,
  blockTokens: 16,
  charsPerToken: 4,
  prefillMsPerToken: 0.25,
  prefillChunkTokens: 0,
  decodeBaseMs: 15,
  decodePerSeqMs: 1.5,
  maxLoras: 4,
  loraLoadMs: 200,
  baseModel: 'llama-3.1-8b',
  metricsFlavour: 'vllm',
};

/**
 * Chained keys of a prompt's full blocks: two 32-bit multiplicative hashes seeded with the
 * previous block's (the first with the salt: a LoRA adapter's KV differs from the base's), folded into one 53-bit number (exact as a Map key, collisions negligible
 * at simulation sizes). Much faster than sha1, which matters over ~10k prompts.
 */
export function blockKeys(prompt: string, blockChars: number, salt = ''): number[] {
  const keys: number[] = [];
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < salt.length; i++) {
    h1 = Math.imul(h1 ^ salt.charCodeAt(i), 2654435761);
    h2 = Math.imul(h2 ^ salt.charCodeAt(i), 1597334677);
  }
  for (let start = 0; start + blockChars <= prompt.length; start += blockChars) {
    for (let i = start; i < start + blockChars; i++) {
      const c = prompt.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    keys.push(4294967296 * (2097151 & h2) + (h1 >>> 0));
  }
  return keys;
}

export class EngineModel {
  readonly options: Readonly<Resolved>;
  private readonly totalBlocks: number;
  private readonly waiting: Seq[] = [];
  private waitingHead = 0;
  private readonly running: Seq[] = [];
  /** Cached block key -> running requests holding it; Map order is LRU (first = evicted first). */
  private readonly cache = new Map<number, number>();
  /** Cache entries held by at least one running request. */
  private heldShared = 0;
  private heldPrivate = 0;
  /** Loaded adapter -> virtual time its load ends; Map order is LRU. */
  private readonly loras = new Map<string, number>();
  private stepEndAt: number | null = null;
  private clock = 0;
  private queries = 0;
  private hits = 0;

  constructor(o: EngineOptions) {
    this.options = { ...DEFAULTS, ...stripUndefined(o) } as Resolved;
    this.totalBlocks = Math.max(1, Math.floor(this.options.kvCapacityTokens / this.options.blockTokens));
  }

  /** Joins the FIFO waiting queue. */
  submit(r: EngineRequest, nowMs: number): void {
    const { charsPerToken, blockTokens, baseModel } = this.options;
    const promptTokens = Math.ceil(r.prompt.length / charsPerToken);
    const maxTokens = Math.max(1, Math.floor(r.maxTokens));
    const adapter = r.model !== undefined && r.model !== baseModel ? r.model : undefined;
    const keys = blockKeys(r.prompt, blockTokens * charsPerToken, adapter);
    const privateBlocks = Math.ceil((promptTokens + maxTokens) / blockTokens) - keys.length;
    this.waiting.push({ id: r.id, arrivedAt: nowMs, promptTokens, maxTokens, keys, privateBlocks, adapter, cachedTokens: 0, firstTokenAt: 0, tokens: 0, stepping: false, prefillLeft: 0, readyAt: 0, chunk: 0 });
  }

  /** Virtual time of the next admission, first token or decode step end; null when idle. */
  nextEventAt(): number | null {
    let next = this.stepEndAt ?? Infinity;
    for (const s of this.running) if (s.tokens === 0 && s.firstTokenAt < next) next = s.firstTokenAt;
    // Chunked prefill, no step running: the next step starts when a prompt can be worked on.
    if (this.stepEndAt === null) for (const s of this.running) if (s.prefillLeft > 0) next = Math.min(next, Math.max(this.clock, s.readyAt));
    const head = this.waiting[this.waitingHead];
    if (head !== undefined && this.admissible(head)) next = Math.min(next, Math.max(this.clock, head.arrivedAt));
    if (next === Infinity) return null;
    return next;
  }

  /** Runs the model up to toMs (inclusive); the events that happened, in time order. */
  advance(toMs: number): EngineEvent[] {
    const events: EngineEvent[] = [];
    for (let t = this.nextEventAt(); t !== null && t <= toMs; t = this.nextEventAt()) {
      this.clock = Math.max(this.clock, t);
      const now = this.clock;
      // At one instant: the step ends, then prefills end, then admissions (into the freed
      // slots), and only then the next step starts, so it counts everything running.
      if (this.stepEndAt !== null && this.stepEndAt <= now) this.endStep(now, events);
      for (const s of [...this.running]) {
        if (s.tokens === 0 && s.firstTokenAt <= now) {
          s.tokens = 1;
          events.push(this.event(s, 'first-token', now));
          if (s.tokens >= s.maxTokens) this.finish(s, now, events);
        }
      }
      for (let head = this.waiting[this.waitingHead]; head !== undefined && head.arrivedAt <= now && this.admissible(head); head = this.waiting[this.waitingHead]) {
        this.waitingHead++;
        this.admit(head, now);
      }
      if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
        this.waiting.splice(0, this.waitingHead);
        this.waitingHead = 0;
      }
      if (this.stepEndAt === null && this.running.some((s) => s.tokens > 0 || (s.prefillLeft > 0 && s.readyAt <= now))) {
        let decoding = 0;
        let budget = this.options.prefillChunkTokens;
        for (const s of this.running) {
          s.stepping = s.tokens > 0;
          if (s.stepping) decoding++;
          s.chunk = s.prefillLeft > 0 && s.readyAt <= now ? Math.min(s.prefillLeft, budget) : 0;
          budget -= s.chunk;
        }
        const prefill = this.options.prefillChunkTokens - budget;
        this.stepEndAt = now + this.options.decodeBaseMs + this.options.decodePerSeqMs * decoding + prefill * this.options.prefillMsPerToken;
      }
    }
    this.clock = Math.max(this.clock, toMs);
    return events;
  }

  metrics(): EngineMetrics {
    const adapters = (seqs: Iterable<Seq>) => [...new Set([...seqs].flatMap((s) => (s.adapter === undefined ? [] : [s.adapter])))].sort();
    return {
      waiting: this.waiting.length - this.waitingHead,
      running: this.running.length,
      kvUsage: Math.min(1, (this.heldShared + this.heldPrivate) / this.totalBlocks),
      prefixQueriesTokens: this.queries,
      prefixHitsTokens: this.hits,
      lorasRunning: adapters(this.running),
      lorasWaiting: adapters(this.waiting.slice(this.waitingHead)),
      maxLoras: this.options.maxLoras,
    };
  }

  /** The /metrics body of the server metricsFlavour names, in the Prometheus text format. */
  prometheusText(): string {
    const m = this.metrics();
    const { baseModel, metricsFlavour } = this.options;
    const hitRate = m.prefixQueriesTokens === 0 ? 0 : m.prefixHitsTokens / m.prefixQueriesTokens;
    const labels = `model_name="${escapeLabel(baseModel)}"`;
    if (metricsFlavour === 'sglang') {
      return exposition([
        ['sglang:num_running_reqs', 'gauge', 'The number of running requests.', labels, m.running],
        ['sglang:num_queue_reqs', 'gauge', 'The number of requests in the waiting queue.', labels, m.waiting],
        ['sglang:token_usage', 'gauge', 'The token usage (0-1).', labels, m.kvUsage],
        ['sglang:cache_hit_rate', 'gauge', 'The prefix cache hit rate (0-1).', labels, hitRate],
      ]);
    }
    const vllmLabels = `${labels},engine="0"`;
    const common: Sample[] = [
      ['vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', vllmLabels, m.running],
      ['vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', vllmLabels, m.waiting],
    ];
    // The gateway reads adapters from the labels and takes the series with the latest value, a
    // timestamp in seconds: here the model's virtual clock.
    const lora: Sample = [
      'vllm:lora_requests_info',
      'gauge',
      'Running stats on lora requests.',
      `running_lora_adapters="${escapeLabel(m.lorasRunning.join(','))}",waiting_lora_adapters="${escapeLabel(m.lorasWaiting.join(','))}",max_lora="${m.maxLoras}"`,
      this.clock / 1000,
    ];
    if (metricsFlavour === 'vllm-legacy') {
      return exposition([
        ...common,
        ['vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage.', vllmLabels, m.kvUsage],
        ['vllm:gpu_prefix_cache_hit_rate', 'gauge', 'GPU prefix cache block hit rate.', vllmLabels, hitRate],
        lora,
      ]);
    }
    return exposition([
      ...common,
      ['vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', vllmLabels, m.kvUsage],
      ['vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', vllmLabels, m.prefixQueriesTokens],
      ['vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', vllmLabels, m.prefixHitsTokens],
      lora,
    ]);
  }

  /** Leading prompt blocks found in the cache. */
  private cachedBlocks(s: Seq): number {
    let n = 0;
    while (n < s.keys.length && this.cache.has(s.keys[n]!)) n++;
    return n;
  }

  private admissible(s: Seq): boolean {
    if (this.running.length === 0) return this.loraLoadable(s.adapter);
    if (this.running.length >= this.options.maxBatch || !this.loraLoadable(s.adapter)) return false;
    let need = s.privateBlocks;
    for (const k of s.keys) if ((this.cache.get(k) ?? 0) === 0) need++;
    return this.heldShared + this.heldPrivate + need <= this.totalBlocks;
  }

  private loraLoadable(adapter: string | undefined): boolean {
    if (adapter === undefined || this.loras.has(adapter) || this.loras.size < this.options.maxLoras) return true;
    for (const a of this.loras.keys()) if (!this.running.some((s) => s.adapter === a)) return true;
    return false;
  }

  private admit(s: Seq, now: number): void {
    const { blockTokens, prefillMsPerToken } = this.options;
    const cachedBlocks = this.cachedBlocks(s);
    s.cachedTokens = Math.min(s.promptTokens, cachedBlocks * blockTokens);
    this.queries += s.promptTokens;
    this.hits += s.cachedTokens;
    // Tail first, so the prompt's head ends up most recently used and is evicted last.
    for (let i = s.keys.length - 1; i >= 0; i--) {
      const k = s.keys[i]!;
      const refs = this.cache.get(k) ?? 0;
      if (refs === 0) this.heldShared++;
      this.cache.delete(k);
      this.cache.set(k, refs + 1);
    }
    this.heldPrivate += s.privateBlocks;
    this.evict();
    let start = now;
    if (s.adapter !== undefined) start = Math.max(start, this.loadLora(s.adapter, now));
    if (this.options.prefillChunkTokens > 0) {
      // Worked on by the steps (at least one token: the last one computes the first output).
      s.prefillLeft = Math.max(1, s.promptTokens - s.cachedTokens);
      s.readyAt = start;
      s.firstTokenAt = Infinity;
    } else s.firstTokenAt = start + (s.promptTokens - s.cachedTokens) * prefillMsPerToken;
    this.running.push(s);
  }

  /** Drops least recently used blocks no running request holds until the cache fits. */
  private evict(): void {
    let over = this.heldPrivate + this.cache.size - this.totalBlocks;
    if (over <= 0) return;
    for (const [k, refs] of this.cache) {
      if (refs > 0) continue;
      this.cache.delete(k);
      if (--over === 0) return;
    }
  }

  /** Loads the adapter unless loaded; the time it is ready. */
  private loadLora(adapter: string, now: number): number {
    const readyAt = this.loras.get(adapter);
    if (readyAt !== undefined) {
      this.loras.delete(adapter);
      this.loras.set(adapter, readyAt);
      return readyAt;
    }
    if (this.loras.size >= this.options.maxLoras) {
      for (const a of this.loras.keys()) {
        if (a === adapter || this.running.some((r) => r.adapter === a)) continue;
        this.loras.delete(a);
        break;
      }
    }
    const ready = now + this.options.loraLoadMs;
    this.loras.set(adapter, ready);
    return ready;
  }

  private endStep(now: number, events: EngineEvent[]): void {
    this.stepEndAt = null;
    for (const s of [...this.running]) {
      if (s.chunk > 0) {
        s.prefillLeft -= s.chunk;
        s.chunk = 0;
        // Prompt done: its first token is this step's output.
        if (s.prefillLeft === 0) s.firstTokenAt = now;
      }
      if (!s.stepping) continue;
      s.tokens++;
      if (s.tokens >= s.maxTokens) this.finish(s, now, events);
    }
  }

  private finish(s: Seq, now: number, events: EngineEvent[]): void {
    this.running.splice(this.running.indexOf(s), 1);
    this.heldPrivate -= s.privateBlocks;
    for (let i = s.keys.length - 1; i >= 0; i--) {
      const k = s.keys[i]!;
      const refs = this.cache.get(k)!;
      if (refs === 1) this.heldShared--;
      this.cache.delete(k);
      this.cache.set(k, refs - 1);
    }
    events.push(this.event(s, 'done', now));
  }

  private event(s: Seq, kind: EngineEvent['kind'], atMs: number): EngineEvent {
    return { id: s.id, kind, atMs, promptTokens: s.promptTokens, cachedTokens: s.cachedTokens, completionTokens: s.tokens };
  }
}

type Sample = [name: string, type: 'gauge' | 'counter', help: string, labels: string, value: number];

function exposition(samples: Sample[]): string {
  return samples.map(([name, type, help, labels, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}{${labels}} ${value}\n`).join('');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
