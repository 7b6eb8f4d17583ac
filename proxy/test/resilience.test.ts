// Failover behaviour added in issue 7, driven in-process against fake backends: a hung backend
// fails over on the first-byte timeout, the smallest Retry-After reaches the client, panic
// routing tries unhealthy endpoints rather than answering 503 untried, at most half of a route
// is ejected, and the end of an ejection is logged.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { waitFor } from '@jairouter/testkit/wait-for';
import { FAST_RETRY, modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-resilience-0123456789';
const hi = [{ role: 'user' as const, content: 'hi' }];

let proxy: InProcessProxy;
let client: OpenAI;
const fakes: Record<string, FakeBackend> = {};

async function fake(name: string, mode: Parameters<FakeBackend['setMode']>[0] = 'ok', opts: Parameters<FakeBackend['setMode']>[1] = {}) {
  const f = await startFakeOpenAI({ name });
  f.setMode(mode, opts);
  fakes[name] = f;
  return f;
}

beforeAll(async () => {
  const hung = await fake('hung', 'hang');
  const fine = await fake('fine');
  const hung2 = await fake('hung-2', 'hang');
  const slow7 = await fake('ra-7', 'error429', { retryAfter: '7' });
  const slow3 = await fake('ra-3', 'error429', { retryAfter: '3' });
  const sick1 = await fake('sick-1', 'ok', { failHealth: true });
  const sick2 = await fake('sick-2', 'ok', { failHealth: true });
  const flaky = await fake('flaky', 'error500');
  const steady = await fake('steady');
  const bad1 = await fake('bad-1', 'error500');
  const bad2 = await fake('bad-2', 'error500');
  proxy = await startInProcess(
    toYaml(
      modelRoute('hang-failover', {
        models: ['hang-failover'],
        backends: [{ name: 'hung', url: hung.url }, { name: 'fine', url: fine.url }],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 1, ...FAST_RETRY },
        timeouts: { firstByte: '200ms' },
        healthCheck: { passive: { consecutiveFailures: 100 } },
      }),
      modelRoute('hang-no-retry', {
        models: ['hang-no-retry'],
        backends: [{ name: 'hung-2', url: hung2.url }, { name: 'fine', url: fine.url }],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 1, retryOn: ['connect-failure', 'reset', '5xx', '429'], ...FAST_RETRY },
        timeouts: { firstByte: '200ms' },
        healthCheck: { passive: { consecutiveFailures: 100 } },
      }),
      modelRoute('retry-after', {
        models: ['retry-after'],
        backends: [{ name: 'ra-7', url: slow7.url }, { name: 'ra-3', url: slow3.url }],
        retry: { attempts: 1, ...FAST_RETRY },
      }),
      modelRoute('all-unhealthy', {
        models: ['all-unhealthy'],
        backends: [{ name: 'sick-1', url: sick1.url }, { name: 'sick-2', url: sick2.url }],
        healthCheck: { active: { interval: '100ms', timeout: '1s', unhealthyThreshold: 1 } },
      }),
      modelRoute('restore', {
        models: ['restore'],
        backends: [{ name: 'flaky', url: flaky.url }, { name: 'steady', url: steady.url }],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 1, ...FAST_RETRY },
        healthCheck: { passive: { consecutiveFailures: 1, ejectionTime: '300ms' } },
      }),
      modelRoute('cap', {
        models: ['cap'],
        backends: [{ name: 'bad-1', url: bad1.url }, { name: 'bad-2', url: bad2.url }],
        retry: { attempts: 1, ...FAST_RETRY },
        healthCheck: { passive: { consecutiveFailures: 1, ejectionTime: '5m' } },
      }),
      tenantWithKeys('res', { k: KEY }),
    ),
  );
  client = proxy.client(KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

describe('timeouts', () => {
  it('a hung backend fails over to a healthy one on the first-byte timeout (timeout is in the default retryOn)', async () => {
    for (let i = 0; i < 4; i++) {
      const { response } = await client.chat.completions.create({ model: 'hang-failover', messages: hi }).withResponse();
      expect(response.headers.get('x-jairouter-backend')).toBe('fine');
    }
    expect(fakes['hung']!.inferenceRequests().length).toBeGreaterThanOrEqual(1);
  });

  it('without timeout in retryOn, the first-byte timeout is answered 504', async () => {
    const codes = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const r = await proxy.post('/v1/chat/completions', KEY, { model: 'hang-no-retry', messages: hi });
      codes.add(r.status);
      await r.body?.cancel();
    }
    expect([...codes].sort()).toEqual([200, 504]);
  });
});

