import { afterAll, describe, expect, it } from 'vitest';
import { withVersion, type BackendIR, type RouteIR } from '@jairouter/crds';
import type { EndpointHealth } from '../health/endpoint-health.ts';
import { Runtime, type RouteRuntime } from '../runtime/runtime.ts';
import { PoolRegistry } from './pools.ts';
import { Need } from '../runtime/capabilities.ts';
import { backoffMs, mayEject, selectEndpoint, type PickContext } from './select.ts';

const pools = new PoolRegistry();
afterAll(() => pools.closeAll());

function backend(name: string, priority: number, extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name, adapter: 'openai', endpoints: [{ url: `http://127.0.0.1:1/${name}` }], weight: 1, priority,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, ...extra,
  };
}

function route(backends: BackendIR[], strategy: RouteIR['loadBalancer']['strategy'] = 'RoundRobin'): RouteRuntime {
  const ir: RouteIR = {
    id: 'ns/r', namespace: 'ns', name: 'r', generation: 1, models: ['m'], backends,
    loadBalancer: { strategy },
    retry: { attempts: 2, retryOn: ['connect-failure', 'reset', '5xx', '429'], backoffBaseMs: 100, backoffMaxMs: 2000 },
    timeouts: { connectMs: 1000, firstByteMs: 1000, requestMs: 5000 },
    healthCheck: { passive: { consecutiveFailures: 2, ejectionTimeMs: 1000, maxEjectionPercent: 50 } },
    fallbackModels: [],
  };
  const rt = new Runtime(withVersion({ schemaVersion: 4, limits: [], routes: [ir], tenants: [] }), new Map<string, EndpointHealth>(), pools);
  return rt.routes[0]!;
}

const names = (r: RouteRuntime, picks: number[]) => picks.map((i) => r.endpoints[i]!.backend.name);

function ctx(tried: Uint8Array, now: number, untriedOnly: boolean, extra: Partial<PickContext> = {}): PickContext {
  return { tried, now, untriedOnly, only: -1, hashValue: '', needs: 0, tokens: 0, onRestored: () => {}, ...extra };
}
const select = (r: RouteRuntime, tried: Uint8Array, now: number, untriedOnly: boolean, extra: Partial<PickContext> = {}) =>
  selectEndpoint(r, ctx(tried, now, untriedOnly, extra));

describe('selectEndpoint', () => {
  it('uses every endpoint of tier 0 before any of tier 1', () => {
    const r = route([backend('a', 0), backend('b', 0), backend('c', 1)]);
    const tried = new Uint8Array(3);
    const picks: number[] = [];
    for (let n = 0; n < 3; n++) {
      const i = select(r, tried, 0, true);
      tried[i] = 1;
      picks.push(i);
    }
    expect(names(r, picks.slice(0, 2)).sort()).toEqual(['a', 'b']);
    expect(names(r, picks.slice(2))).toEqual(['c']);
    expect(select(r, tried, 0, true)).toBe(-1);
    expect(select(r, tried, 0, false)).toBeGreaterThanOrEqual(0);
  });

  it('skips ejected endpoints and returns them after the ejection time', () => {
    const r = route([backend('a', 0), backend('b', 1)]);
    const a = r.endpoints[0]!.health;
    a.recordFailure(0, 2, 1000);
    a.recordFailure(0, 2, 1000);
    const none = new Uint8Array(2);
    expect(names(r, [select(r, none, 10, true)])).toEqual(['b']);
    expect(names(r, [select(r, none, 1000, true)])).toEqual(['a']);
  });

  it('skips an endpoint at maxConcurrency', () => {
    const r = route([backend('a', 0, { maxConcurrency: 1 }), backend('b', 0)]);
    r.endpoints[0]!.health.inflight = 1;
    const none = new Uint8Array(2);
    for (let n = 0; n < 5; n++) expect(names(r, [select(r, none, 0, true)])).toEqual(['b']);
  });

  it('returns -1 when nothing is usable (the proxy answers 503)', () => {
    const r = route([backend('a', 0)]);
    r.endpoints[0]!.health.coolDown(5000);
    expect(select(r, new Uint8Array(1), 0, false)).toBe(-1);
  });
});

