import type { KubeObject } from '@jairouter/crds';
import { describe, expect, it } from 'vitest';
import { ConfigLedger } from './programmed.ts';
import { reconcile, type ObjectUpdate } from './reconcile.ts';
import { cluster, endpointSlice, route, secret, service, tenant } from './testing.ts';

const NOW = new Date('2026-02-01T00:00:00Z');
const LATER = new Date('2026-02-01T00:05:00Z');

const cond = (u: ObjectUpdate | undefined, type: string) => u?.status.conditions.find((c) => c.type === type);
const byName = (updates: ObjectUpdate[], name: string) => updates.find((u) => u.name === name);
/** What the API would hand back after the status write. */
const withStatus = (o: KubeObject, u: ObjectUpdate | undefined): KubeObject => ({ ...o, status: JSON.parse(JSON.stringify(u?.status)) });

describe('reconcile', () => {
  const chat = route('chat', { secret: 'openai' });
  const broken = route('broken', { secret: 'missing' });
  const local = route('local', { service: 'vllm' });
  const acme = tenant('acme', { secrets: ['acme-keys'] });
  const state = cluster({
    modelRoutes: [chat, broken, local], tenants: [acme],
    secrets: [secret('openai', { apiKey: 'sk-1' }), secret('acme-keys', { a: 'k1', b: 'k2' })],
    services: [service('vllm')], endpointSlices: [endpointSlice('vllm-1', 'vllm', ['10.0.0.1', '10.0.0.2'])],
  });

  it('a missing Secret gives ResolvedRefs=False on that route only; backends and keys are reported', () => {
    const r = reconcile({ cluster: state, served: new Map(), ledger: new ConfigLedger(), now: NOW });
    expect(r.config.routes.map((x) => x.id)).toEqual(['ai/chat', 'ai/local']);
    expect(cond(byName(r.updates, 'broken'), 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(cond(byName(r.updates, 'broken'), 'Accepted')?.status).toBe('True');
    expect(cond(byName(r.updates, 'broken'), 'Programmed')).toMatchObject({ status: 'False', reason: 'NotInConfig' });
    expect(cond(byName(r.updates, 'chat'), 'ResolvedRefs')?.status).toBe('True');
    expect(byName(r.updates, 'local')?.status.backends).toEqual([{ name: 'b', endpoints: 2 }]);
    expect(byName(r.updates, 'local')?.status.readyBackends).toBe('1/1');
    expect(byName(r.updates, 'acme')?.status.keys).toBe(2);
    expect(cond(byName(r.updates, 'chat'), 'Programmed')).toMatchObject({ status: 'False', reason: 'NoProxies' });
    expect(r.updates.every((u) => u.patchNeeded)).toBe(true);
    expect(r.updates.map((u) => u.status.conditions.map((c) => c.type))).toEqual(r.updates.map(() => ['Accepted', 'ResolvedRefs', 'Programmed']));
  });

  it('Programmed follows the served version; nothing is rewritten once the status is in place', () => {
    const ledger = new ConfigLedger();
    const first = reconcile({ cluster: state, served: new Map(), ledger, now: NOW });
    const served = new Map([['proxy-a', first.config.version]]);
    const second = reconcile({ cluster: state, served, ledger, now: NOW });
    expect(cond(byName(second.updates, 'chat'), 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed', lastTransitionTime: '2026-02-01T00:00:00Z' });
    // Nothing stored yet: every condition is new, so each one is a transition (an Event).
    expect(byName(second.updates, 'chat')?.transitions.map((t) => `${t.type}:${t.from}->${t.to}`))
      .toEqual(['Accepted:undefined->True', 'ResolvedRefs:undefined->True', 'Programmed:undefined->True']);

    // Store the statuses as the API server would, then reconcile again later: no writes.
    const stored = cluster({
      ...state,
      modelRoutes: state.modelRoutes.map((o) => withStatus(o, second.updates.find((u) => u.kind === 'ModelRoute' && u.name === (o['metadata'] as { name: string }).name))),
      tenants: state.tenants.map((o) => withStatus(o, byName(second.updates, 'acme'))),
    });
    const third = reconcile({ cluster: stored, served, ledger, now: LATER });
    expect(third.updates.filter((u) => u.patchNeeded)).toEqual([]);
    expect(third.config.version).toBe(first.config.version);

    // A spec change: new generation, observedGeneration follows, Programmed waits for the proxy.
    const chat2 = { ...stored.modelRoutes[0]!, metadata: { ...(stored.modelRoutes[0]!['metadata'] as object), generation: 2 } };
    const changed = cluster({ ...stored, modelRoutes: [chat2, ...stored.modelRoutes.slice(1)] });
    const fourth = reconcile({ cluster: changed, served, ledger, now: LATER });
    const chatUpdate = byName(fourth.updates, 'chat');
    expect(chatUpdate?.status.observedGeneration).toBe(2);
    expect(cond(chatUpdate, 'Accepted')).toMatchObject({ observedGeneration: 2, lastTransitionTime: '2026-02-01T00:00:00Z' });
    expect(cond(chatUpdate, 'Programmed')).toMatchObject({ status: 'False', reason: 'Pending', lastTransitionTime: '2026-02-01T00:05:00Z' });
    expect(chatUpdate?.transitions.map((t) => `${t.type}:${t.from}->${t.to}`)).toEqual(['Programmed:True->False']);
    expect(byName(fourth.updates, 'local')?.patchNeeded).toBe(false); // other objects keep their status
    const fifth = reconcile({ cluster: changed, served: new Map([['proxy-a', fourth.config.version]]), ledger, now: LATER });
    expect(cond(byName(fifth.updates, 'chat'), 'Programmed')?.status).toBe('True');
  });
});
