// /metrics of the real controller (informers, status writes and Events against the local
// kube-apiserver) with the real distribution side (HTTPS snapshot stream, fake TokenReview,
// in-memory Secret stores) and the real admin server: a fake proxy subscribes, receives the
// snapshot and reports it served, the way the proxy process does.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '@jairouter/testkit/control-plane';
import type { ProxyConfig } from '@jairouter/crds';
import { startAdminServer, type AdminServer } from '../admin-server.ts';
import { createPublisher, MemoryCertStore, MemorySnapshotStore, type DistributionPublisher } from '../distribution/index.ts';
import { call, client, FakeReviewer, subscribe } from '../distribution/testing.ts';
import { Controller } from '../kube/controller.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { sourceFactories } from '../kube/sources.ts';
import { KubeStatusWriter } from '../kube/status-writer.ts';
import { OperatorMetrics } from '../metrics.ts';
import { sample } from '../metrics.test-support.ts';
import { condition, route, skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = `jr-metrics-${Date.now().toString(36)}`;
const C = { controller: 'jairouter' };
const Q = { name: 'jairouter', controller: 'jairouter' };

describe.skipIf(skip !== undefined)(`/metrics of the controller against kube-apiserver${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cp: ControlPlane;
  let api: Api;
  let controller: Controller;
  let publisher: DistributionPublisher;
  let admin: AdminServer;
  let agent: ReturnType<typeof client>;
  const metrics = new OperatorMetrics();
  const log = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

  beforeAll(async () => {
    const c = await startCluster();
    cp = c.cp;
    api = c.api;
    await api.namespace(NS);
    publisher = await createPublisher({
      registry: metrics.registry, listen: '127.0.0.1:0', log, heartbeatMs: 200,
      tokenReviewer: new FakeReviewer(), certStore: new MemoryCertStore(), snapshotStore: new MemorySnapshotStore(),
    });
    agent = client(publisher.caCert());
    controller = new Controller({
      scopes: [sourceFactories(c.kc, NS)],
      publisher,
      isLeader: () => true,
      statusWriter: new KubeStatusWriter(c.kc),
      events: new KubeEventRecorder(c.kc, 'test-operator'),
      log,
      metrics,
      relistMs: 0,
    });
    admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => controller.ready, registry: metrics.registry });
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await agent?.close();
    await publisher?.close();
    await admin?.close();
    await cp?.stop();
  }, 60_000);

  const scrape = async () => {
    const { host, port } = admin.address();
    const r = await fetch(`http://${host}:${port}/metrics`);
    expect(r.status).toBe(200);
    return r.text();
  };

  it('controller-runtime, workqueue and distribution series after a real object is reconciled and a proxy reports the version served', async () => {
    const base = `https://localhost:${publisher.address().port}`;
    const proxy = await subscribe(agent, base, 'proxy-1', 'good');
    try {
      await api.create(NS, 'modelroutes', route('chat', ['gpt-4o'], { url: 'https://api.openai.com/v1' }));
      const withChat = (l: Record<string, unknown>) => l.type === 'snapshot' && (l.config as ProxyConfig).routes.some((r) => r.id === `${NS}/chat`);
      const first = (await proxy.next(withChat, 20_000)).config as ProxyConfig;
      await waitFor('chat Accepted', async () => condition(await api.get(NS, 'modelroutes', 'chat'), 'Accepted')?.status === 'True');

      let text = await scrape();
      expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'success' })).toBeGreaterThan(0);
      expect(sample(text, 'workqueue_adds_total', Q)).toBeGreaterThan(0);
      expect(sample(text, 'workqueue_queue_duration_seconds_count', Q)).toBeGreaterThan(0);
      expect(sample(text, 'controller_runtime_reconcile_time_seconds_count', C)).toBeGreaterThan(0);
      expect(sample(text, 'controller_runtime_max_concurrent_reconciles', C)).toBe(1);
      expect(sample(text, 'jairouter_operator_config_propagation_seconds_count')).toBe(0);

      // The proxy reports what it serves, as the proxy process does after applying a snapshot.
      const report = await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'proxy-1', body: { proxy: 'proxy-1', version: first.version } });
      expect(report.status).toBe(204);
      text = await waitFor('a propagation observation and the proxy counted', async () => {
        const t = await scrape();
        return sample(t, 'jairouter_operator_config_propagation_seconds_count') === 1 && sample(t, 'jairouter_operator_connected_proxies') === 1 ? t : undefined;
      });
      expect(sample(text, 'jairouter_operator_config_propagation_seconds_bucket', { le: '+Inf' })).toBe(1);
      expect(sample(text, 'jairouter_operator_config_propagation_seconds_sum')).toBeGreaterThan(0);
      await waitFor('chat Programmed=True', async () => condition(await api.get(NS, 'modelroutes', 'chat'), 'Programmed')?.status === 'True');
      expect(sample(await scrape(), 'jairouter_operator_proxies_versions_behind')).toBe(0);

      // A change: the proxy is one version behind until it reports the new one.
      await api.ok('PATCH', api.custom(NS, 'modelroutes', 'chat'), { spec: { models: ['gpt-4o', 'gpt-4o-mini'] } }, 'application/merge-patch+json');
      const patched = (l: Record<string, unknown>) => l.type === 'snapshot' && (l.config as ProxyConfig).routes.some((r) => r.id === `${NS}/chat` && r.models.includes('gpt-4o-mini'));
      const second = (await proxy.next(patched, 20_000)).config as ProxyConfig;
      await waitFor('versions behind 1', async () => sample(await scrape(), 'jairouter_operator_proxies_versions_behind') === 1);
      await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'proxy-1', body: { proxy: 'proxy-1', version: second.version } });
      text = await waitFor('versions behind 0 and a second observation', async () => {
        const t = await scrape();
        return sample(t, 'jairouter_operator_proxies_versions_behind') === 0 && sample(t, 'jairouter_operator_config_propagation_seconds_count') === 2 ? t : undefined;
      });
      expect(sample(text, 'controller_runtime_reconcile_total', { ...C, result: 'success' })).toBe(sample(text, 'jairouter_operator_reconcile_total', { result: 'success' }));
    } finally {
      proxy.close();
    }
  });
});
