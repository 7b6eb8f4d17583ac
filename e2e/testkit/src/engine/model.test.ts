// The fake vLLM engine in virtual time (model.ts): the timings below are worked out by hand
// from its documented semantics, so a change in them shows up here as a number.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { observabilityReady, observabilitySetupTimeoutMs, skipObservability } from '../observability.ts';
import { mulberry32 } from '../seeded-random.ts';
import { EngineModel, type EngineEvent, type EngineOptions, type EngineRequest } from './model.ts';

/** Submits each request at its time and runs the model until idle; every event, in order. */
function run(m: EngineModel, subs: Array<[at: number, r: EngineRequest]>): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (const [at, r] of subs) {
    events.push(...m.advance(at));
    m.submit(r, at);
  }
  for (let t = m.nextEventAt(); t !== null; t = m.nextEventAt()) events.push(...m.advance(t));
  return events;
}

function at(events: EngineEvent[], id: string, kind: EngineEvent['kind']): EngineEvent {
  const e = events.find((x) => x.id === id && x.kind === kind);
  if (!e) throw new Error(`no ${kind} event for ${id}`);
  return e;
}

/** A prompt of `tokens` tokens (4 chars each) that shares nothing with another letter's. */
const text = (letter: string, tokens: number) => letter.repeat(tokens * 4);