describe('Retry-After', () => {
  it('passes on the smallest Retry-After of every backend that answered 429, whichever answered last', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await proxy.post('/v1/chat/completions', KEY, { model: 'retry-after', messages: hi });
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('3');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('upstream_rate_limited');
      // Let both cool-downs pass so the next request tries both again, in the other order.
      for (const f of [fakes['ra-7']!, fakes['ra-3']!]) f.clearRequests();
      for (const ep of proxy.swap.current.routes.find((x) => x.id === 'ai/retry-after')!.endpoints) ep.health.coolUntil = 0;
    }
  });

  it('while every backend cools down after its 429, answers 429 at once with the soonest time back', async () => {
    const first = await proxy.post('/v1/chat/completions', KEY, { model: 'retry-after', messages: hi });
    expect(first.status).toBe(429);
    const before = fakes['ra-3']!.inferenceRequests().length + fakes['ra-7']!.inferenceRequests().length;
    const second = await proxy.post('/v1/chat/completions', KEY, { model: 'retry-after', messages: hi });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    expect(fakes['ra-3']!.inferenceRequests().length + fakes['ra-7']!.inferenceRequests().length).toBe(before);
  });
});

describe('panic routing and the ejection cap', () => {
  it('when every endpoint fails its active checks, requests are tried anyway and succeed', async () => {
    const route = proxy.swap.current.routes.find((x) => x.id === 'ai/all-unhealthy')!;
    await waitFor('both endpoints marked down', () => route.endpoints.every((e) => !e.health.activeUp), 5_000);
    const reply = await client.chat.completions.create({ model: 'all-unhealthy', messages: hi });
    expect(reply.choices[0]!.message.content).toContain('Hello from sick-');
  });

  it('ejects at most half of a route: the last endpoint in keeps getting tried', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await proxy.post('/v1/chat/completions', KEY, { model: 'cap', messages: hi });
      expect(r.status).toBe(502);
      await r.body?.cancel();
    }
    const ejections = proxy.logs.filter((l) => l.msg === 'endpoint ejected' && l['route'] === 'ai/cap');
    expect(ejections).toHaveLength(1);
    const out = String(ejections[0]!['backend']);
    const stillIn = out === 'bad-1' ? fakes['bad-2']! : fakes['bad-1']!;
    expect(stillIn.inferenceRequests().length).toBeGreaterThanOrEqual(4);
  });

  it('logs "endpoint restored" once an ejection ends and the endpoint takes traffic again', async () => {
    const r = await client.chat.completions.create({ model: 'restore', messages: hi }).withResponse();
    expect(r.response.headers.get('x-jairouter-backend')).toBe('steady');
    const flaky = fakes['flaky']!;
    if (flaky.inferenceRequests().length === 0) await client.chat.completions.create({ model: 'restore', messages: hi });
    await waitFor('flaky ejected', () => proxy.logs.some((l) => l.msg === 'endpoint ejected' && l['backend'] === 'flaky'), 2_000);
    flaky.setMode('ok');
    await waitFor(
      'endpoint restored logged',
      async () => {
        await client.chat.completions.create({ model: 'restore', messages: hi });
        return proxy.logs.some((l) => l.msg === 'endpoint restored' && l['backend'] === 'flaky');
      },
      5_000,
    );
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(String((await client.chat.completions.create({ model: 'restore', messages: hi }).withResponse()).response.headers.get('x-jairouter-backend')));
    expect(served.has('flaky')).toBe(true);
  });
});
