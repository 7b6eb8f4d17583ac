// GET /v1/models for prefix routes: the names the backends actually serve, fetched in the
// background, filtered by the route they reach and the tenant's access list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { waitFor } from '@jairouter/testkit/wait-for';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const ALL = 'sk-model-list-all-0123456789';
const ONE = 'sk-model-list-one-0123456789';
let engine: FakeBackend;
let proxy: InProcessProxy;

async function listed(key: string): Promise<string[]> {
  const r = await fetch(`${proxy.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  return ((await r.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
}

beforeAll(async () => {
  engine = await startFakeOpenAI({ name: 'engine', models: ['qwen2.5-7b', 'qwen2.5-72b', 'llama3.1-8b'] });
  proxy = await startInProcess(
    toYaml(
      modelRoute('qwen', { models: ['qwen*', 'chat-default'], backends: [{ name: 'engine', url: engine.url }] }),
      tenantWithKeys('all', { k: ALL }),
      tenantWithKeys('one', { k: ONE }, { access: { models: ['qwen2.5-7b', 'chat-default'] } }),
    ),
  );
});

afterAll(async () => {
  await proxy?.stop();
  await engine?.close();
});

describe('GET /v1/models with a prefix route', () => {
  it('lists the names the backend serves that the prefix matches, besides the exact names', async () => {
    const names = await waitFor('the discovered names', async () => {
      const n = await listed(ALL);
      return n.includes('qwen2.5-7b') ? n : undefined;
    });
    expect(names).toEqual(['chat-default', 'qwen2.5-72b', 'qwen2.5-7b']);
    expect(names).not.toContain('llama3.1-8b');
    expect(engine.requests.some((r) => r.method === 'GET' && r.path === '/v1/models')).toBe(true);
  });

  it('lists for each tenant only what its access list allows', async () => {
    await waitFor('discovery', async () => (await listed(ALL)).includes('qwen2.5-72b'));
    expect(await listed(ONE)).toEqual(['chat-default', 'qwen2.5-7b']);
  });
});
