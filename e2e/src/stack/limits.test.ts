// Limits across proxy replicas on the local control plane, without Redis: a Cluster rule is
// split between the two proxies the operator reports (never multiplied by them), and what the
// proxies count comes back as Tenant and RateLimitPolicy status, as `kubectl get` shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { GROUP_VERSION, Stack, waitFor, type Obj } from './stack.ts';
import { chatStatus } from './traffic.ts';

const KEY = 'sk-e2e-limits-0123456789';
const OPS_KEY = 'sk-e2e-limits-ops-0123456789';
const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };

describe.skipIf(skipK8s)('limits across two proxies on the local control plane (no Redis)', () => {
  const cp = useControlPlane();
  let stack: Stack;
  let backend: FakeBackend;

  beforeAll(async () => {
    backend = await startFakeOpenAI({ name: 'limits' });
    stack = new Stack(cp());
    await stack.start({ prefix: 'limits', operators: 1, proxies: 2 });
    const objects: Obj[] = [
      { apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'chat' }, spec: { models: ['chat'], backends: [{ name: 'main', adapter: 'openai', url: backend.url, pricing: { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } }] } },
      // One backend that cannot be reached: a request there fails over and ejects it (capacity in the status).
      {
        apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'halved' },
        spec: {
          models: ['halved'],
          loadBalancer: { strategy: 'RoundRobin' },
          healthCheck: { passive: { consecutiveFailures: 1, ejectionTime: '10m' } },
          backends: [{ name: 'dead', adapter: 'openai', url: 'http://127.0.0.1:9/v1' }, { name: 'live', adapter: 'openai', url: backend.url }],
        },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-keys' }, type: 'Opaque', stringData: { ci: KEY } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ops-keys' }, type: 'Opaque', stringData: { ci: OPS_KEY } },
      { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: 'ops' }, spec: { apiKeys: { secretRefs: [{ name: 'ops-keys' }] } } },
      { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: 'team' }, spec: { apiKeys: { secretRefs: [{ name: 'team-keys' }] }, quotas: { budget: { limit: 100000, period: 'month' } } } },
      {
        apiVersion: GROUP_VERSION, kind: 'RateLimitPolicy', metadata: { name: 'shared' },
        spec: { targetRefs: [{ kind: 'Tenant', name: 'team' }], rules: [{ name: 'per-tenant', algorithm: 'FixedWindow', limit: { requests: 6, per: '1h' }, scope: 'Cluster' }] },
      },
    ];
    for (const o of objects) await stack.apply(o);
    for (const [kind, name] of [['ModelRoute', 'chat'], ['ModelRoute', 'halved'], ['Tenant', 'team'], ['Tenant', 'ops'], ['RateLimitPolicy', 'shared']] as const) {
      await stack.waitForConditions(kind, name, TRUE3, 30_000);
    }
  }, setupTimeoutMs());

  afterAll(async () => {
    await stack?.stop();
    await backend?.close();
  }, 30_000);

  it('a Cluster limit of 6 without Redis: each of the 2 proxies admits its share of 3, 6 in all, never 12', async () => {
    const [p0, p1] = stack.proxies;
    // The operator's heartbeat tells each proxy it is one of two.
    for (const p of [p0!, p1!]) {
      await waitFor(`${p.name} knows of 2 replicas`, async () => /^jairouter_proxy_replicas 2$/m.test(await (await fetch(`${p.adminUrl}/metrics`)).text()), 20_000);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await chatStatus(p0!, KEY, 'chat'), await chatStatus(p1!, KEY, 'chat'));
    expect(statuses.filter((s) => s === 200).length).toBe(6);
    expect(statuses.filter((s) => s === 429).length).toBe(6);
    // Each proxy admitted its 3 and refused the rest.
    expect(statuses.filter((s, i) => i % 2 === 0 && s === 200).length).toBe(3);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  });

  it('the proxies\' counts reach Tenant.status.usage and RateLimitPolicy.status, summed over both, and kubectl get shows them', async () => {
    const tenant = await waitFor('Tenant team status.usage', async () => {
      const t = await stack.get('Tenant', 'team');
      const u = t['status']?.usage;
      return u && u.requestsToday === 6 && u.throttledToday === 6 ? t : undefined;
    }, 45_000);
    const usage = tenant['status'].usage;
    expect(usage.requestsThisMinute).toBeLessThanOrEqual(6);
    expect(usage.tokensToday).toBeGreaterThan(0);
    // A token costs $1 here: what was spent is what the 6 answers used, and the rest is left.
    expect(usage.budgetSpent).toBe(usage.tokensToday);
    expect(usage.budgetLeft).toBe(100000 - usage.budgetSpent);
    const policy = await waitFor('RateLimitPolicy shared status', async () => {
      const p = await stack.get('RateLimitPolicy', 'shared');
      return p['status']?.throttledToday === 6 ? p : undefined;
    }, 45_000);
    // No proxy has a Redis: the Cluster rule is split per replica, and the status says so.
    expect(policy['status'].clusterScope).toBe('PerReplica');
    const table = (await stack.kubectl(['get', 'tenants', '-n', stack.ns])).stdout;
    expect(table).toMatch(/NAME\s+ACCEPTED\s+PROGRAMMED\s+KEYS\s+REQ\/MIN\s+TOKENS TODAY\s+THROTTLED\s+BUDGET LEFT\s+AGE/);
    expect(table).toMatch(new RegExp(`team\\s+True\\s+True\\s+1\\s+\\d+\\s+${usage.tokensToday}\\s+6\\s+`));
  });

  it('an endpoint a proxy ejected reaches ModelRoute.status (backends[].ejected, capacity) and the CAPACITY column', async () => {
    const p0 = stack.proxies[0]!;
    // Round robin reaches the dead backend within two requests; each fails over and succeeds.
    for (let i = 0; i < 2; i++) expect(await chatStatus(p0, OPS_KEY, 'halved')).toBe(200);
    const route = await waitFor('ModelRoute halved status.capacity', async () => {
      const r = await stack.get('ModelRoute', 'halved');
      return r['status']?.capacity === '1 ejected' ? r : undefined;
    }, 45_000);
    expect(route['status'].backends).toEqual([{ name: 'dead', endpoints: 1, ejected: 1, saturated: 0 }, { name: 'live', endpoints: 1, ejected: 0, saturated: 0 }]);
    expect((await stack.get('ModelRoute', 'chat'))['status'].capacity).toBe('ok');
    const table = (await stack.kubectl(['get', 'modelroutes', '-n', stack.ns])).stdout;
    expect(table).toMatch(/NAME\s+MODELS\s+STRATEGY\s+BACKENDS\s+CAPACITY\s+PROGRAMMED\s+AGE/);
    expect(table).toMatch(/halved\s+\["halved"\]\s+RoundRobin\s+2\/2\s+1 ejected\s+True/);
  });
});
