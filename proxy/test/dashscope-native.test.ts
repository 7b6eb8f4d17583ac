// DashScope's native text-generation API (options.api: native) through the proxy with the
// official openai SDK: chat, stream with usage, tool calls, thinking, and errors with their status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startDashScopeNativeProvider } from '@jairouter/testkit/providers/dashscope-native';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-dashscope-native-0123456789';
let fake: ProviderFake;
let proxy: InProcessProxy;
let client: OpenAI;

const TOOL = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

beforeAll(async () => {
  fake = await startDashScopeNativeProvider({ name: 'dashscope' });
  proxy = await startInProcess(toYaml(
    tenantWithKeys('t', { k: KEY }),
    secret('c', { stringData: { key: fake.credential } }),
    secret('bad', { stringData: { key: 'sk-wrong' } }),
    modelRoute('qwen', { models: ['qwen'], backends: [{ name: 'ds', adapter: 'dashscope', url: fake.url, model: 'qwen-plus', credentialsRef: { name: 'c', key: 'key' }, options: { api: 'native' } }], retry: { attempts: 0 } }),
    modelRoute('qwen-bad', { models: ['qwen-bad'], backends: [{ name: 'ds', adapter: 'dashscope', url: fake.url, credentialsRef: { name: 'bad', key: 'key' }, options: { api: 'native' } }], retry: { attempts: 0 } }),
  ));
  client = proxy.client(KEY);
});
afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
});

describe('dashscope native API through the proxy', () => {
  it('chat: text-generation with input.messages, the answer and usage in OpenAI shape', async () => {
    const r = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from dashscope: hi there [system: be brief]');
    expect(r.usage).toMatchObject({ prompt_tokens: 4 });
    expect(fake.requests.at(-1)!.json).toMatchObject({ model: 'qwen-plus', parameters: { result_format: 'message' } });
  });

  it('stream: incremental output with X-DashScope-SSE, finish_reason and the usage chunk', async () => {
    const stream = client.chat.completions.stream({ model: 'qwen', messages: [{ role: 'user', content: 'stream me' }], stream_options: { include_usage: true } });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    const done = await stream.finalChatCompletion();
    expect(text).toBe('Hello from dashscope: stream me');
    expect(done.choices[0]!.finish_reason).toBe('stop');
    expect(done.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
    expect(fake.requests.at(-1)!.headers['x-dashscope-sse']).toBe('enable');
  });

  it('tool calls, streamed and not, and reasoning_effort as enable_thinking', async () => {
    const r = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(r.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const done = await client.chat.completions.stream({ model: 'qwen', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] }).finalChatCompletion();
    expect(done.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const t = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'think' }], reasoning_effort: 'low' });
    expect((t.choices[0]!.message as unknown as { reasoning_content?: string }).reasoning_content).toBe('Thinking about think.');
  });

  it('errors: a refused key is 502 upstream_auth_failed, the input too long 400 context_length_exceeded, a rate limit 429', async () => {
    const auth = await client.chat.completions.create({ model: 'qwen-bad', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect((auth as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((auth as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_auth_failed');
    const ctx = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'ERROR CONTEXT' }] }).catch((x: unknown) => x);
    expect((ctx as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((ctx as InstanceType<typeof OpenAI.APIError>).code).toBe('context_length_exceeded');
    // Last: the 429 leaves the backend rate limited for a while.
    const limited = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect((limited as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
  });
});
