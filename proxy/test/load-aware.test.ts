// LoadAware balancing and engine metrics through the proxy, against fake vLLM engines
// (@jairouter/testkit/fake-vllm: a queue, a KV cache, a prefix cache and LoRA adapters, with
// vLLM's /metrics), driven by the official `openai` SDK. The engines' state is set by submitting
// work to them directly; the proxy learns it only from their /metrics, read in the background.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeVllm, type FakeVllm } from '@jairouter/testkit/fake-vllm';
import { waitFor } from '@jairouter/testkit/wait-for';
import { PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-load-aware-0001';
const SYSTEM = 'You are the SQL assistant of ACME. Answer with one query, no prose, and never drop a table. '.repeat(8);

let a: FakeVllm;
let b: FakeVllm;
let c: FakeVllm;
let busy: FakeVllm;
let steady: FakeVllm;
let metricsServer: Server;
let metricsUrl: string;
let proxy: InProcessProxy;

/** Fast engines: a request of a few tokens ends within milliseconds. */
const engine = (name: string, extra: Partial<Parameters<typeof startFakeVllm>[0]> = {}) =>
  startFakeVllm({ name, maxBatch: 4, decodeBaseMs: 1, decodePerSeqMs: 0, prefillMsPerToken: 0.01, loras: ['sql-lora'], ...extra });

beforeAll(async () => {
  [a, b, c, busy, steady] = await Promise.all([
    engine('vllm-a'), engine('vllm-b'), engine('vllm-c'),
    engine('vllm-busy', { maxBatch: 1, decodeBaseMs: 1000 }), engine('vllm-steady', { maxBatch: 8, kvCapacityTokens: 200_000 }),
  ]);
  // An engine's metrics at a path of its own, and a path that never answers.
  metricsServer = createServer((req, res) => {
    if (req.url === '/engine/metrics') res.end('vllm:num_requests_waiting{model_name="m"} 7\nvllm:num_requests_running{model_name="m"} 1\nvllm:kv_cache_usage_perc{model_name="m"} 0.5\n');
    else if (req.url !== '/slow') res.writeHead(404).end();
  });
  await new Promise<void>((r) => metricsServer.listen(0, '127.0.0.1', r));
  metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;
  const backend = (name: string, f: FakeVllm | string) => ({ name, adapter: 'vllm', url: typeof f === 'string' ? f : f.url, credentialsRef: PROVIDER_REF });
  proxy = await startInProcess(toYaml(
    providerSecret(),
    modelRoute('llama', {
      models: ['llama-3.1-8b'],
      loadBalancer: { strategy: 'LoadAware' },
      engineMetrics: { interval: '500ms' },
      backends: [backend('a', a), backend('b', b)],
    }),
    modelRoute('busy', {
      models: ['busy-llama'],
      loadBalancer: { strategy: 'LoadAware' },
      engineMetrics: { interval: '500ms' },
      backends: [{ ...backend('busy', busy), model: 'llama-3.1-8b' }, { ...backend('steady', steady), model: 'llama-3.1-8b' }],
    }),
    modelRoute('lora', {
      models: ['sql-lora'],
      loadBalancer: { strategy: 'LoadAware', loadAware: { prefixAffinity: { enabled: false } } },
      engineMetrics: { interval: '500ms' },
      backends: [backend('b', b), backend('c', c)],
    }),
    modelRoute('prefix', {
      models: ['llama-prefix'],
      loadBalancer: { strategy: 'LoadAware', loadAware: { prefixAffinity: { blockSize: 128, maxBlocks: 4, epsilon: 0.5 } } },
      backends: [{ ...backend('a', a), model: 'llama-3.1-8b' }, { ...backend('b', b), model: 'llama-3.1-8b' }, { ...backend('c', c), model: 'llama-3.1-8b' }],
    }),
    modelRoute('no-prefix', {
      models: ['llama-spread'],
      loadBalancer: { strategy: 'LoadAware', loadAware: { prefixAffinity: { enabled: false } } },
      backends: [{ ...backend('a', a), model: 'llama-3.1-8b' }, { ...backend('b', b), model: 'llama-3.1-8b' }, { ...backend('c', c), model: 'llama-3.1-8b' }],
    }),
    modelRoute('paths', {
      models: ['paths'],
      engineMetrics: { interval: '500ms', path: '/engine/metrics' },
      backends: [backend('custom', `${metricsUrl}/v1`)],
    }),
    modelRoute('slow', {
      models: ['slow'],
      engineMetrics: { interval: '600ms', timeout: '500ms', path: '/slow' },
      backends: [backend('slow', `${metricsUrl}/v1`)],
    }),
    tenantWithKeys('acme', { k: KEY }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([a?.close(), b?.close(), c?.close(), busy?.close(), steady?.close()]);
  metricsServer?.closeAllConnections();
  await new Promise((r) => metricsServer?.close(r));
});

const scrape = async () => (await fetch(`${proxy.adminUrl}/metrics`)).text();
/** A gauge's value for the labels given (as they appear in the text, in order), or undefined. */
function gauge(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(labels)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  return undefined;
}
const served = (f: FakeVllm) => f.requests.filter((r) => r.path.endsWith('/completions')).length;

describe('LoadAware through the proxy, with engine metrics read in the background', () => {
  it('sends new requests away from the engine whose /metrics report a queue, to one running more but queueing none; the autoscaling metrics show it', async () => {
    // The busy engine: one long request running, two waiting behind it (maxBatch 1). The steady
    // one: four long requests running, room for more (fewer running would win by that alone).
    for (let i = 0; i < 3; i++) busy.model.submit({ id: `backlog-${i}`, prompt: 'x'.repeat(400), maxTokens: 10_000 }, 0);
    for (let i = 0; i < 4; i++) steady.model.submit({ id: `long-${i}`, prompt: 'z'.repeat(400), maxTokens: 20_000 }, 0);
    const text = await waitFor('both engines\' state in the proxy\'s metrics', async () => {
      const t = await scrape();
      return gauge(t, 'jairouter_engine_requests_waiting', 'route="ai/busy",backend="busy"') === 2 && gauge(t, 'jairouter_engine_requests_running', 'route="ai/busy",backend="steady"') === 4 ? t : undefined;
    });
    expect(gauge(text, 'jairouter_engine_requests_running', 'route="ai/busy",backend="busy"')).toBe(1);
    expect(gauge(text, 'jairouter_backend_queue_depth', 'route="ai/busy",backend="busy",source="engine"')).toBe(2);
    expect(gauge(text, 'jairouter_backend_saturation', 'route="ai/busy",backend="busy"')).toBeGreaterThanOrEqual(2 / 3);
    expect(gauge(text, 'jairouter_backend_endpoints', 'route="ai/busy",backend="busy",state="ready"')).toBe(1);
    expect(gauge(text, 'jairouter_engine_signal_age_seconds', 'route="ai/busy",backend="busy"')).toBeLessThan(1.5);
    for (let i = 0; i < 6; i++) {
      const r = await proxy.client(KEY).chat.completions.create({ model: 'busy-llama', messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 3 });
      expect(r.choices[0]!.message.content).toContain('Hello from vllm-steady');
    }
    expect(served(steady)).toBe(6);
    expect(served(busy)).toBe(0);
    // Every attempt's answer headers came: the gateway's own queue is empty again.
    expect(gauge(await scrape(), 'jairouter_backend_queue_depth', 'route="ai/busy",backend="steady",source="gateway"')).toBe(0);
  });

  it('prefers the engine running the requested LoRA adapter, though it is busier', async () => {
    c.model.submit({ id: 'lora-running', prompt: 'y'.repeat(200), maxTokens: 20_000, model: 'sql-lora' }, 0);
    await waitFor('engine c\'s adapter in its readings', async () => gauge(await scrape(), 'jairouter_engine_requests_running', 'route="ai/lora",backend="c"') === 1);
    const before = served(c);
    for (let i = 0; i < 4; i++) {
      const r = await proxy.client(KEY).chat.completions.create({ model: 'sql-lora', messages: [{ role: 'user', content: `select ${i}` }], max_tokens: 3 });
      expect(r.choices[0]!.message.content).toContain('Hello from vllm-c');
    }
    expect(served(c) - before).toBe(4);
  });

  it('prefixAffinity: requests sharing a system prompt meet it in one engine\'s prefix cache; other prompts spread', async () => {
    const ask = (system: string, q: string) => proxy.client(KEY).chat.completions.create({ model: 'llama-prefix', messages: [{ role: 'system', content: system }, { role: 'user', content: q }], max_tokens: 3 });
    const homes = new Set<string>();
    let cached = 0;
    for (let i = 0; i < 8; i++) {
      const r = await ask(SYSTEM, `question ${i}`);
      homes.add(r.choices[0]!.message.content!.split(' ')[2]!);
      if (i > 0) cached += (r.usage as { prompt_tokens_details?: { cached_tokens?: number } }).prompt_tokens_details?.cached_tokens ?? 0;
    }
    expect(homes.size).toBe(1);
    // Every request after the first found the system prompt's blocks cached.
    expect(cached).toBeGreaterThan(7 * 150);
    const spread = new Set<string>();
    for (let i = 0; i < 12; i++) spread.add((await ask(`${i} `.repeat(40) + SYSTEM, 'q')).choices[0]!.message.content!.split(' ')[2]!);
    expect(spread.size).toBeGreaterThan(1);
  });

  it('prefixAffinity.enabled: false balances requests sharing a prompt by load alone', async () => {
    const ask = () => proxy.client(KEY).chat.completions.create({ model: 'llama-spread', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }], max_tokens: 3 });
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add((await ask()).choices[0]!.message.content!.split(' ')[2]!);
    expect(seen.size).toBe(3);
  });

  it('engineMetrics: read at the path and interval set; a read slower than its timeout is an error, and no reading is kept', async () => {
    const text = await waitFor('two reads of each', async () => {
      const t = await scrape();
      const ok = gauge(t, 'jairouter_engine_scrapes_total', 'route="ai/paths",backend="custom",result="ok"') ?? 0;
      const failed = gauge(t, 'jairouter_engine_scrapes_total', 'route="ai/slow",backend="slow",result="error"') ?? 0;
      return ok >= 2 && failed >= 2 ? t : undefined;
    });
    expect(gauge(text, 'jairouter_engine_requests_waiting', 'route="ai/paths",backend="custom"')).toBe(7);
    expect(gauge(text, 'jairouter_engine_kv_cache_usage_ratio', 'route="ai/paths",backend="custom"')).toBe(0.5);
    expect(gauge(text, 'jairouter_engine_requests_waiting', 'route="ai/slow"')).toBeUndefined();
    expect(proxy.logs.some((l) => l.msg?.includes('engine metrics unreadable') && String(l.reason ?? '').length > 0)).toBe(true);
  });
});
