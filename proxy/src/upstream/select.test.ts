import { afterAll, describe, expect, it } from 'vitest';
import { withVersion, type BackendIR, type RouteIR } from '@jairouter/crds';
import type { EndpointHealth } from '../health/endpoint-health.ts';
import { Runtime, type RouteRuntime } from '../runtime/runtime.ts';
import { PoolRegistry } from './pools.ts';
import { backoffMs, selectEndpoint } from './select.ts';

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
  const rt = new Runtime(withVersion({ schemaVersion: 1, routes: [ir], tenants: [] }), new Map<string, EndpointHealth>(), pools);
  return rt.routes[0]!;
}

const names = (r: RouteRuntime, picks: number[]) => picks.map((i) => r.endpoints[i]!.backend.name);

describe('selectEndpoint', () => {
  it('uses every endpoint of tier 0 before any of tier 1', () => {
    const r = route([backend('a', 0), backend('b', 0), backend('c', 1)]);
    const tried = new Uint8Array(3);
    const picks: number[] = [];
    for (let n = 0; n < 3; n++) {
      const i = selectEndpoint(r, tried, 0, true, '');
      tried[i] = 1;
      picks.push(i);
    }
    expect(names(r, picks.slice(0, 2)).sort()).toEqual(['a', 'b']);
    expect(names(r, picks.slice(2))).toEqual(['c']);
    expect(selectEndpoint(r, tried, 0, true, '')).toBe(-1);
    expect(selectEndpoint(r, tried, 0, false, '')).toBeGreaterThanOrEqual(0);
  });

  it('skips ejected endpoints and returns them after the ejection time', () => {
    const r = route([backend('a', 0), backend('b', 1)]);
    const a = r.endpoints[0]!.health;
    a.recordFailure(0, 2, 1000);
    a.recordFailure(0, 2, 1000);
    const none = new Uint8Array(2);
    expect(names(r, [selectEndpoint(r, none, 10, true, '')])).toEqual(['b']);
    expect(names(r, [selectEndpoint(r, none, 1000, true, '')])).toEqual(['a']);
  });

  it('skips an endpoint at maxConcurrency', () => {
    const r = route([backend('a', 0, { maxConcurrency: 1 }), backend('b', 0)]);
    r.endpoints[0]!.health.inflight = 1;
    const none = new Uint8Array(2);
    for (let n = 0; n < 5; n++) expect(names(r, [selectEndpoint(r, none, 0, true, '')])).toEqual(['b']);
  });

  it('returns -1 when nothing is usable (the proxy answers 503)', () => {
    const r = route([backend('a', 0)]);
    r.endpoints[0]!.health.coolDown(5000);
    expect(selectEndpoint(r, new Uint8Array(1), 0, false, '')).toBe(-1);
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
