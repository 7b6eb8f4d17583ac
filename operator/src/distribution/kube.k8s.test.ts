// Distribution against a real kube-apiserver (e2e/ control plane): TokenReview of real
// ServiceAccount tokens, the TLS Secret and CA ConfigMap, renewal through the Secret, the
// snapshot Secret, a proxy process authenticating with a TokenRequest token, and the
// replicas' served versions in the jairouter-served ConfigMap.
// Skipped when JAIROUTER_SKIP_K8S=1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { withVersion, type ProxyConfig } from '@jairouter/crds';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { servingNames } from './certs.ts';
import { createPublisher, type DistributionPublisher } from './index.ts';
import { KubeCertStore, KubeServedStore, KubeTokenReviewer, SERVED_CONFIGMAP } from './kube.ts';
import { ServedSync } from './served-sync.ts';
import { call, children, client, readyz, startProxy, stopProxy, until } from './testing.ts';
import { TlsManager } from './tls-manager.ts';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;

function config(n: number): ProxyConfig {
  return withVersion({
    schemaVersion: 4, limits: [],
    routes: [],
    tenants: [{ id: `t/t${n}`, namespace: 't', name: `t${n}`, generation: n, apiKeys: [], jwtIssuers: [], access: { models: ['*'], roles: [] }, suspended: false }],
  });
}

