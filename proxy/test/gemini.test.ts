// Gemini specifics through the proxy that the conformance table cannot show.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiProvider } from '@jairouter/testkit/providers/gemini';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-gemini-proxy-0123456789';
let fake: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  fake = await startGeminiProvider({ name: 'gemini' });
  proxy = await startInProcess(
    toYaml(
      secret('wrong-google-key', { stringData: { key: 'AIza-not-the-right-key' } }),
      modelRoute('gemini-bad-key', {
        models: ['gemini-bad-key'],
        backends: [{ name: 'g', adapter: 'gemini', url: fake.url, model: 'gemini-2.5-flash', credentialsRef: { name: 'wrong-google-key', key: 'key' } }],
        retry: { attempts: 0 },
      }),
      tenantWithKeys('g', { k: KEY }),
    ),
  );
});

afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
});

describe('gemini through the proxy', () => {
  it('a refused API key (Google answers 400 API_KEY_INVALID) reaches the client as the gateway fault it is: 502 upstream_auth_failed', async () => {
    const e = await proxy.client(KEY).chat.completions.create({ model: 'gemini-bad-key', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((e as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_auth_failed');
    expect(String((e as Error).message)).not.toContain('AIza-not-the-right-key');
  });
});