describe('EngineModel', () => {
  it('queues FIFO: with one slot the second request starts when the first is done', () => {
    const m = new EngineModel({ name: 'e', maxBatch: 1 });
    m.submit({ id: 'r1', prompt: text('a', 100), maxTokens: 4 }, 0);
    m.submit({ id: 'r2', prompt: text('b', 100), maxTokens: 4 }, 0);
    expect(m.nextEventAt()).toBe(0);
    const first = m.advance(0);
    expect(first).toEqual([]);
    expect(m.metrics()).toMatchObject({ running: 1, waiting: 1 });
    const events = [...first, ...run(m, [])];
    // Prefill 100 tokens * 0.25 ms; then 3 decode steps of 15 + 1.5 * 1 ms.
    expect(at(events, 'r1', 'first-token')).toMatchObject({ atMs: 25, promptTokens: 100, cachedTokens: 0, completionTokens: 1 });
    expect(at(events, 'r1', 'done')).toMatchObject({ atMs: 74.5, completionTokens: 4 });
    expect(at(events, 'r2', 'first-token').atMs).toBe(74.5 + 25);
    expect(at(events, 'r2', 'done').atMs).toBe(74.5 + 74.5);
    expect(events.map((e) => e.atMs)).toEqual([...events.map((e) => e.atMs)].sort((a, b) => a - b));
    expect(m.metrics()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    expect(m.nextEventAt()).toBeNull();
  });

  it('batches: decode steps slow down with the running count', () => {
    const m = new EngineModel({ name: 'e', maxBatch: 2 });
    const events = run(m, [
      [0, { id: 'r1', prompt: text('a', 100), maxTokens: 2 }],
      [0, { id: 'r2', prompt: text('b', 100), maxTokens: 2 }],
    ]);
    expect(at(events, 'r2', 'first-token').atMs).toBe(25);
    // One step with both running: 15 + 1.5 * 2.
    expect(at(events, 'r1', 'done').atMs).toBe(25 + 18);
    expect(at(events, 'r2', 'done').atMs).toBe(25 + 18);
  });

  it('reuses a cached prefix: earlier first token for a shared prefix, none for another', () => {
    const system = 'You are a helpful assistant. '.repeat(140); // 4060 chars: 63 full blocks of 64
    const opts: EngineOptions = { name: 'e' };
    const shared = new EngineModel(opts);
    const events = run(shared, [
      [0, { id: 'r1', prompt: `${system}question one`, maxTokens: 4 }],
      [1000, { id: 'r2', prompt: `${system}question two`, maxTokens: 4 }],
      [2000, { id: 'r3', prompt: `Another system prompt entirely. ${system}`, maxTokens: 4 }],
    ]);
    const r2 = at(events, 'r2', 'first-token');
    expect(r2.cachedTokens).toBe(63 * 16);
    expect(r2.promptTokens).toBe(Math.ceil((system.length + 12) / 4));
    expect(at(events, 'r2', 'done').cachedTokens).toBe(63 * 16);
    expect(at(events, 'r3', 'first-token').cachedTokens).toBe(0);

    const alone = run(new EngineModel(opts), [[1000, { id: 'r2', prompt: `${system}question two`, maxTokens: 4 }]]);
    expect(at(alone, 'r2', 'first-token').cachedTokens).toBe(0);
    expect(r2.atMs - 1000).toBe(at(alone, 'r2', 'first-token').atMs - 1000 - 63 * 16 * 0.25);
    expect(r2.atMs).toBeLessThan(at(alone, 'r2', 'first-token').atMs);
  });

  it('evicts the least recently used cached blocks, a prompt\'s tail first, under KV pressure', () => {
    // 16 blocks of KV; each request holds 4 prompt blocks + 1 block of output while running.
    const m = new EngineModel({ name: 'e', kvCapacityTokens: 256, maxBatch: 1 });
    const req = (id: string, letter: string): EngineRequest => ({ id, prompt: text(letter, 64), maxTokens: 16 });
    let t = 0;
    const seq = (...rs: EngineRequest[]) => run(m, rs.map((r) => [(t += 10_000), r] as [number, EngineRequest]));
    seq(req('a', 'a'), req('b', 'b'), req('c', 'c'));
    expect(at(seq(req('a2', 'a')), 'a2', 'first-token').cachedTokens).toBe(64);
    // a, b, c and d's prompts fill all 16 blocks, so d's output block evicts b's tail (a was used since).
    seq(req('d', 'd'));
    const again = seq(req('b2', 'b'), req('d2', 'd'));
    expect(at(again, 'b2', 'first-token').cachedTokens).toBe(48);
    expect(at(again, 'd2', 'first-token').cachedTokens).toBe(64);
  });

  it('holds admission while running requests fill the KV cache, and admits an oversized request alone', () => {
    const m = new EngineModel({ name: 'e', kvCapacityTokens: 256 });
    // 128 prompt + 64 output tokens = 12 of the 16 blocks each: the second has to wait.
    const events = run(m, [
      [0, { id: 'r1', prompt: text('a', 128), maxTokens: 64 }],
      [0, { id: 'r2', prompt: text('b', 128), maxTokens: 64 }],
    ]);
    expect(at(events, 'r2', 'first-token').atMs).toBe(at(events, 'r1', 'done').atMs + 32);

    const big = new EngineModel({ name: 'e', kvCapacityTokens: 256 });
    big.submit({ id: 'huge', prompt: text('h', 1000), maxTokens: 2 }, 0);
    big.submit({ id: 'small', prompt: text('s', 4), maxTokens: 2 }, 0);
    big.advance(0);
    expect(big.metrics()).toMatchObject({ running: 1, waiting: 1, kvUsage: 1 });
    const rest = run(big, []);
    expect(at(rest, 'small', 'first-token').atMs).toBe(at(rest, 'huge', 'done').atMs + 1);
  });

  it('loads a LoRA adapter once, evicts the least recently used one not in use, and never one in use', () => {
    const m = new EngineModel({ name: 'e', maxLoras: 1, loraLoadMs: 200 });
    const req = (id: string, model: string): EngineRequest => ({ id, prompt: text('q', 40), maxTokens: 2, model });
    const first = run(m, [[0, req('s1', 'sql')]]);
    expect(at(first, 's1', 'first-token').atMs).toBe(200 + 10);
    const second = run(m, [[1000, req('s2', 'sql')]]);
    // Loaded, and 2 of its prompt's 40 tokens' 3 blocks are cached: 8 tokens to prefill.
    expect(at(second, 's2', 'first-token').atMs).toBe(1000 + 2);
    const base = run(m, [[2000, { id: 'b', prompt: text('z', 40), maxTokens: 2, model: 'llama-3.1-8b' }]]);
    expect(at(base, 'b', 'first-token').atMs).toBe(2000 + 10);

    m.submit(req('c1', 'chat'), 3000);
    m.submit(req('s3', 'sql'), 3000);
    m.advance(3000);
    // With one adapter slot, sql cannot be loaded while chat's request runs.
    expect(m.metrics()).toMatchObject({ running: 1, waiting: 1, lorasRunning: ['chat'], lorasWaiting: ['sql'], maxLoras: 1 });
    const rest = run(m, []);
    // The same prompt is not cached under another adapter.
    expect(at(rest, 'c1', 'first-token')).toMatchObject({ atMs: 3000 + 200 + 10, cachedTokens: 0 });
    expect(at(rest, 's3', 'first-token')).toMatchObject({ atMs: at(rest, 'c1', 'done').atMs + 200 + 2, cachedTokens: 32 });
  });

  it('counts prefix cache queries and hits in tokens at admission', () => {
    const m = new EngineModel({ name: 'e' });
    run(m, [
      [0, { id: 'r1', prompt: text('a', 40), maxTokens: 1 }],
      [100, { id: 'r2', prompt: text('a', 40), maxTokens: 1 }],
    ]);
    // 40 tokens are 2 full blocks and a partial one: the partial block is never cached.
    expect(m.metrics()).toMatchObject({ prefixQueriesTokens: 80, prefixHitsTokens: 32 });
  });

  it('is deterministic: the same load gives the same events and metrics', () => {
    const load = (): Array<[number, EngineRequest]> => {
      const rnd = mulberry32(7);
      const systems = ['You are terse. ', 'You are a pirate. ', 'Answer in French. '].map((s) => s.repeat(60));
      let t = 0;
      return Array.from({ length: 500 }, (_, i) => {
        t += Math.floor(rnd() * 40);
        const model = rnd() < 0.3 ? `lora-${Math.floor(rnd() * 6)}` : undefined;
        return [t, { id: `r${i}`, prompt: `${systems[i % 3]}question ${Math.floor(rnd() * 1000)}`, maxTokens: 1 + Math.floor(rnd() * 64), ...(model ? { model } : {}) }];
      });
    };
    const once = () => {
      const m = new EngineModel({ name: 'e', kvCapacityTokens: 8192, maxLoras: 2 });
      return { events: run(m, load()), metrics: m.metrics(), text: m.prometheusText() };
    };
    const a = once();
    expect(a.events).toHaveLength(1000);
    expect(a.metrics.prefixHitsTokens).toBeGreaterThan(0);
    expect(once()).toEqual(a);
  });

  describe('prometheusText', () => {
    const loaded = (flavour: NonNullable<EngineOptions['metricsFlavour']>) => {
      const m = new EngineModel({ name: 'e', maxBatch: 1, maxLoras: 2, metricsFlavour: flavour });
      run(m, [[0, { id: 'r0', prompt: text('a', 40), maxTokens: 1, model: 'sql' }]]);
      m.submit({ id: 'r1', prompt: text('a', 40), maxTokens: 4, model: 'sql' }, 1000);
      m.submit({ id: 'r2', prompt: text('b', 40), maxTokens: 4, model: 'chat' }, 1000);
      m.advance(1000);
      return m.prometheusText();
    };

    it('vllm (v1): requests, KV usage, prefix cache counters and LoRA info', () => {
      const t = loaded('vllm');
      expect(t).toContain('# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="llama-3.1-8b",engine="0"} 1\n');
      expect(t).toContain('vllm:num_requests_waiting{model_name="llama-3.1-8b",engine="0"} 1\n');
      expect(t).toContain('vllm:kv_cache_usage_perc{model_name="llama-3.1-8b",engine="0"} 0.00146484375\n');
      expect(t).toContain('# TYPE vllm:prefix_cache_queries_total counter\nvllm:prefix_cache_queries_total{model_name="llama-3.1-8b",engine="0"} 80\n');
      expect(t).toContain('vllm:prefix_cache_hits_total{model_name="llama-3.1-8b",engine="0"} 32\n');
      expect(t).toContain('vllm:lora_requests_info{running_lora_adapters="sql",waiting_lora_adapters="chat",max_lora="2"} 1\n');
      expect(t).not.toContain('gpu_');
    });

    it('vllm-legacy (v0): gpu_cache_usage_perc and a hit rate gauge', () => {
      const t = loaded('vllm-legacy');
      expect(t).toContain('vllm:gpu_cache_usage_perc{model_name="llama-3.1-8b",engine="0"} 0.00146484375\n');
      expect(t).toContain('# TYPE vllm:gpu_prefix_cache_hit_rate gauge\nvllm:gpu_prefix_cache_hit_rate{model_name="llama-3.1-8b",engine="0"} 0.4\n');
      expect(t).not.toContain('kv_cache_usage_perc');
      expect(t).not.toContain('prefix_cache_hits_total');
    });

    it('sglang: running, queue, token usage and hit rate', () => {
      const t = loaded('sglang');
      expect(t).toContain('sglang:num_running_reqs{model_name="llama-3.1-8b"} 1\n');
      expect(t).toContain('sglang:num_queue_reqs{model_name="llama-3.1-8b"} 1\n');
      expect(t).toContain('sglang:token_usage{model_name="llama-3.1-8b"} 0.00146484375\n');
      expect(t).toContain('sglang:cache_hit_rate{model_name="llama-3.1-8b"} 0.4\n');
      expect(t).not.toContain('vllm:');
    });

    describe.skipIf(skipObservability)('promtool', () => {
      it('parses every flavour', { timeout: observabilitySetupTimeoutMs() }, async () => {
        const { promtool } = await observabilityReady();
        for (const flavour of ['vllm', 'vllm-legacy', 'sglang'] as const) {
          // Format errors exit 1; lint problems exit 3, and the only one allowed is the ':'
          // that every vLLM and SGLang metric name has.
          const r = spawnSync(promtool, ['check', 'metrics'], { input: loaded(flavour), encoding: 'utf8' });
          const problems = r.stderr.split('\n').filter((l) => l !== '' && !l.endsWith("metric names should not contain ':'"));
          expect({ flavour, status: r.status, problems }).toEqual({ flavour, status: 3, problems: [] });
        }
      });
    });
  });
});

describe('EngineModel with chunked prefill', () => {
  it('a cache miss lengthens the steps of every running request; a hit does not; first tokens come at a step end', () => {
    const run = (second: string) => {
      const m = new EngineModel({ name: 'c', maxBatch: 4, prefillChunkTokens: 256, prefillMsPerToken: 0.5, decodeBaseMs: 10, decodePerSeqMs: 0 });
      const shared = 'p'.repeat(4000);
      m.submit({ id: 'a', prompt: shared, maxTokens: 500 }, 0);
      const events = m.advance(2000);
      m.submit({ id: 'b', prompt: second, maxTokens: 1 }, 2000);
      events.push(...m.advance(1e6));
      const done = (id: string) => events.find((e) => e.id === id && e.kind === 'done')!.atMs;
      const first = (id: string) => events.find((e) => e.id === id && e.kind === 'first-token')!;
      return { aDone: done('a'), b: first('b') };
    };
    const miss = run('q'.repeat(4000));
    const hit = run('p'.repeat(4000));
    expect(hit.b.cachedTokens).toBeGreaterThan(900);
    expect(miss.b.cachedTokens).toBe(0);
    // 1000 uncached tokens in chunks of 256: four longer steps for request a too.
    expect(miss.aDone).toBeGreaterThan(hit.aDone + 400);
    expect(miss.b.atMs).toBeGreaterThan(hit.b.atMs);
  });
});
