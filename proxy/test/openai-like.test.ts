// DashScope and Hunyuan through the proxy: reasoning_effort reaches them as enable_thinking, and
// a request Hunyuan cannot honour is answered 400 naming the field, never sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startOpenAIProvider } from '@jairouter/testkit/providers/openai';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-openai-like-0123456789';
let fake: ProviderFake;
let proxy: InProcessProxy;
let client: OpenAI;

beforeAll(async () => {
  fake = await startOpenAIProvider({ name: 'qwen' });
  const cred = { name: 'c', key: 'key' };
  proxy = await startInProcess(toYaml(
    tenantWithKeys('t', { k: KEY }),
    secret('c', { stringData: { key: fake.credential } }),
    modelRoute('dashscope', { models: ['qwen3'], backends: [{ name: 'ds', adapter: 'dashscope', url: fake.url, model: 'qwen-plus', credentialsRef: cred }] }),
    modelRoute('hunyuan', { models: ['hy'], backends: [{ name: 'hy', adapter: 'hunyuan', url: fake.url, credentialsRef: cred }], retry: { attempts: 0 } }),
  ));
  client = proxy.client(KEY);
});
afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
});

describe('OpenAI-compatible hosted providers through the proxy', () => {
  it('dashscope gets enable_thinking for reasoning_effort and its reasoning_content comes back', async () => {
    const r = await client.chat.completions.create({ model: 'qwen3', messages: [{ role: 'user', content: 'think' }], reasoning_effort: 'low' });
    expect((r.choices[0]!.message as unknown as { reasoning_content?: string }).reasoning_content).toBe('Thinking about think.');
    const sent = fake.requests.at(-1)!.json as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'qwen-plus', enable_thinking: true });
    expect(sent.reasoning_effort).toBeUndefined();
  });

  it('hunyuan: n=2 is answered 400 naming the field, and nothing reaches the provider', async () => {
    const before = fake.requests.length;
    const e = await client.chat.completions.create({ model: 'hy', messages: [{ role: 'user', content: 'hi' }], n: 2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((e as Error).message).toContain('n: the hunyuan adapter');
    expect(fake.requests.length).toBe(before);
  });
});
