import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@jairouter/testkit/wait-for';
import { OperatorMetrics } from '../metrics.ts';
import { sample } from '../metrics.test-support.ts';
import { route, secret, tenant } from '../reconcile/testing.ts';
import type { ObjectStatusBody, ConditionTransition } from '../reconcile/status.ts';
import { Controller } from './controller.ts';
import type { EventTarget } from './events.ts';
import { FakeCluster } from './fake-informer.test-support.ts';
import { MemoryPublisher } from './memory-publisher.test-support.ts';
import { WATCHED, type Watched } from './sources.ts';
import type { StatusTarget } from './status-writer.ts';

const PLURAL_TO_WATCHED = { ModelRoute: 'modelRoutes', Tenant: 'tenants', RateLimitPolicy: 'rateLimitPolicies' } as const;

function setup(opts: { leader?: () => boolean; audit?: { write(r: unknown): void }; publisher?: MemoryPublisher; queueBaseDelayMs?: number } = {}) {
  const clusters = Object.fromEntries(WATCHED.map((k) => [k, new FakeCluster()])) as Record<Watched, FakeCluster>;
  const publisher = opts.publisher ?? new MemoryPublisher();
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
    ...(opts.queueBaseDelayMs !== undefined && { queueBaseDelayMs: opts.queueBaseDelayMs }),
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

/** Publishes like MemoryPublisher; `fail` rejects the next publishes, `hold` keeps them pending until released. */
class ScriptedPublisher extends MemoryPublisher {
  fail = 0;
  hold: Promise<void> | undefined;
  override async publish(config: Parameters<MemoryPublisher['publish']>[0], opts: { leader: boolean }) {
    await this.hold;
    if (this.fail > 0) {
      this.fail--;
      throw new Error('publish failed');
    }
    await super.publish(config, opts);
  }
}

describe('Controller metrics (controller-runtime and workqueue series)', () => {
  const C = { controller: 'jairouter' };
  const Q = { name: 'jairouter', controller: 'jairouter' };

  // Followers write no status, so no status write comes back as a watch event and queues one more run.
  const follower = () => false;

  it('counts each reconcile once in both series, adds and queue time for every run, nothing before the informers listed', async () => {
    const s = setup({ leader: follower });
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat'));
    s.clusters.modelRoutes.put(route('other'));
    await s.controller.start();
    await settle(s.controller);
    let text = await s.metrics.registry.metrics();
    // The informers' initial list queues nothing: start() queues the first reconcile once they all listed.
    expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'success' })).toBe(1);
    expect(sample(text, 'workqueue_adds_total', Q)).toBe(1);
    s.clusters.modelRoutes.put(route('third'));
    await settle(s.controller);
    text = await s.metrics.registry.metrics();
    const runs = sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'success' })!;
    expect(runs).toBe(2);
    expect(sample(text, 'jairouter_operator_reconcile_total', { result: 'success' })).toBe(runs);
    for (const result of ['error', 'requeue', 'requeue_after']) expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result })).toBe(0);
    expect(sample(text, 'controller_runtime_reconcile_errors_total', C)).toBe(0);
    expect(sample(text, 'controller_runtime_reconcile_time_seconds_count', C)).toBe(runs);
    expect(sample(text, 'jairouter_operator_reconcile_duration_seconds_count')).toBe(runs);
    expect(sample(text, 'workqueue_adds_total', Q)).toBe(runs); // every add ran once: nothing coalesced away unseen
    expect(sample(text, 'workqueue_queue_duration_seconds_count', Q)).toBe(runs);
    expect(sample(text, 'workqueue_work_duration_seconds_count', Q)).toBe(runs);
    expect(sample(text, 'workqueue_depth', Q)).toBe(0);
    expect(sample(text, 'jairouter_operator_queue_depth')).toBe(0);
    expect(sample(text, 'controller_runtime_active_workers', C)).toBe(0);
    expect(sample(text, 'controller_runtime_max_concurrent_reconciles', C)).toBe(1);
  });

  it('a failed reconcile: result="error", an error, a retry in both series, then success', async () => {
    const publisher = new ScriptedPublisher();
    const s = setup({ publisher, queueBaseDelayMs: 10, leader: follower });
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat'));
    publisher.fail = 1;
    await s.controller.start();
    await s.controller.idle();
    const text = await s.metrics.registry.metrics();
    expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'error' })).toBe(1);
    expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'success' })).toBe(1);
    expect(sample(text, 'controller_runtime_reconcile_errors_total', C)).toBe(1);
    expect(sample(text, 'jairouter_operator_reconcile_total', { result: 'error' })).toBe(1);
    expect(sample(text, 'workqueue_retries_total', Q)).toBe(1);
    expect(sample(text, 'jairouter_operator_reconcile_retries_total')).toBe(1);
    expect(sample(text, 'workqueue_adds_total', Q)).toBe(2); // the first add, and the retry's delay ending
  });

  it('a reconcile in flight shows as an active worker with unfinished work; a change meanwhile is queued (depth 1)', async () => {
    const publisher = new ScriptedPublisher();
    const s = setup({ publisher, leader: follower });
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat'));
    await s.controller.start();
    let release: () => void = () => {};
    publisher.hold = new Promise<void>((r) => (release = r));
    s.clusters.modelRoutes.put(route('slow'));
    const text = await waitFor('a reconcile running for a while', async () => {
      const t = await s.metrics.registry.metrics();
      return (sample(t, 'workqueue_unfinished_work_seconds', Q) ?? 0) > 0.02 ? t : undefined;
    });
    expect(sample(text, 'controller_runtime_active_workers', C)).toBe(1);
    expect(sample(text, 'workqueue_longest_running_processor_seconds', Q)).toBeGreaterThan(0.02);
    s.clusters.modelRoutes.put(route('meanwhile'));
    expect(sample(await s.metrics.registry.metrics(), 'workqueue_depth', Q)).toBe(1);
    publisher.hold = undefined;
    release();
    await settle(s.controller);
    const after = await s.metrics.registry.metrics();
    expect(sample(after, 'controller_runtime_active_workers', C)).toBe(0);
    expect(sample(after, 'workqueue_unfinished_work_seconds', Q)).toBe(0);
    expect(sample(after, 'workqueue_depth', Q)).toBe(0);
  });

  it('jairouter_operator_proxies_versions_behind counts the proxies not on the newest compiled version', async () => {
    const s = setup();
    stopMe = s.controller;
    s.clusters.modelRoutes.put(route('chat'));
    await s.controller.start();
    s.publisher.proxiesServeLatest('proxy-1', 'proxy-2');
    await settle(s.controller);
    const gauge = async (name: string) => sample(await s.metrics.registry.metrics(), name);
    expect(await gauge('jairouter_operator_connected_proxies')).toBe(2);
    expect(await gauge('jairouter_operator_proxies_versions_behind')).toBe(0);
    s.clusters.modelRoutes.put(route('new'));
    await settle(s.controller);
    expect(await gauge('jairouter_operator_proxies_versions_behind')).toBe(2);
    s.publisher.proxiesServeLatest('proxy-1');
    await settle(s.controller);
    expect(await gauge('jairouter_operator_proxies_versions_behind')).toBe(1);
    s.publisher.proxiesServeLatest('proxy-2');
    await settle(s.controller);
    expect(await gauge('jairouter_operator_proxies_versions_behind')).toBe(0);
  });
});
