import { afterAll, describe, expect, it } from 'vitest';
import { withVersion, type BackendIR, type ProxyConfig, type RouteIR, type TenantIR } from '@jairouter/crds';
import type { EndpointHealth } from '../health/endpoint-health.ts';
import { PoolRegistry } from '../upstream/pools.ts';
import { Runtime, type RouteRuntime } from './runtime.ts';

const pools = new PoolRegistry();
afterAll(() => pools.closeAll());

function backend(name: string, weight = 1): BackendIR {
  return {
    name, adapter: 'openai', endpoints: [{ url: `http://127.0.0.1:1/${name}` }], weight, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {},
  };
}

function route(name: string, backends: BackendIR[], strategy: RouteIR['loadBalancer']['strategy'] = 'RoundRobin'): RouteIR {
  return {
    id: `ns/${name}`, namespace: 'ns', name, generation: 1, models: [name], backends,
    loadBalancer: { strategy },
    retry: { attempts: 2, retryOn: ['connect-failure'], backoffBaseMs: 100, backoffMaxMs: 2000 },
    timeouts: { connectMs: 1000, firstByteMs: 1000, requestMs: 5000 },
    healthCheck: { passive: { consecutiveFailures: 2, ejectionTimeMs: 1000, maxEjectionPercent: 50 } },
    fallbackModels: [],
  };
}

function tenant(name: string): TenantIR {
  return { id: `ns/${name}`, namespace: 'ns', name, suspended: false, apiKeys: [], jwtIssuers: [], access: { models: ['*'], roles: [] } } as unknown as TenantIR;
}

const config = (routes: RouteIR[], tenants: TenantIR[] = []): ProxyConfig => withVersion({ schemaVersion: 4, limits: [], routes, tenants });

/** The backend names a route's balancer picks, n times, with every endpoint a candidate. */
function picks(r: RouteRuntime, n: number): string[] {
  const candidates = r.endpoints.map((e) => e.index);
  const inflight = r.endpoints.map((e) => e.health.inflight);
  return Array.from({ length: n }, () => r.endpoints[r.balancer.pick({ candidates, hashValue: '', inflight })]!.backend.name);
}

describe('Runtime: balancer state across config versions', () => {
  const three = [backend('a'), backend('b'), backend('c')];

  it('a change elsewhere (another route, a tenant) keeps the round-robin position and in-flight counts', () => {
    const health = new Map<string, EndpointHealth>();
    const v1 = new Runtime(config([route('chat', three)]), health, pools);
    const before = picks(v1.routes[0]!, 2);
    v1.routes[0]!.endpoints[1]!.health.inflight = 4;
    const v2 = new Runtime(config([route('chat', three), route('other', [backend('x')])], [tenant('t')]), health, pools, v1);
    expect(v2.config.version).not.toBe(v1.config.version);
    // Round-robin carries on from where it was instead of restarting at a random endpoint.
    expect(v2.routes[0]!.balancer).toBe(v1.routes[0]!.balancer);
    const order = ['a', 'b', 'c'];
    const next = (name: string) => order[(order.indexOf(name) + 1) % 3]!;
    const after = picks(v2.routes[0]!, 4);
    expect(after).toEqual([next(before[1]!), next(next(before[1]!)), before[1]!, next(before[1]!)]);
    expect(v2.routes[0]!.endpoints[1]!.health.inflight).toBe(4);
  });

  it('a changed strategy, weight or endpoint list starts the balancer afresh; in-flight counts stay with the endpoints', () => {
    const health = new Map<string, EndpointHealth>();
    const v1 = new Runtime(config([route('chat', three)]), health, pools);
    v1.routes[0]!.endpoints[0]!.health.inflight = 2;
    const changes = [
      route('chat', three, 'LeastConnections'),
      route('chat', [backend('a', 5), backend('b'), backend('c')]),
      route('chat', [backend('a'), backend('b')]),
    ];
    for (const changed of changes) {
      const v2 = new Runtime(config([changed]), health, pools, v1);
      expect(v2.routes[0]!.balancer).not.toBe(v1.routes[0]!.balancer);
      // Requests still in flight on endpoint a count for LeastConnections and maxConcurrency.
      expect(v2.routes[0]!.endpoints[0]!.health.inflight).toBe(2);
    }
  });
});

