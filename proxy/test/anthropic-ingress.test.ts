// The Anthropic-compatible ingress (POST /v1/messages, /v1/messages/count_tokens), driven by the
// official @anthropic-ai/sdk through the in-process proxy: against the OpenAI fake (the request
// translated to OpenAI chat and the answer back) and against the Anthropic fake (the request
// passed through as it came, only the model rewritten).
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import { startOpenAIProvider } from '@jairouter/testkit/providers/openai';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-anthropic-ingress-0123456789';
const TOOL = { name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

let proxy: InProcessProxy;
let openaiFake: ProviderFake;
let anthropicFake: ProviderFake;
let client: Anthropic;

beforeAll(async () => {
  openaiFake = await startOpenAIProvider({ name: 'oai' });
  anthropicFake = await startAnthropicProvider({ name: 'ant' });
  proxy = await startInProcess(
    toYaml(
      tenantWithKeys('ing', { k: KEY }),
      secret('cred-oai', { stringData: { key: openaiFake.credential } }),
      secret('cred-ant', { stringData: { key: anthropicFake.credential } }),
      modelRoute('via-openai', {
        models: ['claude-via-openai'],
        backends: [{ name: 'oai', adapter: 'openai', url: openaiFake.url, credentialsRef: { name: 'cred-oai', key: 'key' } }],
        retry: { attempts: 0 },
      }),
      modelRoute('direct', {
        models: ['claude-direct'],
        backends: [{ name: 'ant', adapter: 'anthropic', url: anthropicFake.url, model: 'claude-sonnet-4-5', credentialsRef: { name: 'cred-ant', key: 'key' } }],
        retry: { attempts: 0 },
      }),
    ),
  );
  client = new Anthropic({ baseURL: proxy.baseUrl, apiKey: KEY, maxRetries: 0, timeout: 15_000 });
});

afterEach(() => {
  for (const r of proxy.swap.current.routes) for (const e of r.endpoints) e.health.coolUntil = 0;
});

afterAll(async () => {
  await proxy?.stop();
  await openaiFake?.close();
  await anthropicFake?.close();
});

const BACKENDS = [
  { label: 'an OpenAI backend (translated)', model: 'claude-via-openai', name: 'oai' },
  { label: 'an Anthropic backend (passed through)', model: 'claude-direct', name: 'ant' },
];

describe.each(BACKENDS)('@anthropic-ai/sdk through the proxy to $label', ({ model, name }) => {
  it('answers a message with the system prompt, stop reason and usage', async () => {
    const r = await client.messages.create({ model, max_tokens: 100, system: 'be brief', messages: [{ role: 'user', content: 'hi there' }] });
    expect(r.type).toBe('message');
    expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: `Hello from ${name}: hi there [system: be brief]` })]);
    expect(r.stop_reason).toBe('end_turn');
    expect(r.usage).toMatchObject({ input_tokens: 4, output_tokens: 8 });
  });

  it('streams a message that messages.stream().finalMessage() assembles', async () => {
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: `Hello from ${name}: stream me` })]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ input_tokens: 2, output_tokens: 5 });
    expect(texts.length).toBeGreaterThan(2);
  });

  it('round-trips a tool use and its tool_result', async () => {
    const r = await client.messages.create({ model, max_tokens: 100, tools: [TOOL], messages: [{ role: 'user', content: 'weather?' }] });
    expect(r.stop_reason).toBe('tool_use');
    const use = r.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    if (use?.type !== 'tool_use') return;
    const after = await client.messages.create({
      model, max_tokens: 100, tools: [TOOL],
      messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: [use] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(after.content).toEqual([expect.objectContaining({ type: 'text', text: 'The tool said: sunny' })]);
  });

  it('streams a tool use as input_json_delta fragments', async () => {
    const stream = client.messages.stream({ model, max_tokens: 100, tools: [TOOL], messages: [{ role: 'user', content: 'weather?' }] });
    const fragments: string[] = [];
    stream.on('inputJson', (delta) => fragments.push(delta));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    expect(fragments.length).toBeGreaterThan(1);
    expect(fragments.join('')).toBe('{"city":"Paris"}');
  });

  it('answers a backend 429 as the SDK RateLimitError, Retry-After kept', async () => {
    const e = await client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
    expect((e as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('7');
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('relays a backend 400 as the SDK BadRequestError in Anthropic error form', async () => {
    const e = await client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'ERROR 400' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('the request is invalid') } });
  });
});

describe('Anthropic ingress', () => {
  it('answers a bad key with the SDK AuthenticationError (401, authentication_error)', async () => {
    const bad = new Anthropic({ baseURL: proxy.baseUrl, apiKey: 'sk-wrong', maxRetries: 0 });
    const e = await bad.messages.create({ model: 'claude-direct', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('accepts the key as x-api-key, with any anthropic-version', async () => {
    const r = await fetch(`${proxy.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2099-01-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-via-openai', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { content: unknown[] }).content).toHaveLength(1);
  });

  it('answers an unknown model with the SDK NotFoundError (404, not_found_error)', async () => {
    const e = await client.messages.create({ model: 'claude-nope', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('passes the request to an anthropic backend as it came: cache_control, thinking and the beta header untouched, only the model rewritten', async () => {
    const body = {
      model: 'claude-direct', max_tokens: 2048,
      system: [{ type: 'text', text: 'long shared context', cache_control: { type: 'ephemeral' } }],
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'think', cache_control: { type: 'ephemeral', ttl: '1h' } }] }],
      some_future_field: 0,
    };
    // A number JSON.parse would round: the bytes must arrive as sent.
    const raw = JSON.stringify(body).replace('"some_future_field":0', '"some_future_field":12345678901234567890123');
    expect(raw).toContain('12345678901234567890123');
    const before = anthropicFake.requests.length;
    const r = await fetch(`${proxy.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'extended-cache-ttl-2025-04-11', 'content-type': 'application/json' },
      body: raw,
    });
    expect(r.status).toBe(200);
    const m = (await r.json()) as { content: Array<{ type: string }> };
    expect(m.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const got = anthropicFake.requests.slice(before).find((q) => q.path === '/v1/messages')!;
    expect(got.raw).toBe(raw.replace('"model":"claude-direct"', '"model":"claude-sonnet-4-5"'));
    expect(got.headers['anthropic-beta']).toBe('extended-cache-ttl-2025-04-11');
    expect(got.headers['x-api-key']).toBe(anthropicFake.credential);
    expect(got.headers.authorization).toBeUndefined();
  });

  it('counts tokens with the proxy estimate, for a model the caller may use', async () => {
    const r = await client.messages.countTokens({ model: 'claude-via-openai', system: 'be brief', messages: [{ role: 'user', content: 'a'.repeat(400) }] });
    expect(r.input_tokens).toBe(102);
    const e = await client.messages.countTokens({ model: 'claude-nope', messages: [{ role: 'user', content: 'x' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('refuses what an OpenAI backend cannot take with a 400 naming the field', async () => {
    const params = { model: 'claude-via-openai', max_tokens: 10, top_k: 5, messages: [{ role: 'user', content: 'hi' }] };
    const e = await client.messages.create(params as Anthropic.MessageCreateParamsNonStreaming).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect((e as Error).message).toContain('top_k');
  });

  it('sends a request with no OpenAI form (top_k, a server tool) to an anthropic backend as it came', async () => {
    const before = anthropicFake.requests.length;
    const params = { model: 'claude-direct', max_tokens: 10, top_k: 5, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }], messages: [{ role: 'user', content: 'hi' }] };
    const r = await client.messages.create(params as unknown as Anthropic.MessageCreateParamsNonStreaming);
    expect(r.type).toBe('message');
    const got = anthropicFake.requests.slice(before).find((q) => q.path === '/v1/messages')!;
    expect(got.json).toMatchObject({ model: 'claude-sonnet-4-5', top_k: 5, tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
  });

  it.each(BACKENDS)('ends a stream $label cut with an Anthropic error event', async ({ model }) => {
    const r = await fetch(`${proxy.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'CUT STREAM one two three four five six seven' }] }),
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain('event: message_start');
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"upstream (stream ended before completion|failed mid-stream \(reset\))"\}\}$/);
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'CUT STREAM one two three four five six seven' }] });
    const e = await stream.finalMessage().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.APIError);
    expect((e as Error).message).toMatch(/ended before completion|mid-stream/);
  });
});