describe.skipIf(skipK8s)('distribution on a real kube-apiserver', () => {
  const cp = useControlPlane();
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: string;
  let proxyToken: string;
  const dir = mkdtempSync(join(tmpdir(), 'jairouter-dist-k8s-'));
  const publishers: DistributionPublisher[] = [];

  async function token(sa: string, audience: string): Promise<string> {
    const r = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: ns,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [audience], expirationSeconds: 600 } },
    });
    if (!r.status?.token) throw new Error(`TokenRequest for ${sa} returned no token`);
    return r.status.token;
  }

  async function publisher(namespace = ns): Promise<DistributionPublisher> {
    const p = await createPublisher({ kubeConfig: kc, listen: '127.0.0.1:0', podNamespace: namespace, proxyServiceAccount: `${ns}/jairouter-proxy`, log });
    publishers.push(p);
    return p;
  }

  beforeAll(async () => {
    kc = new KubeConfig();
    kc.loadFromFile(cp().kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(cp(), 'dist');
    for (const name of ['jairouter-proxy', 'someone-else']) {
      await core.createNamespacedServiceAccount({ namespace: ns, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
    }
    proxyToken = await token('jairouter-proxy', 'jairouter-operator');
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const p of publishers) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('served versions, with only the chart\'s ConfigMap rules: two replicas racing to create jairouter-served both land, each in its own key; removal drops only its own', async () => {
    const sys = await freshNamespace(cp(), 'dist-served');
    // As a ServiceAccount holding only what the chart grants on ConfigMaps (besides jairouter-ca).
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: sys, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'jairouter-operator' } } });
    await rbac.createNamespacedRole({ namespace: sys, body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'served' }, rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [SERVED_CONFIGMAP], verbs: ['get', 'patch'] },
    ] } });
    await rbac.createNamespacedRoleBinding({ namespace: sys, body: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'served' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'served' },
      subjects: [{ kind: 'ServiceAccount', name: 'jairouter-operator', namespace: sys }],
    } });
    const tr = await core.createNamespacedServiceAccountToken({ name: 'jairouter-operator', namespace: sys, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } });
    const asOperator = new KubeConfig();
    asOperator.loadFromOptions({
      clusters: [{ name: 'cp', server: kc.getCurrentCluster()!.server, caData: kc.getCurrentCluster()!.caData, caFile: kc.getCurrentCluster()!.caFile }],
      users: [{ name: 'op', token: tr.status!.token! }],
      contexts: [{ name: 'op', cluster: 'cp', user: 'op' }],
      currentContext: 'op',
    });
    const a = new KubeServedStore(asOperator, sys);
    const b = new KubeServedStore(asOperator, sys);
    await b.remove('operator-b'); // no ConfigMap yet: nothing to remove, no error
    await Promise.all([
      a.put('operator-a', { updatedAt: 1, proxies: { 'proxy-1': 'v1' } }),
      b.put('operator-b', { updatedAt: 2, proxies: { 'proxy-2': 'v2' } }),
    ]);
    const cm = await core.readNamespacedConfigMap({ name: SERVED_CONFIGMAP, namespace: sys });
    expect(Object.keys(cm.data ?? {}).sort()).toEqual(['operator-a', 'operator-b']);
    expect(JSON.parse(cm.data!['operator-b']!)).toEqual({ updatedAt: 2, proxies: { 'proxy-2': 'v2' } });

    // The leader's view through the real store: the follower's proxy counts, its own proxy comes from the local map.
    const local = { map: new Map([['proxy-1', 'v1-local']]), servedVersions() { return this.map; }, onServedChange() {} };
    const leader = new ServedSync({ local, store: a, replica: 'operator-a', log, now: () => 2 });
    leader.setLeader(true);
    await leader.refresh();
    expect(Object.fromEntries(leader.servedVersions())).toEqual({ 'proxy-1': 'v1-local', 'proxy-2': 'v2' });
    await leader.close(); // removes operator-a's key

    expect(Object.keys((await core.readNamespacedConfigMap({ name: SERVED_CONFIGMAP, namespace: sys })).data ?? {})).toEqual(['operator-b']);
    expect([...(await a.read()).keys()]).toEqual(['operator-b']);
  });

  it('TokenReview: the proxies\' token for the operator\'s audience passes; other audiences and garbage do not', async () => {
    const reviewer = new KubeTokenReviewer(kc, ['jairouter-operator']);
    expect(await reviewer.review(proxyToken)).toEqual({ authenticated: true, username: `system:serviceaccount:${ns}:jairouter-proxy` });
    expect((await reviewer.review(await token('jairouter-proxy', 'somewhere-else'))).authenticated).toBe(false);
    expect((await reviewer.review('not-a-token')).authenticated).toBe(false);
  });

  it('first start creates the TLS Secret and the CA ConfigMap; replicas racing share one CA', async () => {
    const sys = await freshNamespace(cp(), 'dist-sys');
    const [a, b] = await Promise.all([publisher(sys), publisher(sys)]);
    expect(a.caCert()).toBe(b.caCert());
    const secret = await core.readNamespacedSecret({ name: 'jairouter-operator-tls', namespace: sys });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const cm = await core.readNamespacedConfigMap({ name: 'jairouter-ca', namespace: sys });
    expect(cm.data?.['ca.crt']).toBe(a.caCert());
    // A later replica reads what is there.
    const c = await publisher(sys);
    expect(c.caCert()).toBe(a.caCert());
  });

  it('renews the serving certificate through the Secret before it expires, keeping the CA', async () => {
    const sys = await freshNamespace(cp(), 'dist-rot');
    const store = new KubeCertStore(kc, sys);
    const names = servingNames('jairouter-operator', sys);
    const first = await new TlsManager({ store, names, log }).ensure();
    const later = await new TlsManager({ store, names, log, now: () => Date.now() + 340 * DAY }).ensure();
    expect(later.cert).not.toBe(first.cert);
    expect(later.caCert).toBe(first.caCert);
    const stored = await store.read();
    expect(stored?.bundle.cert).toBe(later.cert);
  });

  it('authenticates subscribers with TokenReview: the proxy account 200, another account 403, a foreign audience 401', async () => {
    const pub = await publisher();
    await pub.publish(config(1), { leader: false });
    const agent = client(pub.caCert());
    const base = `https://localhost:${pub.address().port}`;
    const other = await token('someone-else', 'jairouter-operator');
    const wrongAudience = await token('jairouter-proxy', 'kubernetes');
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: other, proxy: 'p1', body: { proxy: 'p1', version: 'v' } })).status).toBe(403);
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: wrongAudience, proxy: 'p1', body: { proxy: 'p1', version: 'v' } })).status).toBe(401);
    // Authenticated; with no stream of p1 on this replica the report is answered 409 no_stream.
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: proxyToken, proxy: 'p1', body: { proxy: 'p1', version: 'v' } })).status).toBe(409);
    await agent.close();
  });

  it('the leader writes the snapshot Secret, and rewrites it for a new version only', async () => {
    const pub = await publisher();
    await pub.publish(config(1), { leader: false });
    await expect(core.readNamespacedSecret({ name: 'jairouter-snapshot', namespace: ns })).rejects.toMatchObject({ code: 404 });
    await pub.publish(config(1), { leader: true });
    const s1 = await core.readNamespacedSecret({ name: 'jairouter-snapshot', namespace: ns });
    expect(JSON.parse(Buffer.from(s1.data!['snapshot.json']!, 'base64').toString())).toEqual(config(1));
    await pub.publish(config(2), { leader: true });
    const s2 = await core.readNamespacedSecret({ name: 'jairouter-snapshot', namespace: ns });
    expect(JSON.parse(Buffer.from(s2.data!['snapshot.json']!, 'base64').toString())).toEqual(config(2));
    // Another replica becoming leader with the same version leaves the Secret alone.
    const other = await publisher();
    await other.publish(config(2), { leader: true });
    const s3 = await core.readNamespacedSecret({ name: 'jairouter-snapshot', namespace: ns });
    expect(s3.metadata?.resourceVersion).toBe(s2.metadata?.resourceVersion);
  });

  it('a proxy process with a TokenRequest token gets the snapshot pushed and reports it', async () => {
    const pub = await publisher();
    const v = config(7);
    await pub.publish(v, { leader: false });
    writeFileSync(join(dir, 'ca.crt'), pub.caCert());
    writeFileSync(join(dir, 'token'), proxyToken);
    const proxy = await startProxy([
      '--operator', `https://localhost:${pub.address().port}`, '--operator-ca', join(dir, 'ca.crt'), '--token-file', join(dir, 'token'), '--proxy-name', 'proxy-k8s',
    ]);
    try {
      expect(await readyz(proxy)).toEqual({ status: 200, body: { ready: true, configVersion: v.version } });
      await until(() => pub.servedVersions().get('proxy-k8s') === v.version);
      expect(JSON.stringify(proxy.lines)).not.toContain(proxyToken);
    } finally {
      await stopProxy(proxy);
    }
  });
});
