// Scope Cluster across replicas: two proxy processes with the same config and --redis-url of one
// redis-server, in front of one backend, driven with the official openai SDK. The shared limit
// holds exactly, losing Redis is never a 5xx (each replica falls back to its share, logs it once
// and says so in /metrics), and the shared counter comes back with Redis. A Local rule, for
// contrast, is counted by each replica alone.
import { APIError, RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startRedis, type RedisServer } from '@jairouter/testkit/redis';
import { modelRoute, tenantWithKeys, toYaml, type Doc } from './config.ts';
import { startProxy, waitFor, type ProxyHandle } from './harness.ts';

/** One tenant per test step, so that every step starts from a fresh counter. */
const TENANTS = {
  alternate: { limit: 10, scope: 'Cluster' },
  concurrent: { limit: 10, scope: 'Cluster' },
  // While Redis is down: one request burst that must all pass, then a limit of 3 per replica.
  during: { limit: 1000, scope: 'Cluster' },
  outage: { limit: 3, scope: 'Cluster' },
  recovered: { limit: 3, scope: 'Cluster' },
  local: { limit: 3, scope: 'Local' },
  // A counter per x-probe value: each probe creates one Redis key when its take goes to Redis.
  probe: { limit: 1, scope: 'Cluster', key: ['header:x-probe'] },
} as const;
type TenantName = keyof typeof TENANTS;
const keyOf = (t: TenantName) => `sk-cluster-${t}-0001`;

function config(backendUrl: string): string {
  const docs: (Doc | Doc[])[] = [modelRoute('chat', { models: ['chat'], backends: [{ name: 'shared', url: backendUrl }] })];
  for (const [name, t] of Object.entries(TENANTS)) {
    docs.push(tenantWithKeys(name, { k: keyOf(name as TenantName) }));
    docs.push({
      apiVersion: 'jairouter.io/v1alpha1', kind: 'RateLimitPolicy', metadata: { name: `cap-${name}`, namespace: 'ai' },
      spec: {
        targetRefs: [{ kind: 'Tenant', name }],
        rules: [{ name: 'cap', algorithm: 'TokenBucket', limit: { requests: t.limit, per: '1h' }, scope: t.scope, ...('key' in t && { key: t.key }) }],
      },
    });
  }
  return toYaml(...docs);
}

let redis: RedisServer;
let backend: FakeBackend;
let a: ProxyHandle;
let b: ProxyHandle;

/** One chat call with the SDK: its HTTP status (429 is the SDK's RateLimitError). A connection failure throws. */
async function call(p: ProxyHandle, tenant: TenantName, headers: Record<string, string> = {}): Promise<number> {
  try {
    await p.client(keyOf(tenant)).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] }, { headers });
    return 200;
  } catch (e) {
    if (e instanceof RateLimitError) return 429;
    if (e instanceof APIError && e.status !== undefined) return e.status;
    throw e;
  }
}

const served = () => backend.inferenceRequests().length;

async function metric(p: ProxyHandle, name: string): Promise<string | undefined> {
  const text = await (await fetch(`${p.adminUrl}/metrics`)).text();
  return new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1];
}

let probes = 0;
/**
 * A proxy answers requests before its Redis connection is up, counting Cluster rules on its own
 * share meanwhile (and /metrics already says redis_up 1). So: wait until a request through `p`
 * really created a key in Redis.
 */
async function countsInRedis(p: ProxyHandle, label: string): Promise<void> {
  await waitFor(`proxy ${label} to count Cluster rules in Redis`, async () => {
    const before = Number(await redis.command('DBSIZE'));
    expect(await call(p, 'probe', { 'x-probe': `probe-${++probes}` })).toBe(200);
    return Number(await redis.command('DBSIZE')) > before;
  }, 10_000);
}

beforeAll(async () => {
  [redis, backend] = await Promise.all([startRedis(), startFakeOpenAI({ name: 'shared' })]);
  const configs = config(backend.url);
  const start = () => startProxy({ configs, args: ['--redis-url', redis.url] });
  [a, b] = await Promise.all([start(), start()]);
  await Promise.all([countsInRedis(a, 'a'), countsInRedis(b, 'b')]);
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([backend?.close(), redis?.stop()]);
});

describe('RateLimitPolicy scope Cluster on two proxies sharing one Redis', () => {
  // Tolerance 0: every request's take is one Lua script that reads, decides and writes the
  // counter atomically inside Redis, so no interleaving of the replicas can admit an 11th.
  it('requests sent alternately to the two proxies: exactly the limit (10) is admitted in total, then both refuse', async () => {
    const before = served();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await call(i % 2 === 0 ? a : b, 'alternate'));
    expect(statuses).toEqual([...Array<number>(10).fill(200), ...Array<number>(10).fill(429)]);
    expect(served() - before).toBe(10);
  });

  it('30 requests at once, 15 to each proxy: exactly 10 admitted, 20 RateLimitErrors, and the backend saw exactly 10', async () => {
    const before = served();
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 === 0 ? a : b, 'concurrent')));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(served() - before).toBe(10);
  });

  it('a Local rule is counted by each proxy alone: limit 3 admits 3 per proxy, 6 in total', async () => {
    const before = served();
    const perProxy = { a: [] as number[], b: [] as number[] };
    for (let i = 0; i < 8; i++) (i % 2 === 0 ? perProxy.a : perProxy.b).push(await call(i % 2 === 0 ? a : b, 'local'));
    expect(perProxy).toEqual({ a: [200, 200, 200, 429], b: [200, 200, 200, 429] });
    expect(served() - before).toBe(6);
  });

  it('Redis killed: never a 5xx, each proxy enforces its share (the full limit standalone), logs it once and shows redis_up 0; after a restart the shared counter holds again', async () => {
    await redis.kill();
    // Right away, while the proxies find out: every request is answered by the backend.
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2 === 0 ? a : b, 'during')));
    expect(during).toEqual(Array<number>(10).fill(200));
    for (const p of [a, b]) await waitFor('jairouter_ratelimit_redis_up 0', async () => (await metric(p, 'jairouter_ratelimit_redis_up')) === '0', 10_000);

    // Standalone proxies (replicas = 1): each admits the whole limit of 3 by itself.
    let before = served();
    for (const p of [a, b]) {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push(await call(p, 'outage'));
      expect(statuses).toEqual([200, 200, 200, 429]);
    }
    expect(served() - before).toBe(6);
    for (const p of [a, b]) {
      const down = p.logs.filter((l) => String(l.msg).startsWith('redis unreachable'));
      expect(down).toHaveLength(1);
      expect(down[0]!.level).toBe('warn');
      expect(await metric(p, 'jairouter_ratelimit_redis_transitions_total{to="down"}')).toBe('1');
    }

    await redis.restart();
    // The client reconnects with a backoff capped at 5 s.
    for (const p of [a, b]) await waitFor('jairouter_ratelimit_redis_up 1', async () => (await metric(p, 'jairouter_ratelimit_redis_up')) === '1', 15_000);
    before = served();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await call(i % 2 === 0 ? a : b, 'recovered'));
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(served() - before).toBe(3);
    for (const p of [a, b]) {
      expect(p.logs.filter((l) => String(l.msg).startsWith('redis unreachable'))).toHaveLength(1);
      const up = p.logs.filter((l) => String(l.msg).startsWith('redis reachable'));
      expect(up).toHaveLength(1);
      expect(up[0]!.level).toBe('info');
      expect(await metric(p, 'jairouter_ratelimit_redis_transitions_total{to="up"}')).toBe('1');
    }
  }, 40_000);
});
