import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../metrics.ts';
import { route, secret, tenant } from '../reconcile/testing.ts';
import type { ObjectStatusBody, ConditionTransition } from '../reconcile/status.ts';
import { Controller } from './controller.ts';
import type { EventTarget } from './events.ts';
import { FakeCluster } from './fake-informer.test-support.ts';
import { MemoryPublisher } from './memory-publisher.test-support.ts';
import { WATCHED, type Watched } from './sources.ts';
import type { StatusTarget } from './status-writer.ts';

const PLURAL_TO_WATCHED = { ModelRoute: 'modelRoutes', Tenant: 'tenants', RateLimitPolicy: 'rateLimitPolicies' } as const;

function setup(opts: { leader?: () => boolean; audit?: { write(r: unknown): void } } = {}) {
  const clusters = Object.fromEntries(WATCHED.map((k) => [k, new FakeCluster()])) as Record<Watched, FakeCluster>;
  const publisher = new MemoryPublisher();
  const writes: { key: string; status: ObjectStatusBody }[] = [];
  const events: { target: EventTarget; t: ConditionTransition }[] = [];
  const metrics = new OperatorMetrics();
  const controller = new Controller({
    scopes: [Object.fromEntries(WATCHED.map((k) => [k, clusters[k].factory])) as never],
    publisher,
    isLeader: opts.leader ?? (() => true),
    statusWriter: {
      async write(t: StatusTarget, status: ObjectStatusBody) {
        writes.push({ key: `${t.kind}/${t.namespace}/${t.name}`, status });
        const c = clusters[PLURAL_TO_WATCHED[t.kind]];
        const current = c.objects.get(`${t.namespace}/${t.name}`);
        if (!current) return undefined;
        // Like the API server: the status lands later than the response (the watch lags).
        const stored = JSON.parse(JSON.stringify({ ...current, status })) as KubernetesObject;
        setTimeout(() => c.put(stored), 5);
        return String(c.rv + 1);
      },
    },
    events: { async transition(target, t) { events.push({ target, t }); } },
    log: pino({ level: 'silent' }),
    metrics,
    relistMs: 0,
    now: () => new Date('2026-03-01T00:00:00Z'),
    ...(opts.audit && { audit: opts.audit }),
  });
  return { clusters, publisher, writes, events, controller, metrics };
}

let stopMe: Controller | undefined;
afterEach(async () => {
  await stopMe?.stop();
  stopMe = undefined;
});

const settle = async (c: Controller) => {
  await sleep(30);
  await c.idle();
};

