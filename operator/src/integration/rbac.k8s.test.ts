// The operator's controller and leader election running as a ServiceAccount that has exactly
// the RBAC of docs/operator.md (namespaced: --namespace NS), not as the admin: proves the
// documented rules are enough for watches, status writes, Events and the Lease.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '@jairouter/testkit/control-plane';
import { Controller } from '../kube/controller.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { KubeLeaseClient, LeaderElector } from '../kube/leader-election.ts';
import { sourceFactories } from '../kube/sources.ts';
import { MemoryPublisher } from '../kube/memory-publisher.test-support.ts';
import { KubeStatusWriter } from '../kube/status-writer.ts';
import { OperatorMetrics } from '../metrics.ts';
import { condition, route, skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = `jr-rbac-${Date.now().toString(36)}`;
const SYS = `${NS}-sys`;
/** A namespace the operator does not watch (another team's Secrets). */
const OTHER = `${NS}-other`;
const SA = 'jairouter-operator';

/** docs/operator.md, "RBAC the operator needs": the rules for a watched namespace. */
const WATCH_RULES = [
  { apiGroups: ['jairouter.io'], resources: ['modelroutes', 'tenants', 'ratelimitpolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['jairouter.io'], resources: ['modelroutes/status', 'tenants/status', 'ratelimitpolicies/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['secrets', 'services'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];
const LEASE_RULES = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['jairouter-operator'], verbs: ['get', 'update'] },
];

describe.skipIf(skip !== undefined)(`operator with the documented RBAC only${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cp: ControlPlane;
  let api: Api;
  let controller: Controller | undefined;
  let elector: LeaderElector | undefined;
  let kc: KubeConfig;
  const metrics = new OperatorMetrics();

  async function grant(ns: string, name: string, rules: unknown[]) {
    await api.ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules });
    await api.ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: SYS }],
    });
  }

  beforeAll(async () => {
    const c = await startCluster();
    cp = c.cp;
    api = c.api;
    await api.namespace(NS);
    await api.namespace(SYS);
    await api.ok('POST', `/api/v1/namespaces/${SYS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA } });
    await grant(NS, 'jairouter-operator-watch', WATCH_RULES);
    await grant(SYS, 'jairouter-operator-lease', LEASE_RULES);
    const tr = await api.ok('POST', `/api/v1/namespaces/${SYS}/serviceaccounts/${SA}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    });
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'envtest', server: cp.server, caFile: cp.caCert }],
      users: [{ name: SA, token: tr.status.token }],
      contexts: [{ name: 'sa', cluster: 'envtest', user: SA }],
      currentContext: 'sa',
    });
    controller = new Controller({
      scopes: [sourceFactories(kc, NS)],
      publisher: new MemoryPublisher(),
      isLeader: () => elector?.isLeader ?? false,
      statusWriter: new KubeStatusWriter(kc),
      events: new KubeEventRecorder(kc, 'op-rbac'),
      log: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
      metrics,
      relistMs: 0,
    });
    const ctl = controller;
    elector = new LeaderElector({
      client: new KubeLeaseClient(kc, SYS, 'jairouter-operator'), name: 'jairouter-operator', namespace: SYS, identity: 'op-rbac',
      onStartedLeading: () => ctl.enqueue(),
    });
    elector.start();
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await elector?.stop();
    await cp?.stop();
  }, 60_000);

  it('leads, watches, writes status and records Events without any error', async () => {
    await waitFor('lease held', async () => {
      const l = await api.ok('GET', `/apis/coordination.k8s.io/v1/namespaces/${SYS}/leases/jairouter-operator`);
      return l.spec.holderIdentity === 'op-rbac';
    });
    await api.secret(NS, 'creds', { apiKey: 'sk-1' });
    await api.create(NS, 'modelroutes', route('chat', ['gpt-4o'], { url: 'https://api.openai.com/v1', credentialsRef: { name: 'creds', key: 'apiKey' } }));
    await api.create(NS, 'modelroutes', route('broken', ['other'], { url: 'https://api.openai.com/v1', credentialsRef: { name: 'nope', key: 'apiKey' } }));
    await waitFor('chat status', async () => condition(await api.get(NS, 'modelroutes', 'chat'), 'ResolvedRefs')?.status === 'True');
    await waitFor('broken status', async () => condition(await api.get(NS, 'modelroutes', 'broken'), 'ResolvedRefs')?.reason === 'SecretNotFound');
    await waitFor('an Event by the operator', async () => {
      const list = await api.ok('GET', `/api/v1/namespaces/${NS}/events`);
      return list.items.some((e: any) => e.reason === 'SecretNotFound' && e.reportingInstance === 'op-rbac');
    });
    // A fresh API server may answer a new identity's first lists with 429 (priority and
    // fairness still settling): the informers retry with backoff. Nothing else may fail.
    const errors = (await metrics.errors.get()).values.filter((v) => v.value > 0 && v.labels.stage !== 'informer');
    expect(errors).toEqual([]);
  });

  it('aggregates a repeated Event (create, then patch) with the documented events verbs', async () => {
    const rec = new KubeEventRecorder(kc, 'op-rbac-events');
    const t = { type: 'ResolvedRefs', from: 'True' as const, to: 'False' as const, reason: 'SecretNotFound', message: 'Secret gone not found' };
    for (let i = 0; i < 3; i++) await rec.transition({ kind: 'ModelRoute', namespace: NS, name: 'flapping' }, t);
    const list = await api.ok('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name%3Dflapping`);
    expect(list.items.map((e: any) => e.count)).toEqual([3]);
  });

  it('reads Secrets where it watches and cannot read one in another namespace, nor list them cluster-wide', async () => {
    await api.namespace(OTHER);
    await api.secret(OTHER, 'other-team-keys', { apiKey: 'sk-other-team' });
    await api.secret(NS, 'own-keys', { apiKey: 'sk-own' });
    // Requests with the operator's own token, as its informers and reads make them.
    const core = kc.makeApiClient(CoreV1Api);
    const code = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e as { code?: number }).code);
    expect(await code(core.readNamespacedSecret({ name: 'own-keys', namespace: NS }))).toBe(200);
    expect(await code(core.listNamespacedSecret({ namespace: NS }))).toBe(200);
    expect(await code(core.readNamespacedSecret({ name: 'other-team-keys', namespace: OTHER }))).toBe(403);
    expect(await code(core.listNamespacedSecret({ namespace: OTHER }))).toBe(403);
    expect(await code(core.listSecretForAllNamespaces())).toBe(403);
  });
});
