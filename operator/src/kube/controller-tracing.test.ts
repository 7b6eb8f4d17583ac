// A trace per reconcile: the root span with the compiled config's version and counts, an event
// per object whose status changes, and compile / publish / write status under it.
import type { KubernetesObject } from '@kubernetes/client-node';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@jairouter/testkit/wait-for';
import { route, secret, tenant } from '../reconcile/testing.ts';
import type { ObjectStatusBody } from '../reconcile/status.ts';
import { createTracing, tracingEnv, type OperatorTracing } from '../tracing.ts';
import { Controller } from './controller.ts';
import { FakeCluster } from './fake-informer.test-support.ts';
import { MemoryPublisher } from './memory-publisher.test-support.ts';
import { WATCHED, type Watched } from './sources.ts';
import type { StatusTarget } from './status-writer.ts';

const PLURAL_TO_WATCHED = { ModelRoute: 'modelRoutes', Tenant: 'tenants', RateLimitPolicy: 'rateLimitPolicies' } as const;
const exporter = new InMemorySpanExporter();
let tracing: OperatorTracing;
let stopMe: Controller | undefined;

beforeAll(async () => {
  const { settings } = tracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'jairouter-operator');
  ({ tracing } = await createTracing(settings!, { exporter }));
});
afterEach(async () => {
  await stopMe?.stop();
  stopMe = undefined;
  exporter.reset();
});
afterAll(() => tracing?.shutdown());

function setup(opts: { failWrites?: boolean } = {}) {
  const clusters = Object.fromEntries(WATCHED.map((k) => [k, new FakeCluster()])) as Record<Watched, FakeCluster>;
  const publisher = new MemoryPublisher();
  const controller = new Controller({
    scopes: [Object.fromEntries(WATCHED.map((k) => [k, clusters[k].factory])) as never],
    publisher,
    isLeader: () => true,
    statusWriter: {
      async write(t: StatusTarget, status: ObjectStatusBody) {
        if (opts.failWrites) throw Object.assign(new Error('conflict'), { code: 409 });
        const c = clusters[PLURAL_TO_WATCHED[t.kind]];
        const current = c.objects.get(`${t.namespace}/${t.name}`);
        if (!current) return undefined;
        setTimeout(() => c.put(JSON.parse(JSON.stringify({ ...current, status })) as KubernetesObject), 5);
        return String(c.rv + 1);
      },
    },
    events: { async transition() {} },
    log: pino({ level: 'silent' }),
    relistMs: 0,
    queueBaseDelayMs: 60_000,
    now: () => new Date('2026-03-01T00:00:00Z'),
    tracer: tracing.tracer,
  });
  stopMe = controller;
  return { clusters, publisher, controller };
}

const reconciles = () => exporter.getFinishedSpans().filter((s) => s.name === 'reconcile');
const childrenOf = (parent: ReadableSpan) => exporter.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('reconcile traces', () => {
  it('one root span per reconcile: config version, counts, an event per changed object; compile, publish and write status under it', async () => {
    const s = setup();
    s.clusters.modelRoutes.put(route('chat', { secret: 'openai' }));
    s.clusters.modelRoutes.put(route('broken', { secret: 'missing' }));
    s.clusters.tenants.put(tenant('acme', { secrets: ['acme-keys'] }));
    s.clusters.secrets.put(secret('openai', { apiKey: 'sk-1' }));
    s.clusters.secrets.put(secret('acme-keys', { a: 'k1' }));
    await s.controller.start();
    await sleep(30);
    await s.controller.idle();
    const [first] = reconciles();
    expect(first).toBeDefined();
    expect(first!.parentSpanContext).toBeUndefined();
    expect(first!.resource.attributes['service.name']).toBe('jairouter-operator');
    expect(first!.attributes).toMatchObject({
      'jairouter.config_version': s.publisher.last!.version,
      'jairouter.config_changed': true,
      'jairouter.config.routes': 1,
      'jairouter.config.tenants': 1,
      'jairouter.objects.model_routes': 2,
      'jairouter.objects.tenants': 1,
      'jairouter.objects.secrets': 2,
      'jairouter.objects.accepted': 3,
      'jairouter.objects.changed': 3,
      'jairouter.leader': true,
    });
    const objects = first!.events.filter((e) => e.name === 'jairouter.object').map((e) => `${e.attributes!['jairouter.kind']}/${e.attributes!['jairouter.name']}@${e.attributes!['jairouter.generation']}`);
    expect(objects.sort()).toEqual(['ModelRoute/broken@1', 'ModelRoute/chat@1', 'Tenant/acme@1']);
    expect(childrenOf(first!).map((c) => c.name).sort()).toEqual(['compile', 'publish', 'write status']);
    const writes = childrenOf(first!).find((c) => c.name === 'write status')!;
    expect(writes.attributes).toMatchObject({ 'jairouter.status_writes': 3, 'jairouter.status_write_failures': 0 });
    // No Secret value on any span.
    expect(JSON.stringify(exporter.getFinishedSpans().map((x) => [x.attributes, x.events]))).not.toContain('sk-1');

    // A reconcile that changes nothing: the same version, no object events, no status writes.
    exporter.reset();
    s.controller.enqueue();
    await sleep(30);
    await s.controller.idle();
    const quiet = reconciles().at(-1)!;
    expect(quiet.attributes).toMatchObject({ 'jairouter.config_changed': false, 'jairouter.objects.changed': 0 });
    expect(quiet.events).toEqual([]);
    expect(childrenOf(quiet).map((c) => c.name).sort()).toEqual(['compile', 'publish']);
  });

  it('a failed reconcile ends its span in error', async () => {
    const s = setup({ failWrites: true });
    s.clusters.modelRoutes.put(route('chat', { secret: 'openai' }));
    s.clusters.secrets.put(secret('openai', { apiKey: 'sk-1' }));
    // start() would wait for the retry (a minute away): the first run's span is enough.
    void s.controller.start();
    const first = await waitFor('the first reconcile span', () => reconciles()[0], 5_000);
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(first!.status.message).toContain('HTTP 409');
    const writes = childrenOf(first!).find((c) => c.name === 'write status')!;
    expect(writes.attributes['jairouter.status_write_failures']).toBe(1);
  });
});
