// The fake vLLM server (fake-vllm.ts) through the official OpenAI SDK and plain fetch: the
// answers carry the engine model's usage, and /metrics shows its queue while requests run.
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyWords, startFakeVllm, type FakeVllm } from './fake-vllm.ts';
import { waitFor } from './wait-for.ts';

const BASE = 'llama-3.1-8b';
const SYSTEM = 'You are a careful assistant who answers in one short sentence. '.repeat(40);

/** A gauge's value in a /metrics body, by metric name (the first series). */
function gauge(text: string, metric: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`));
  if (line === undefined) throw new Error(`no ${metric} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('fake vLLM', () => {
  let vllm: FakeVllm;
  let client: OpenAI;

  beforeAll(async () => {
    // 100 virtual ms per real ms: a 16-token answer takes a few real ms.
    vllm = await startFakeVllm({ name: 'alpha', timeScale: 100, loras: ['sql-lora'] });
    client = new OpenAI({ baseURL: vllm.url, apiKey: 'unused', maxRetries: 0, timeout: 5_000 });
  });
  afterAll(async () => {
    await vllm.close();
  });

  it('answers a chat completion with the engine\'s usage', async () => {
    const r = await client.chat.completions.create({ model: BASE, messages: [{ role: 'user', content: 'Hi there' }], max_tokens: 5 });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe(BASE);
    expect(r.choices[0]!.message.content).toBe('Hello from alpha more more');
    expect(r.choices[0]!.finish_reason).toBe('length');
    // "<|user|>Hi there\n" is 17 chars: 5 tokens of 4 chars.
    expect(r.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('streams: role and first token, then the rest, the finish reason, usage and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: BASE,
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: 'Hello' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(replyWords('alpha', 16).join(' '));
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 16, prompt_tokens_details: { cached_tokens: 0 } });
    const raw = await fetch(`${vllm.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: BASE, messages: [{ role: 'user', content: 'x' }], stream: true, max_tokens: 2 }),
    });
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    expect((await raw.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('reports cached tokens for a repeated prefix, and none for another', async () => {
    const ask = (system: string, question: string) =>
      client.chat.completions.create({ model: BASE, messages: [{ role: 'system', content: system }, { role: 'user', content: question }], max_tokens: 2 });
    expect((await ask(SYSTEM, 'first?')).usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const again = await ask(SYSTEM, 'second?');
    // The shared prefix, "<|system|>" + SYSTEM + "\n<|user|>", is 2539 chars: 39 full blocks of 64.
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBe(39 * 16);
    expect((await ask(`Other. ${SYSTEM}`, 'first?')).usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const metrics = await (await fetch(`${vllm.origin}/metrics`)).text();
    expect(gauge(metrics, 'vllm:prefix_cache_hits_total')).toBeGreaterThanOrEqual(39 * 16);
  });

  it('answers a text completion', async () => {
    const r = await client.completions.create({ model: BASE, prompt: 'Once upon a time', max_tokens: 3 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe('Hello from alpha');
    expect(r.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });
  });

  it('lists a LoRA adapter under the base model once used, and 404s an unknown model', async () => {
    const before = await client.models.list();
    expect(before.data.map((m) => m.id)).toEqual([BASE]);
    const r = await client.chat.completions.create({ model: 'sql-lora', messages: [{ role: 'user', content: 'SELECT?' }], max_tokens: 2 });
    expect(r.model).toBe('sql-lora');
    const after = await client.models.list();
    expect(after.data).toEqual([expect.objectContaining({ id: BASE, parent: null }), expect.objectContaining({ id: 'sql-lora', parent: BASE })]);

    const unknown = client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    await expect(unknown).rejects.toBeInstanceOf(NotFoundError);
    await expect(unknown).rejects.toMatchObject({ status: 404, message: expect.stringContaining('The model `nope` does not exist.') });
  });

  it('serves /health', async () => {
    expect((await fetch(`${vllm.origin}/health`)).status).toBe(200);
  });
});

describe('fake vLLM under load', () => {
  let vllm: FakeVllm;

  beforeAll(async () => {
    // One slot, in real time: each 20-token answer takes about 20 * 16.5 ms, so the queue is visible.
    vllm = await startFakeVllm({ name: 'busy', maxBatch: 1, loras: ['sql-lora'], maxLoras: 2 });
  });
  afterAll(async () => {
    await vllm.close();
  });

  it('shows waiting and running requests in /metrics while they are in flight', async () => {
    const client = new OpenAI({ baseURL: vllm.url, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    const inFlight = [0, 1, 2].map((i) =>
      client.chat.completions.create({ model: i === 0 ? 'sql-lora' : BASE, messages: [{ role: 'user', content: `request ${i}` }], max_tokens: 20 }),
    );
    const scrape = async () => (await fetch(`${vllm.origin}/metrics`)).text();
    const busy = await waitFor('a request waiting behind a running one', async () => {
      const text = await scrape();
      return gauge(text, 'vllm:num_requests_waiting') >= 1 && gauge(text, 'vllm:num_requests_running') === 1 && text;
    });
    expect(gauge(busy, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.usage?.completion_tokens)).toEqual([20, 20, 20]);
    const idle = await scrape();
    expect(gauge(idle, 'vllm:num_requests_running')).toBe(0);
    expect(gauge(idle, 'vllm:num_requests_waiting')).toBe(0);
    expect(idle).toContain('vllm:lora_requests_info{running_lora_adapters="",waiting_lora_adapters="",max_lora="2"}');
  });
});