describe('panic routing and the ejection cap', () => {
  it('tries ejected and unhealthy endpoints when every endpoint of every tier is out, rather than answering 503 untried', () => {
    const r = route([backend('a', 0), backend('b', 1)]);
    r.endpoints[0]!.health.ejectedUntil = 10_000;
    r.endpoints[1]!.health.activeUp = false;
    const tried = new Uint8Array(2);
    const first = select(r, tried, 0, true);
    expect(names(r, [first])).toEqual(['a']);
    tried[first] = 1;
    expect(names(r, [select(r, tried, 0, true)])).toEqual(['b']);
  });

  it('still skips an endpoint cooling down after a 429 in panic (it said when to come back)', () => {
    const r = route([backend('a', 0), backend('b', 0)]);
    r.endpoints[0]!.health.coolDown(5000);
    r.endpoints[1]!.health.activeUp = false;
    expect(names(r, [select(r, new Uint8Array(2), 0, true)])).toEqual(['b']);
    r.endpoints[1]!.health.coolDown(5000);
    expect(select(r, new Uint8Array(2), 0, true)).toBe(-1);
  });

  it('does not panic while a healthy endpoint is merely tried already (the retry path uses it again)', () => {
    const r = route([backend('a', 0), backend('b', 0)]);
    r.endpoints[1]!.health.ejectedUntil = 10_000;
    const tried = new Uint8Array([1, 0]);
    expect(select(r, tried, 0, true)).toBe(-1);
    expect(names(r, [select(r, tried, 0, false)])).toEqual(['a']);
  });

  it('ejects at most maxEjectionPercent of a route, and never the last endpoint in', () => {
    const two = route([backend('a', 0), backend('b', 0)]);
    expect(mayEject(two, 0)).toBe(true);
    two.endpoints[0]!.health.ejectedUntil = 1000;
    expect(mayEject(two, 0)).toBe(false);
    expect(mayEject(two, 1000)).toBe(true);
    const one = route([backend('a', 0)]);
    expect(mayEject(one, 0)).toBe(false);
    const four = route([backend('a', 0), backend('b', 0), backend('c', 0), backend('d', 0)]);
    four.endpoints[0]!.health.ejectedUntil = 1000;
    expect(mayEject(four, 0)).toBe(true);
    four.endpoints[1]!.health.ejectedUntil = 1000;
    expect(mayEject(four, 0)).toBe(false);
  });

  it('reports an endpoint whose ejection ended, once', () => {
    const r = route([backend('a', 0), backend('b', 0)]);
    const h = r.endpoints[0]!.health;
    expect(h.recordFailure(0, 1, 100)).toBe(true);
    const restored: number[] = [];
    const onRestored = (_r: RouteRuntime, i: number) => restored.push(i);
    select(r, new Uint8Array(2), 50, true, { onRestored });
    expect(restored).toEqual([]);
    select(r, new Uint8Array(2), 100, true, { onRestored });
    select(r, new Uint8Array(2), 150, true, { onRestored });
    expect(restored).toEqual([0]);
  });
});

describe('capability filter', () => {
  it('never picks an endpoint that lacks what the request needs, under any strategy', () => {
    for (const strategy of ['Random', 'RoundRobin', 'WeightedRoundRobin', 'LeastConnections', 'IPHash', 'ConsistentHash', 'Latency', 'Cost', 'Capability'] as const) {
      const r = route([backend('no-tools', 0, { capabilities: { tools: false } }), backend('small', 0, { capabilities: { contextWindow: 100 } }), backend('able', 1)], strategy);
      for (let n = 0; n < 20; n++) {
        expect(names(r, [select(r, new Uint8Array(3), 0, true, { needs: Need.tools, tokens: 50 })])).not.toEqual(['no-tools']);
        expect(names(r, [select(r, new Uint8Array(3), 0, true, { needs: 0, tokens: 500 })])).not.toEqual(['small']);
      }
      expect(names(r, [select(r, new Uint8Array(3), 0, true, { needs: Need.tools, tokens: 500 })])).toEqual(['able']);
    }
  });
});

describe('backoffMs', () => {
  it('doubles from base, stays under max, jitters within [d/2, d)', () => {
    expect(backoffMs(1, 100, 2000, 0)).toBe(50);
    expect(backoffMs(2, 100, 2000, 0.999)).toBeLessThan(200);
    expect(backoffMs(3, 100, 2000, 0)).toBe(200);
    expect(backoffMs(10, 100, 2000, 0.5)).toBe(1500);
  });
});