describe('Controller', () => {
  it('syncs, compiles, publishes, writes each status once, and stays quiet when nothing changes', async () => {
    const s = setup();
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat', { secret: 'openai' }));
    s.clusters.modelRoutes.put(route('broken', { secret: 'missing' }));
    s.clusters.tenants.put(tenant('acme', { secrets: ['acme-keys'] }));
    s.clusters.secrets.put(secret('openai', { apiKey: 'sk-1' }));
    s.clusters.secrets.put(secret('acme-keys', { a: 'k1' }));
    s.clusters.secrets.put(secret('unrelated', { x: 'y' }));
    await s.controller.start();
    await settle(s.controller);
    expect(s.controller.ready).toBe(true);
    expect(s.publisher.last?.routes.map((r) => r.id)).toEqual(['ai/chat']);
    expect(s.writes.map((w) => w.key).sort()).toEqual(['ModelRoute/ai/broken', 'ModelRoute/ai/chat', 'Tenant/ai/acme']);
    const broken = s.writes.find((w) => w.key === 'ModelRoute/ai/broken')!.status;
    expect(broken.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(s.events.filter((e) => e.t.reason === 'SecretNotFound')).toHaveLength(1);

    // An unrelated Secret changing does not even run a reconcile; a relist runs one that writes nothing.
    const runs = async () => (await s.metrics.reconciles.get()).values.find((v) => v.labels.result === 'success')?.value ?? 0;
    const before = await runs();
    expect(before).toBeGreaterThan(0);
    s.clusters.secrets.put(secret('unrelated', { x: 'z' }));
    await settle(s.controller);
    expect(await runs()).toBe(before);
    const writesBefore = s.writes.length;
    await s.controller.relist();
    await settle(s.controller);
    expect(s.writes.length).toBe(writesBefore);
  });

  it('audit: one record per config version published and per object whose outcome changed, none for a reconcile that changes nothing', async () => {
    const records: Record<string, unknown>[] = [];
    const s = setup({ audit: { write: (r) => records.push(r as Record<string, unknown>) } });
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat', { secret: 'openai' }));
    s.clusters.secrets.put(secret('openai', { apiKey: 'sk-audit-operator-1' }));
    await s.controller.start();
    await settle(s.controller);
    expect(records.map((r) => `${r.event} ${r.kind}/${r.name}`)).toEqual(['config /', 'object ModelRoute/chat']);
    expect(records[0]).toMatchObject({ routes: 1, tenants: 0, limits: 0 });
    expect(records[1]).toMatchObject({ accepted: 'True', reason: 'Accepted', configVersion: records[0]!.configVersion });
    await s.controller.relist();
    await settle(s.controller);
    expect(records).toHaveLength(2);
    s.clusters.modelRoutes.put(route('broken', { secret: 'missing' }));
    await settle(s.controller);
    expect(records.slice(2).map((r) => `${r.event} ${r.kind}/${r.name}`)).toContain('object ModelRoute/broken');
    expect(JSON.stringify(records)).not.toContain('sk-audit-operator-1');
  });

  it('Programmed follows the proxies; a missing Secret created later resolves the route', async () => {
    const s = setup();
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat', { secret: 'openai' }));
    await s.controller.start();
    await settle(s.controller);
    const last = (key: string) => s.writes.filter((w) => w.key === key).at(-1)!.status;
    expect(last('ModelRoute/ai/chat').conditions.find((c) => c.type === 'Programmed')).toMatchObject({ status: 'False', reason: 'NotInConfig' });

    s.clusters.secrets.put(secret('openai', { apiKey: 'sk-1' }));
    await settle(s.controller);
    expect(last('ModelRoute/ai/chat').conditions.find((c) => c.type === 'ResolvedRefs')?.status).toBe('True');
    expect(last('ModelRoute/ai/chat').conditions.find((c) => c.type === 'Programmed')?.reason).toBe('NoProxies');

    s.publisher.proxiesServeLatest('proxy-1');
    await settle(s.controller);
    expect(last('ModelRoute/ai/chat').conditions.find((c) => c.type === 'Programmed')?.status).toBe('True');
    const n = s.writes.length;
    s.publisher.proxiesServeLatest('proxy-1'); // same version again: nothing to write
    await settle(s.controller);
    expect(s.writes.length).toBe(n);
  });

  it('a follower publishes to its proxies but never writes status', async () => {
    const s = setup({ leader: () => false });
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat'));
    await s.controller.start();
    await settle(s.controller);
    expect(s.publisher.published.at(-1)).toMatchObject({ leader: false });
    expect(s.writes).toEqual([]);
    expect(s.events).toEqual([]);
  });

  it('writes statuses a few at a time, never more than 8 in flight', async () => {
    const s = setup();
    stopMe = s.controller;
    for (let i = 0; i < 30; i++) s.clusters.modelRoutes.put(route(`r${i}`));
    let inFlight = 0;
    let peak = 0;
    const slow = {
      async write() {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(10);
        inFlight--;
        return '1';
      },
    };
    const c = new Controller({
      scopes: [Object.fromEntries(WATCHED.map((k) => [k, s.clusters[k].factory])) as never],
      publisher: new MemoryPublisher(), isLeader: () => true, statusWriter: slow,
      events: { async transition() {} }, log: pino({ level: 'silent' }), relistMs: 0,
    });
    const t = Date.now();
    await c.start();
    await c.stop();
    expect(peak).toBe(8);
    expect(Date.now() - t).toBeLessThan(30 * 10); // not one after another
  });
});
