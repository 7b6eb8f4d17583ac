import { describe, expect, it } from 'vitest';
import { EngineModel } from '@jairouter/testkit/engine/model';
import { labelValue, readEngineMetrics, saturation } from './signals.ts';

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="llama"} 5.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.75
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{engine="0",model_name="llama"} 1000.0
vllm:prefix_cache_hits_total{engine="0",model_name="llama"} 400.0
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters=""} 1.7e9
vllm:lora_requests_info{max_lora="4",running_lora_adapters="old-lora",waiting_lora_adapters=""} 1.6e9
vllm:request_success_total{finished_reason="stop"} 9
`;

describe('readEngineMetrics', () => {
  it('vLLM v1: queue, running, KV usage, the prefix hit ratio over the interval, the LoRA adapters of the newest info series', () => {
    const first = readEngineMetrics(VLLM, 1000, 2, null)!;
    expect(first).toMatchObject({ at: 1000, waiting: 5, running: 3, kvUsage: 0.75, prefixHitRatio: 0.4, inflightAtRead: 2 });
    expect([...first.loras].sort()).toEqual(['chat-lora', 'sql-lora']);
    const later = VLLM.replace('queries_total{engine="0",model_name="llama"} 1000.0', 'queries_total{engine="0",model_name="llama"} 1100.0').replace('hits_total{engine="0",model_name="llama"} 400.0', 'hits_total{engine="0",model_name="llama"} 490.0');
    expect(readEngineMetrics(later, 2000, 0, first)!.prefixHitRatio).toBeCloseTo(0.9);
  });

  it('two engines of one server (data parallel): counts summed, fractions averaged', () => {
    const text = 'vllm:num_requests_waiting{engine="0"} 1\nvllm:num_requests_waiting{engine="1"} 2\nvllm:kv_cache_usage_perc{engine="0"} 0.2\nvllm:kv_cache_usage_perc{engine="1"} 0.6\nvllm:num_requests_running{engine="0"} 4\n';
    expect(readEngineMetrics(text, 0, 0, null)).toMatchObject({ waiting: 3, running: 4, kvUsage: 0.4 });
  });

  it('vLLM v0 and SGLang names; NaN for what an engine does not publish; null for a text with none of them', () => {
    const v0 = readEngineMetrics('vllm:num_requests_waiting 0\nvllm:num_requests_running 1\nvllm:gpu_cache_usage_perc 0.5\nvllm:gpu_prefix_cache_hit_rate 0.25\n', 0, 0, null)!;
    expect(v0).toMatchObject({ waiting: 0, running: 1, kvUsage: 0.5, prefixHitRatio: 0.25 });
    const sg = readEngineMetrics('sglang:num_queue_reqs{model_name="m"} 7\nsglang:num_running_reqs{model_name="m"} 2\nsglang:token_usage{model_name="m"} 0.9\nsglang:cache_hit_rate{model_name="m"} 0.6\n', 0, 0, null)!;
    expect(sg).toMatchObject({ waiting: 7, running: 2, kvUsage: 0.9, prefixHitRatio: 0.6 });
    expect(Number.isNaN(readEngineMetrics('vllm:num_requests_waiting 1\n', 0, 0, null)!.kvUsage)).toBe(true);
    expect(readEngineMetrics('# ollama has no such metrics\nprocess_cpu_seconds_total 3\n', 0, 0, null)).toBeNull();
    expect(readEngineMetrics('<html>not metrics</html>', 0, 0, null)).toBeNull();
  });

  it('reads what the testkit engine publishes in every flavour (as vLLM v1, v0 and SGLang write it)', () => {
    for (const flavour of ['vllm', 'vllm-legacy', 'sglang'] as const) {
      const m = new EngineModel({ name: 'e', maxBatch: 1, metricsFlavour: flavour });
      for (let i = 0; i < 3; i++) m.submit({ id: `r${i}`, prompt: 'x'.repeat(400), maxTokens: 50 }, 0);
      m.advance(1);
      const s = readEngineMetrics(m.prometheusText(), 1, 0, null)!;
      expect(s, flavour).toMatchObject({ waiting: 2, running: 1 });
      expect(s.kvUsage, flavour).toBeGreaterThan(0);
    }
  });

  it('labelValue undoes the escapes of the text format', () => {
    expect(labelValue('a="x\\"y",b="1\\\\2"', 'a')).toBe('x"y');
    expect(labelValue('a="x\\"y",b="1\\\\2"', 'b')).toBe('1\\2');
    expect(labelValue('a="1"', 'c')).toBeUndefined();
  });
});

describe('saturation', () => {
  const s = (waiting: number, running: number, kvUsage: number) => readEngineMetrics(`vllm:num_requests_waiting ${waiting}\nvllm:num_requests_running ${running}\nvllm:kv_cache_usage_perc ${kvUsage}\n`, 0, 0, null);
  it('the larger of KV usage and the waiting share; in-flight / maxConcurrency without readings; NaN with neither', () => {
    expect(saturation(s(0, 0, 0), 0, undefined)).toBe(0);
    expect(saturation(s(1, 3, 0.2), 0, undefined)).toBe(0.25);
    expect(saturation(s(0, 8, 0.95), 0, undefined)).toBe(0.95);
    expect(saturation(null, 3, 4)).toBe(0.75);
    expect(saturation(null, 9, 4)).toBe(1);
    expect(Number.isNaN(saturation(null, 3, undefined))).toBe(true);
  });
});
