// The controller against a real kube-apiserver: informers, status subresource writes, Events.
// The distribution side is an in-memory publisher here, so the test decides what proxies serve.
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '@jairouter/testkit/control-plane';
import { Controller } from '../kube/controller.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { sourceFactories } from '../kube/sources.ts';
import { MemoryPublisher } from '../kube/memory-publisher.test-support.ts';
import { KubeStatusWriter } from '../kube/status-writer.ts';
import { OperatorMetrics } from '../metrics.ts';
import { condition, route, skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = `jr-ctl-${Date.now().toString(36)}`;
const OTHER_NS = `${NS}-other`;

describe.skipIf(skip !== undefined)(`controller against kube-apiserver${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cp: ControlPlane;
  let api: Api;
  let controller: Controller;
  const publisher = new MemoryPublisher();
  const metrics = new OperatorMetrics();

  beforeAll(async () => {
    const c = await startCluster();
    cp = c.cp;
    api = c.api;
    await api.namespace(NS);
    await api.namespace(OTHER_NS);
    controller = new Controller({
      scopes: [sourceFactories(c.kc, NS)],
      publisher,
      isLeader: () => true,
      statusWriter: new KubeStatusWriter(c.kc),
      events: new KubeEventRecorder(c.kc, 'test-operator'),
      log: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
      metrics,
      relistMs: 0,
    });
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await cp?.stop();
  }, 60_000);

  const programmed = async (name: string) => condition(await api.get(NS, 'modelroutes', name), 'Programmed');

  it('writes Accepted/ResolvedRefs/Programmed with observedGeneration; a missing Secret fails only its own route', async () => {
    await api.secret(NS, 'openai', { apiKey: 'sk-test-1' });
    await api.create(NS, 'modelroutes', route('chat', ['gpt-4o'], { url: 'https://api.openai.com/v1', credentialsRef: { name: 'openai', key: 'apiKey' } }));
    await api.create(NS, 'modelroutes', route('broken', ['claude'], { url: 'https://api.anthropic.com', credentialsRef: { name: 'anthropic', key: 'apiKey' } }));
    await api.secret(NS, 'acme-keys', { alice: 'key-1', bob: 'key-2' });
    await api.create(NS, 'tenants', { apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: 'acme' }, spec: { apiKeys: { secretRefs: [{ name: 'acme-keys' }] } } });
    // Another namespace is not watched (--namespace NS).
    await api.create(OTHER_NS, 'modelroutes', route('elsewhere', ['other'], { url: 'https://example.com/v1' }));

    const chat = await waitFor('chat status', async () => {
      const o = await api.get(NS, 'modelroutes', 'chat');
      return condition(o, 'Programmed') ? o : undefined;
    });
    expect(chat.status.observedGeneration).toBe(1);
    expect(condition(chat, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 1 });
    expect(condition(chat, 'ResolvedRefs')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(condition(chat, 'Programmed')).toMatchObject({ status: 'False', reason: 'NoProxies' });
    expect(condition(chat, 'Accepted')?.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(chat.status.backends).toEqual([{ name: 'b', endpoints: 1 }]);

    const broken = await waitFor('broken status', async () => {
      const o = await api.get(NS, 'modelroutes', 'broken');
      return condition(o, 'ResolvedRefs') ? o : undefined;
    });
    expect(condition(broken, 'Accepted')?.status).toBe('True');
    expect(condition(broken, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(condition(broken, 'Programmed')).toMatchObject({ status: 'False', reason: 'NotInConfig' });

    const acme = await waitFor('acme status', async () => {
      const o = await api.get(NS, 'tenants', 'acme');
      return o.status?.keys === 2 ? o : undefined;
    });
    expect(condition(acme, 'Accepted')?.status).toBe('True');
    expect(publisher.last?.routes.map((r) => r.id)).toEqual([`${NS}/chat`]);
    expect((await api.get(OTHER_NS, 'modelroutes', 'elsewhere')).status).toBeUndefined();

    // Events for the transitions, reason = the condition's reason.
    const events = await waitFor('SecretNotFound event', async () => {
      const list = await api.ok('GET', `/api/v1/namespaces/${NS}/events`);
      const found = list.items.filter((e: any) => e.involvedObject.name === 'broken' && e.reason === 'SecretNotFound');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'ModelRoute', apiVersion: 'jairouter.io/v1alpha1' }, reportingComponent: 'jairouter-operator' });
  });

  it('Programmed turns True once a proxy serves the version; an update tracks the new generation', async () => {
    publisher.proxiesServeLatest('proxy-1');
    await waitFor('chat Programmed=True', async () => (await programmed('chat'))?.status === 'True');

    const before = await api.get(NS, 'modelroutes', 'chat');
    const acceptedSince = condition(before, 'Accepted')?.lastTransitionTime;
    await api.ok('PATCH', api.custom(NS, 'modelroutes', 'chat'), { spec: { models: ['gpt-4o', 'gpt-4o-mini'] } }, 'application/merge-patch+json');
    const updated = await waitFor('observedGeneration 2', async () => {
      const o = await api.get(NS, 'modelroutes', 'chat');
      return o.status?.observedGeneration === 2 ? o : undefined;
    });
    expect(updated.metadata.generation).toBe(2);
    expect(condition(updated, 'Accepted')).toMatchObject({ status: 'True', observedGeneration: 2, lastTransitionTime: acceptedSince });
    expect(condition(updated, 'Programmed')).toMatchObject({ status: 'False', reason: 'Pending', observedGeneration: 2 });
    publisher.proxiesServeLatest('proxy-1');
    await waitFor('Programmed=True for generation 2', async () => {
      const c = await programmed('chat');
      return c?.status === 'True' && c.observedGeneration === 2;
    });
  });

  it('creating the missing Secret resolves the route; a model name conflict is reported on the newer route only', async () => {
    await api.secret(NS, 'anthropic', { apiKey: 'sk-ant' });
    await waitFor('broken ResolvedRefs=True', async () => condition(await api.get(NS, 'modelroutes', 'broken'), 'ResolvedRefs')?.status === 'True');
    await sleep(1100); // creationTimestamp has second precision: make "newer" unambiguous
    await api.create(NS, 'modelroutes', route('copycat', ['gpt-4o'], { url: 'https://example.com/v1' }));
    const copycat = await waitFor('copycat rejected', async () => {
      const o = await api.get(NS, 'modelroutes', 'copycat');
      return condition(o, 'Accepted') ? o : undefined;
    });
    expect(condition(copycat, 'Accepted')).toMatchObject({ status: 'False', reason: 'ModelNameConflict' });
    expect(condition(await api.get(NS, 'modelroutes', 'chat'), 'Accepted')?.status).toBe('True');
  });

  it('serviceRef backends follow the EndpointSlices of the referenced Service', async () => {
    await api.ok('POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'vllm' }, spec: { ports: [{ name: 'http', port: 8000, targetPort: 8000 }] },
    });
    const slice = (addresses: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'vllm-1', labels: { 'kubernetes.io/service-name': 'vllm' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8000, protocol: 'TCP' }],
      endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    });
    await api.ok('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, slice(['10.1.0.1', '10.1.0.2']));
    await api.create(NS, 'modelroutes', route('local', ['llama'], { adapter: 'vllm', serviceRef: { name: 'vllm', port: 8000 } }));
    await waitFor('2 endpoints', async () => (await api.get(NS, 'modelroutes', 'local')).status?.backends?.[0]?.endpoints === 2);
    expect(publisher.last?.routes.find((r) => r.name === 'local')?.backends[0]?.endpoints.map((e) => e.url).sort())
      .toEqual(['http://10.1.0.1:8000/v1', 'http://10.1.0.2:8000/v1']);
    const current = await api.ok('GET', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/vllm-1`);
    await api.ok('PUT', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/vllm-1`,
      { ...slice(['10.1.0.1', '10.1.0.2', '10.1.0.3']), metadata: { ...current.metadata } });
    await waitFor('3 endpoints', async () => (await api.get(NS, 'modelroutes', 'local')).status?.backends?.[0]?.endpoints === 3);
    expect(condition(await api.get(NS, 'modelroutes', 'local'), 'ResolvedRefs')?.status).toBe('True');
  });

  it('Secrets of ServiceAccount-token and Helm-release type are not even cached (field selector)', async () => {
    await api.ok('POST', `/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.x.v1' }, type: 'helm.sh/release.v1', stringData: { release: 'r' },
    });
    await api.create(NS, 'modelroutes', route('helmish', ['helmish'], { url: 'https://example.com/v1', credentialsRef: { name: 'sh.helm.release.v1.x.v1', key: 'release' } }));
    await waitFor('helmish SecretNotFound', async () => condition(await api.get(NS, 'modelroutes', 'helmish'), 'ResolvedRefs')?.reason === 'SecretNotFound');
  });

  it('writes nothing when nothing changed: resourceVersions stay put across a full relist', async () => {
    publisher.proxiesServeLatest('proxy-1'); // the proxy catches up with everything above (a legitimate write)
    await waitFor('broken Programmed=True', async () => condition(await api.get(NS, 'modelroutes', 'broken'), 'Programmed')?.status === 'True');
    await sleep(500);
    await controller.idle();
    const versions = async () => {
      const out: Record<string, string> = {};
      for (const plural of ['modelroutes', 'tenants']) {
        for (const o of (await api.ok('GET', api.custom(NS, plural))).items) out[`${plural}/${o.metadata.name}`] = o.metadata.resourceVersion;
      }
      return out;
    };
    const before = await versions();
    const writes = async () => (await metrics.statusWrites.get()).values.reduce((n, v) => n + v.value, 0);
    const writesBefore = await writes();
    await controller.relist();
    publisher.proxiesServeLatest('proxy-1'); // same version again
    await sleep(1000);
    await controller.idle();
    expect(await versions()).toEqual(before);
    expect(await writes()).toBe(writesBefore);
  });
});