describe('Runtime: tenants', () => {
  it('a key may call only access.models: role grants (which an older operator still sends) open nothing', () => {
    // Before issue 7 every role's models were merged into the tenant's matcher, so a role
    // admin: ["*"] let every key of the tenant call every model.
    const t = { ...tenant('t'), access: { models: ['chat-*'], roles: [{ name: 'admin', models: ['*'] }] } } as unknown as TenantIR;
    const rt = new Runtime(config([], [t]), new Map<string, EndpointHealth>(), pools);
    expect(rt.tenants[0]!.allow.matches('chat-small')).toBe(true);
    expect(rt.tenants[0]!.allow.matches('secret-model')).toBe(false);
  });
});

describe('Runtime.build: the same Runtime in slices (config swaps under load)', () => {
  const big = () => {
    const routes = Array.from({ length: 300 }, (_, i) => route(`r${i}`, [backend(`b${i}`), backend(`c${i}`)]));
    const tenants = Array.from({ length: 5 }, (_, i) => ({
      ...tenant(`t${i}`),
      apiKeys: Array.from({ length: 250 }, (_, k) => ({ id: `t${i}/k${k}`, sha256: `${i}-${k}`.padStart(64, '0') })),
    }) as unknown as TenantIR);
    return config(routes, tenants);
  };

  it('builds what the constructor builds, and lets the event loop run in between', async () => {
    const cfg = big();
    const whole = new Runtime(cfg, new Map<string, EndpointHealth>(), pools);
    let ranMeanwhile = false;
    setImmediate(() => (ranMeanwhile = true));
    // sliceMs 0: yield at every step.
    const sliced = await Runtime.build(cfg, new Map<string, EndpointHealth>(), pools, null, null, () => 1, 0);
    expect(ranMeanwhile).toBe(true);
    expect(sliced.routes.map((r) => [r.id, r.endpoints.map((e) => e.url)])).toEqual(whole.routes.map((r) => [r.id, r.endpoints.map((e) => e.url)]));
    expect(sliced.tenantsByKeyHash.size).toBe(1250);
    expect([...sliced.tenantsByKeyHash.keys()]).toEqual([...whole.tenantsByKeyHash.keys()]);
    expect(sliced.models.get('r299')?.id).toBe('ns/r299');
    expect(sliced.tenants.map((t) => t.id)).toEqual(whole.tenants.map((t) => t.id));
  });

  it('keeps the balancer state of unchanged routes from the previous version, as the constructor does', async () => {
    const health = new Map<string, EndpointHealth>();
    const v1 = new Runtime(config([route('chat', [backend('a'), backend('b'), backend('c')])]), health, pools);
    const last = picks(v1.routes[0]!, 2)[1]!;
    const v2 = await Runtime.build(config([route('chat', [backend('a'), backend('b'), backend('c')]), route('other', [backend('x')])]), health, pools, v1, null, () => 1, 0);
    expect(v2.routes[0]!.balancer).toBe(v1.routes[0]!.balancer);
    const order = ['a', 'b', 'c'];
    expect(picks(v2.routes[0]!, 1)).toEqual([order[(order.indexOf(last) + 1) % 3]]);
  });
});

describe('RuntimeSwap.applyAsync', () => {
  it('serves the old version until the new one is complete; applies land in the order called', async () => {
    const { RuntimeSwap } = await import('./swap.ts');
    const { createLogging } = await import('../telemetry/logger.ts');
    const swap = new RuntimeSwap(config([route('v0', [backend('a')])]), createLogging('silent').log);
    try {
      const many = (tag: string) => config(Array.from({ length: 400 }, (_, i) => route(`${tag}-${i}`, [backend(`b${i}`)])));
      const first = swap.applyAsync(many('one'));
      const second = swap.applyAsync(many('two'));
      // Still building: new requests get the old version meanwhile.
      expect(swap.current.routes.map((r) => r.id)).toEqual(['ns/v0']);
      const [a, b] = await Promise.all([first, second]);
      expect(a.routes[0]!.id).toBe('ns/one-0');
      expect(b.routes[0]!.id).toBe('ns/two-0');
      expect(swap.current).toBe(b);
    } finally {
      await swap.close();
    }
  });
});
