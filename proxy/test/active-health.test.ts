// Active health checks: an endpoint failing its probes takes no traffic until it passes again.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { logAfter, startProxy, type ProxyHandle } from './harness.ts';

const KEY = 'sk-active-health-0001';
let proxy: ProxyHandle;
let sick: FakeBackend;
let well: FakeBackend;

const ACTIVE = { path: '/models', interval: '100ms', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 2 };
const config = (backends: { name: string; url: string }[], models = ['probed']) =>
  toYaml(
    modelRoute('probed', { models, backends, loadBalancer: { strategy: 'RoundRobin' }, retry: { attempts: 0 }, healthCheck: { active: ACTIVE } }),
    tenantWithKeys('t', { k: KEY }),
  );

beforeAll(async () => {
  sick = await startFakeOpenAI({ name: 'sick' });
  well = await startFakeOpenAI({ name: 'well' });
  proxy = await startProxy({ configs: config([{ name: 'sick', url: sick.url }, { name: 'well', url: well.url }]) });
});

/** jairouter_endpoint_healthy by backend name, from the admin listener. */
async function healthGauge(): Promise<Record<string, number>> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^jairouter_endpoint_healthy\{.*backend="([^"]+)".*\} (\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

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
    expect(await healthGauge()).toEqual({ sick: 1, well: 1 });
    sick.setMode('error500', { affectHealth: true });
    await proxy.waitForLog((l) => l.msg === 'active health changed' && l.backend === 'sick' && l.up === false, 5000);
    expect(await send(10)).toEqual(Array(10).fill('well'));
    expect(await healthGauge()).toEqual({ sick: 0, well: 1 });
  });

  it('bring it back after healthyThreshold good probes', async () => {
    sick.setMode('ok');
    await proxy.waitForLog((l) => l.msg === 'active health changed' && l.backend === 'sick' && l.up === true, 5000);
    expect(await send(6)).toContain('sick');
    expect(await healthGauge()).toEqual({ sick: 1, well: 1 });
  });

  it('an endpoint removed from the config leaves the metric', async () => {
    const applied = logAfter(proxy, (l) => l.msg === 'config applied');
    writeFileSync(proxy.configFile(), config([{ name: 'well', url: well.url }]));
    await applied(5000);
    expect(await healthGauge()).toEqual({ well: 1 });
  });
});

describe('active health checks across config changes', () => {
  let p: ProxyHandle;
  let fake: FakeBackend;
  const route = (models: string[], path = '/models') =>
    toYaml(
      modelRoute('slow-probed', {
        models,
        backends: [{ name: 'b', url: fake.url }],
        healthCheck: { active: { path, interval: '1h', timeout: '2s', unhealthyThreshold: 2, healthyThreshold: 2 } },
      }),
      tenantWithKeys('t', { k: KEY }),
    );
  const probes = () => fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/models')).map((r) => r.path);
  beforeAll(async () => {
    fake = await startFakeOpenAI({ name: 'b' });
    p = await startProxy({ configs: route(['m1']) });
  });
  afterAll(async () => {
    await p?.stop();
    await fake?.close();
  });

  it('a change that leaves an endpoint\'s probe as it was does not probe it again; a changed probe starts at once', async () => {
    // Interval 1 h: the only probes are the one at start and those a config swap starts.
    await fake.waitForRequest((r) => r.path === '/v1/models');
    const reload = async (yaml: string) => {
      const applied = logAfter(p, (l) => l.msg === 'config applied');
      writeFileSync(p.configFile(), yaml);
      await applied(5000);
    };
    await reload(route(['m1', 'm2']));
    await reload(route(['m1', 'm2'], '/models/probe-2'));
    await fake.waitForRequest((r) => r.path === '/v1/models/probe-2');
    // A restart on the first swap would have sent its probe before this one.
    expect(probes()).toEqual(['/v1/models', '/v1/models/probe-2']);
  });
});
