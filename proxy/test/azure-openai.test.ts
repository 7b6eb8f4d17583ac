// Azure OpenAI through the proxy, beyond the shared conformance table: Azure's content-filter
// results and finish reason reach the client untouched, the v1 API mode, and an Entra ID token
// sent as a Bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import { startAzureOpenAIProvider } from '@jairouter/testkit/providers/azure';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-azure-test-0123456789';
let fake: ProviderFake;
let proxy: InProcessProxy;
let client: OpenAI;

beforeAll(async () => {
  fake = await startAzureOpenAIProvider({ name: 'az' });
  const cred = { name: 'az', key: 'key' };
  proxy = await startInProcess(toYaml(
    tenantWithKeys('t', { k: KEY }),
    secret('az', { stringData: { key: fake.credential } }),
    modelRoute('deployment', { models: ['gpt-4o'], backends: [{ name: 'dep', adapter: 'azure-openai', url: fake.url, model: 'gpt4o-prod', credentialsRef: cred, options: { apiVersion: '2024-06-01' } }] }),
    modelRoute('v1', { models: ['gpt-4o-mini'], backends: [{ name: 'v1', adapter: 'azure-openai', url: fake.url, credentialsRef: cred, options: { apiVersion: 'v1', authHeader: 'Authorization' } }] }),
  ));
  client = proxy.client(KEY);
});
afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
});

describe('azure-openai through the proxy', () => {
  it('passes content-filter results and the content_filter finish reason through', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'CONTENT FILTER me' }] });
    expect(r.choices[0]!.finish_reason).toBe('content_filter');
    const raw = r as unknown as { prompt_filter_results: unknown[]; choices: Array<{ content_filter_results: { violence: { filtered: boolean } } }> };
    expect(raw.prompt_filter_results).toHaveLength(1);
    expect(raw.choices[0]!.content_filter_results.violence.filtered).toBe(true);
    const seen = fake.requests.at(-1)!;
    expect(seen.path).toBe('/openai/deployments/gpt4o-prod/chat/completions');
    expect(seen.query.get('api-version')).toBe('2024-06-01');
    expect(seen.headers['api-key']).toBe(fake.credential);
  });

  it('does not send stream_options to an api-version older than it, so the stream still works, its prompt-filter chunk included', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'stream me' }], stream: true });
    let text = '';
    const chunks: unknown[] = [];
    for await (const c of stream) {
      chunks.push(c);
      text += c.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello from az: stream me');
    // Azure's opening chunk (no choices, the prompt's filter results) is relayed as it came.
    expect(chunks[0]).toMatchObject({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] });
    expect((fake.requests.at(-1)!.json as Record<string, unknown>).stream_options).toBeUndefined();
  });

  it('calls the v1 API with the model in the body and an Entra ID token as Bearer', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from az: hi');
    const seen = fake.requests.at(-1)!;
    expect(seen.path).toBe('/openai/v1/chat/completions');
    expect(seen.headers.authorization).toBe(`Bearer ${fake.credential}`);
    expect(seen.headers['api-key']).toBeUndefined();
    expect((seen.json as Record<string, unknown>).model).toBe('gpt-4o-mini');
  });
});
