// The OpenTelemetry gen_ai series in Prometheus form, with the gateway's own labels, and spend
// by tenant and model; their cardinality bounded by the config, never by what clients send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { waitFor } from '@jairouter/testkit/wait-for';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-genai-metrics-0001';
let backend: FakeBackend;
let broken: FakeBackend;
let proxy: InProcessProxy;

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'gm' });
  broken = await startFakeOpenAI({ name: 'broken' });
  broken.setMode('error500');
  proxy = await startInProcess(toYaml(
    // Two attempts on a broken backend (one a retry), then the fallback route `chat`.
    modelRoute('primary', {
      models: ['primary'],
      backends: [{ name: 'down', url: broken.url }],
      retry: { attempts: 1, backoff: { base: '1ms', max: '2ms' } },
      healthCheck: { passive: { consecutiveFailures: 100 } },
      fallback: { models: ['chat'] },
    }),
    modelRoute('chat', {
      models: ['chat', 'gpt-4*'],
      backends: [{ name: 'main', url: backend.url, model: 'served-model', pricing: { inputPerMillion: 2_000_000, outputPerMillion: 4_000_000 } }],
      retry: { attempts: 0 },
    }),
    tenantWithKeys('team', { k: KEY }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  await broken?.close();
});

const scrape = async (): Promise<string> => (await fetch(`${proxy.adminUrl}/metrics`)).text();

/** The value of the one sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Sample lines of the gateway's own and gen_ai series (process metrics excluded: they vary by themselves). */
const series = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('jairouter_process_')).length;

const BASE = {
  gen_ai_operation_name: 'chat',
  gen_ai_provider_name: 'openai',
  gen_ai_request_model: 'chat',
  gen_ai_response_model: 'served-model',
  tenant: 'ai/team',
  route: 'ai/chat',
  backend: 'main',
};

describe('gen_ai metrics', () => {
  it('a JSON and a streamed chat: duration, token usage by type, time to first token and per output token, spend at the backend\'s prices', async () => {
    const client = proxy.client(KEY);
    const r = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'one two three' }] });
    const stream = await client.chat.completions.create({ model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three' }] });
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    for await (const c of stream) if (c.usage) usage = c.usage;
    const text = await waitFor('both requests in the metrics', async () => {
      const t = await scrape();
      return sample(t, 'gen_ai_server_request_duration_seconds_count', { ...BASE, error_type: '' }) === 2 ? t : undefined;
    }, 5_000);
    const inTokens = r.usage!.prompt_tokens + usage.prompt_tokens;
    const outTokens = r.usage!.completion_tokens + usage.completion_tokens;
    expect(sample(text, 'gen_ai_client_token_usage_sum', { ...BASE, gen_ai_token_type: 'input' })).toBe(inTokens);
    expect(sample(text, 'gen_ai_client_token_usage_sum', { ...BASE, gen_ai_token_type: 'output' })).toBe(outTokens);
    expect(sample(text, 'gen_ai_client_token_usage_count', { ...BASE, gen_ai_token_type: 'output' })).toBe(2);
    // Only the stream has a first token and a time per output token.
    expect(sample(text, 'gen_ai_server_time_to_first_token_seconds_count', BASE)).toBe(1);
    expect(sample(text, 'gen_ai_server_time_per_output_token_seconds_count', BASE)).toBe(1);
    // 2 per million input tokens... in the pricing unit: 2 per token in, 4 per token out.
    expect(sample(text, 'jairouter_spend_total', { tenant: 'ai/team', gen_ai_request_model: 'chat' })).toBeCloseTo(inTokens * 2 + outTokens * 4, 6);
  });

  it('a failed request carries its error code as error_type', async () => {
    backend.setMode('error500');
    try {
      await expect(proxy.client(KEY).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow();
    } finally {
      backend.setMode('ok');
    }
    // The backend answered 500 and no other was left: 502 bad_gateway. No backend served it.
    const failed = { ...BASE, gen_ai_provider_name: '', gen_ai_response_model: '', backend: '', error_type: 'bad_gateway' };
    await waitFor('the failure in the metrics', async () => sample(await scrape(), 'gen_ai_server_request_duration_seconds_count', failed) === 1, 5_000);
  });

  it('10,000 made-up model names and 1,000 names under a prefix route create no series', async () => {
    const send = async (model: string): Promise<number> => (await proxy.post('/v1/chat/completions', KEY, { model, messages: [{ role: 'user', content: 'x' }] }, { 'x-random-header': model })).status;
    // Warm up every series the requests below can touch.
    expect(await send('no-such-model-warm')).toBe(404);
    expect(await send('gpt-4-warm')).toBe(200);
    const before = series(await scrape());
    const statuses = new Map<number, number>();
    const models = [
      ...Array.from({ length: 10_000 }, (_, i) => `bogus-${i}-${Math.random().toString(36).slice(2)}`),
      ...Array.from({ length: 1_000 }, (_, i) => `gpt-4-${i}-${Math.random().toString(36).slice(2)}`),
    ];
    for (let i = 0; i < models.length; i += 50) {
      const batch = await Promise.all(models.slice(i, i + 50).map(send));
      for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 404: 10_000, 200: 1_000 });
    const text = await scrape();
    expect(series(text)).toBe(before);
    expect(sample(text, 'gen_ai_server_request_duration_seconds_count', { ...BASE, gen_ai_request_model: 'gpt-4*', error_type: '' })).toBe(1_001);
    expect(text).not.toContain('bogus-');
  }, 120_000);
});

describe('the gateway\'s own series', () => {
  it('attempts, retries and a fallback route; the config version served and when it was applied', async () => {
    const r = await proxy.client(KEY).chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'x' }] });
    expect(r.choices[0]!.message.content).toContain('Hello from gm');
    const text = await scrape();
    expect(sample(text, 'jairouter_upstream_attempts_total', { route: 'ai/primary', backend: 'down' })).toBe(2);
    expect(sample(text, 'jairouter_retries_total', { route: 'ai/primary', backend: 'down' })).toBe(1);
    // The fallback's attempt is the request's third.
    expect(sample(text, 'jairouter_retries_total', { route: 'ai/chat', backend: 'main' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'jairouter_fallbacks_total', { route: 'ai/primary', fallback: 'ai/chat' })).toBe(1);
    const version = proxy.swap.current.config.version;
    expect(sample(text, 'jairouter_config_info', { version })).toBe(1);
    const applied = sample(text, 'jairouter_config_applied_timestamp_seconds', {}) ?? Number(/^jairouter_config_applied_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
    expect(applied * 1000).toBe(proxy.swap.current.appliedAt);
  });
});
