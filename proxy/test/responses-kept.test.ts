// The Responses API on backends that do not serve it (served through chat): the gateway keeps
// the answers itself (responses/store.ts), so previous_response_id, retrieve, inputItems.list and
// delete work there as on OpenAI. Driven by the official `openai` SDK, in process against the
// OpenAI-compatible and Anthropic fakes; then two proxy processes sharing one redis-server.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { startRedis, type RedisServer } from '@jairouter/testkit/redis';
import { PROVIDER_REF, modelRoute, providerSecret, secret, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, type ProxyHandle } from './harness.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-kept-acme-0001';
const OTHER = 'sk-kept-globex-0002';
const RESP_MASKED = 'sk-kept-respmasked-0003';
const EMAIL = 'jane.doe@example.com';
const TOOL = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

let chat: FakeBackend;
let native: FakeBackend;
let claude: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  chat = await startFakeOpenAI({ name: 'chat' });
  native = await startFakeOpenAI({ name: 'native' });
  claude = await startAnthropicProvider({ name: 'claude-kept' });
  proxy = await startInProcess(toYaml(
    providerSecret(),
    modelRoute('ollama', { models: ['llama3'], backends: [{ name: 'ollama', adapter: 'ollama', url: chat.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('gpt', { models: ['gpt-4.1'], backends: [{ name: 'openai', adapter: 'openai', url: native.url, credentialsRef: PROVIDER_REF }] }),
    secret('cred-claude', { stringData: { key: claude.credential } }),
    modelRoute('claude', { models: ['claude'], backends: [{ name: 'claude-kept', adapter: 'anthropic', url: claude.url, model: 'claude-sonnet-4-5', credentialsRef: { name: 'cred-claude', key: 'key' } }] }),
    tenantWithKeys('acme', { k: KEY }),
    tenantWithKeys('globex', { k: OTHER }),
    tenantWithKeys('resp-masked', { k: RESP_MASKED }, { masking: { responses: ['email'] } }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await chat?.close();
  await native?.close();
  await claude?.close();
});

const client = (key = KEY): OpenAI => proxy.client(key);
const lastChat = () => chat.requests.at(-1)!.body as { messages: { role: string; content: unknown; tool_calls?: unknown[] }[] };

describe('responses the gateway keeps (backends served through chat)', () => {
  it('a conversation over previous_response_id: each turn replays the earlier ones to the chat backend', async () => {
    const first = await client().responses.create({ model: 'llama3', instructions: 'be brief', input: 'my name is Ada' });
    expect(first.id).toMatch(/^resp_jrg[0-9a-f]{32}$/);
    expect((first as unknown as { store: boolean }).store).toBe(true);
    const second = await client().responses.create({ model: 'llama3', previous_response_id: first.id, input: 'what is my name?' });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe('Hello from chat: you said "what is my name?"');
    // Instructions are not carried over (as OpenAI defines): the second request has none.
    expect(lastChat().messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'my name is Ada' }] },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'what is my name?' },
    ]);
    const third = await client().responses.create({ model: 'llama3', previous_response_id: second.id, input: 'and again?' });
    expect(third.output_text).toContain('and again?');
    expect(lastChat().messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
  });

  it('a tool loop against the Anthropic fake: streamed call, then only its output with previous_response_id', async () => {
    const stream = client().responses.stream({ model: 'claude', input: 'weather in Paris?', tools: [TOOL] });
    for await (const _ of stream) { /* drained */ }
    const first = await stream.finalResponse();
    const call = first.output.find((o) => o.type === 'function_call') as { call_id: string; name: string };
    expect(call.name).toBe('get_weather');
    const second = await client().responses.create({
      model: 'claude',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      tools: [TOOL],
    });
    expect(second.output_text).toBe('The tool said: sunny');
    const sent = claude.requests.at(-1)!.json as { messages: { role: string; content: { type: string }[] }[] };
    expect(sent.messages.map((m) => [m.role, m.content.map((c) => c.type).join(',')])).toEqual([
      ['user', 'text'],
      ['assistant', 'tool_use'],
      ['user', 'tool_result'],
    ]);
  });

  it('retrieve, inputItems.list (this turn\'s input), delete; a deleted response cannot be continued', async () => {
    const first = await client().responses.create({ model: 'llama3', input: 'one' });
    const second = await client().responses.create({ model: 'llama3', previous_response_id: first.id, input: [{ role: 'user', content: 'two' }, { role: 'user', content: 'three' }] });
    const got = await client().responses.retrieve(second.id);
    expect(got).toMatchObject({ id: second.id, status: 'completed', previous_response_id: first.id, output_text: second.output_text });
    const items = await client().responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((i) => (i as { content: { text: string }[] }).content[0]!.text)).toEqual(['two', 'three']);
    expect(items.data.every((i) => /^msg_/.test(i.id!))).toBe(true);
    await client().responses.delete(second.id);
    await expect(client().responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const cont = await client().responses.create({ model: 'llama3', previous_response_id: second.id, input: 'four' }).catch((e: unknown) => e);
    expect(cont).toBeInstanceOf(OpenAI.NotFoundError);
    expect((cont as InstanceType<typeof OpenAI.APIError>).code).toBe('previous_response_not_found');
    const cancel = await client().responses.cancel(first.id).catch((e: unknown) => e);
    expect(cancel).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('another tenant sees none of it: 404 for retrieve, delete and previous_response_id, nothing sent upstream', async () => {
    const mine = await client().responses.create({ model: 'llama3', input: 'secret plans' });
    const before = chat.requests.length;
    await expect(client(OTHER).responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client(OTHER).responses.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client(OTHER).responses.create({ model: 'llama3', previous_response_id: mine.id, input: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(chat.requests.length).toBe(before);
    expect((await client().responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('store: false keeps nothing, and the answer says so', async () => {
    const r = await client().responses.create({ model: 'llama3', input: 'forget me', store: false });
    expect(r.id).not.toMatch(/^resp_jrg/);
    expect((r as unknown as { store: boolean }).store).toBe(false);
    await expect(client().responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a conversation begun on a chat backend goes on on a backend that serves the Responses API: the turns arrive as input items', async () => {
    const first = await client().responses.create({ model: 'llama3', input: 'start here' });
    const second = await client().responses.create({ model: 'gpt-4.1', previous_response_id: first.id, input: 'go on there' });
    expect(second.id).toMatch(/^resp_jr1/);
    expect(second.output_text).toContain('go on there');
    const sent = native.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).not.toHaveProperty('previous_response_id');
    expect((sent.body as { input: unknown[] }).input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'start here' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: first.output_text, annotations: [] }] },
      { type: 'message', role: 'user', content: 'go on there' },
    ]);
  });

  it('masking.responses: what is kept is what the client read, masked', async () => {
    const r = await client(RESP_MASKED).responses.create({ model: 'llama3', input: `mail ${EMAIL}` });
    expect(r.output_text).toContain('[MASKED:email]');
    const got = await client(RESP_MASKED).responses.retrieve(r.id);
    expect(JSON.stringify(got)).not.toContain(EMAIL);
    expect(got.output_text).toBe(r.output_text);
  });
});

describe('kept responses shared through Redis by two replicas', () => {
  let redis: RedisServer;
  let backend: FakeBackend;
  let a: ProxyHandle;
  let b: ProxyHandle;

  beforeAll(async () => {
    redis = await startRedis();
    backend = await startFakeOpenAI({ name: 'shared' });
    const yaml = toYaml(
      providerSecret(),
      modelRoute('ollama', { models: ['llama3'], backends: [{ name: 'ollama', adapter: 'ollama', url: backend.url, credentialsRef: PROVIDER_REF }] }),
      tenantWithKeys('acme', { k: KEY }),
    );
    const start = () => startProxy({ configs: yaml, args: ['--redis-url', redis.url, '--response-store-ttl', '10m'] });
    [a, b] = await Promise.all([start(), start()]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await backend?.close();
    await redis?.stop();
  });

  it('created on one replica, continued, retrieved and deleted through the other; kept with the configured time to live', async () => {
    const first = await a.client(KEY).responses.create({ model: 'llama3', input: 'hello from a' });
    const ttl = await redis.command('PTTL', `jr:resp:${first.id}`);
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
    // Kept in replica a's memory too (its fallback), which its metrics show.
    const scraped = await (await fetch(`${a.adminUrl}/metrics`)).text();
    expect(Number(/^jairouter_responses_kept (\d+)/m.exec(scraped)?.[1])).toBe(1);
    expect(Number(/^jairouter_responses_kept_bytes (\d+)/m.exec(scraped)?.[1])).toBeGreaterThan(100);
    const second = await b.client(KEY).responses.create({ model: 'llama3', previous_response_id: first.id, input: 'and b' });
    expect((backend.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(3);
    expect((await b.client(KEY).responses.retrieve(first.id)).output_text).toBe(first.output_text);
    await b.client(KEY).responses.delete(first.id);
    // Replica a kept it in memory too; Redis answers first, so the deletion holds there.
    await expect(a.client(KEY).responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await a.client(KEY).responses.retrieve(second.id)).previous_response_id).toBe(first.id);
  });

  it('while Redis is down, a replica continues the conversations it kept itself; no request fails', async () => {
    const first = await a.client(KEY).responses.create({ model: 'llama3', input: 'before the outage' });
    await redis.kill();
    try {
      const second = await a.client(KEY).responses.create({ model: 'llama3', previous_response_id: first.id, input: 'during' });
      expect(second.previous_response_id).toBe(first.id);
      const other = await b.client(KEY).responses.create({ model: 'llama3', previous_response_id: first.id, input: 'elsewhere' }).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(OpenAI.NotFoundError);
    } finally {
      await redis.restart();
    }
  });
});

describe('--response-store-max-bytes 0 without Redis', () => {
  let backend: FakeBackend;
  let p: ProxyHandle;
  beforeAll(async () => {
    backend = await startFakeOpenAI({ name: 'nokeep' });
    p = await startProxy({
      configs: toYaml(
        providerSecret(),
        modelRoute('ollama', { models: ['llama3'], backends: [{ name: 'ollama', adapter: 'ollama', url: backend.url, credentialsRef: PROVIDER_REF }] }),
        tenantWithKeys('acme', { k: KEY }),
      ),
      args: ['--response-store-max-bytes', '0'],
    });
  });
  afterAll(async () => {
    await p?.stop();
    await backend?.close();
  });

  it('keeps nothing: the answer says store false, and its id is not found later', async () => {
    const r = await p.client(KEY).responses.create({ model: 'llama3', input: 'hi' });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    await expect(p.client(KEY).responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
