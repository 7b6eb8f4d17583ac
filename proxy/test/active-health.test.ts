// Active health checks: an endpoint failing its probes takes no traffic until it passes again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '../src/testing/fake-openai.ts';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, type ProxyHandle } from './harness.ts';

const KEY = 'sk-active-health-0001';
let proxy: ProxyHandle;
let sick: FakeBackend;
let well: FakeBackend;

beforeAll(async () => {
  sick = await startFakeOpenAI({ name: 'sick' });
  well = await startFakeOpenAI({ name: 'well' });
  proxy = await startProxy({
    configs: toYaml(
      modelRoute('probed', {
        models: ['probed'],
        backends: [
          { name: 'sick', url: sick.url },
          { name: 'well', url: well.url },
        ],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 0 },
        healthCheck: { active: { path: '/models', interval: '100ms', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 2 } },
      }),
      tenantWithKeys('t', { k: KEY }),
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([sick?.close(), well?.close()]);
});

async function send(n: number): Promise<string[]> {
  const client = proxy.client(KEY);
  const backends: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await client.chat.completions.create({ model: 'probed', messages: [{ role: 'user', content: `n${i}` }] }).withResponse();
    backends.push(r.response.headers.get('x-jairouter-backend') ?? '');
  }
  return backends;
}

describe('active health checks', () => {
  it('probe the endpoints and share the traffic while both are healthy', async () => {
    await sick.waitForRequest((r) => r.path === '/v1/models');
    expect(new Set(await send(6))).toEqual(new Set(['sick', 'well']));
  });

  it('take an endpoint out after unhealthyThreshold failed probes, with no client request failing', async () => {
    sick.setMode('error500', { affectHealth: true });
    await proxy.waitForLog((l) => l.msg === 'active health changed' && l.backend === 'sick' && l.up === false, 5000);
    expect(await send(10)).toEqual(Array(10).fill('well'));
  });

  it('bring it back after healthyThreshold good probes', async () => {
    sick.setMode('ok');
    await proxy.waitForLog((l) => l.msg === 'active health changed' && l.backend === 'sick' && l.up === true, 5000);
    expect(await send(6)).toContain('sick');
  });
});
