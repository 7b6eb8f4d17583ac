// The Helm chart (charts/jairouter) as rendered: lint for several value combinations, the exact
// least-privilege RBAC, the proxy's credentials, probes, security context and values. What a real
// kube-apiserver makes of it is in chart-install.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { e2eConfig } from '@jairouter/testkit/config';
import { ensureBinaries } from '@jairouter/testkit/control-plane';
import { setupTimeoutMs, skipK8s } from '@jairouter/testkit/control-plane/testing';
import { CHART, findHelm, helmWithValues, render } from './helm.ts';
import { COMBINATIONS, TOKEN_REVIEW, WATCH_RULES, OWN_NAMESPACE_RULES, ids, one, container, RBAC_KINDS, defaultIds, type Json } from './chart-expectations.test-support.ts';

const NS = 'jairouter-system';
let helm = findHelm();
// Skip only when helm is missing AND the caller asked to skip Kubernetes tooling.
const skip = helm === undefined && skipK8s;

function needHelm(): string {
  if (helm === undefined) throw new Error('helm not found (see the error of beforeAll above)');
  return helm;
}

describe.skipIf(skip)('helm chart charts/jairouter', () => {
  beforeAll(async () => {
    if (helm !== undefined) return;
    const override = process.env['JAIROUTER_HELM'];
    if (override) throw new Error(`JAIROUTER_HELM=${override} is not an executable file`);
    // Not built yet: build it like every control-plane test does (minutes, once per machine).
    try {
      helm = (await ensureBinaries({ cacheDir: e2eConfig().cacheDir })).helm;
    } catch (e) {
      throw new Error(
        `helm not found and building it failed: ${(e as Error).message}\n` +
          'Build it with `bash e2e/testkit/scripts/build-k8s-binaries.sh` (lands in $JAIROUTER_CACHE/k8s/bin), put helm on PATH ' +
          'or set JAIROUTER_HELM; set JAIROUTER_SKIP_K8S=1 to skip these tests instead',
      );
    }
  }, setupTimeoutMs());

  it('hands proxy.redis (a URL, or a Secret key holding one) to the proxy as JAIROUTER_REDIS_URL, and refuses a URL that is not redis://', async () => {
    const env = async (values: object) =>
      ((container(one(await render(needHelm(), values), 'Deployment', 'jairouter-proxy')).env as Json[]) ?? []).find((e) => e.name === 'JAIROUTER_REDIS_URL');
    expect(await env({})).toBeUndefined();
    expect(await env({ proxy: { redis: { url: 'redis://redis.redis:6379' } } })).toEqual({ name: 'JAIROUTER_REDIS_URL', value: 'redis://redis.redis:6379' });
    expect(await env({ proxy: { redis: { url: 'redis://ignored:6379', existingSecret: { name: 'redis-url', key: 'url' } } } }))
      .toEqual({ name: 'JAIROUTER_REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis-url', key: 'url' } } });
    await expect(render(needHelm(), { proxy: { redis: { url: 'http://redis:6379' } } })).rejects.toThrow(/redis\/url/);
  });

  it('passes helm lint, also --strict, for every value combination', async () => {
    const h = needHelm();
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      for (const strict of [false, true]) {
        const r = await helmWithValues(h, ['lint', CHART, ...(strict ? ['--strict'] : [])], values, true);
        expect(r.code, `helm lint ${strict ? '--strict ' : ''}(${name}):\n${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        expect(r.stdout, `lint warnings (${name})`).not.toMatch(/\[(WARNING|ERROR)\]/);
      }
    }
  });

  it('renders the default objects, with the CRDs only under --include-crds', async () => {
    const objs = await render(needHelm());
    expect(ids(objs)).toEqual(defaultIds(NS));
    const withCrds = (await helmWithValues(needHelm(), ['template', 'jairouter', CHART, '-n', NS, '--include-crds'], {})).stdout;
    for (const crd of ['modelroutes.jairouter.io', 'tenants.jairouter.io', 'ratelimitpolicies.jairouter.io']) {
      expect(withCrds).toContain(`name: ${crd}`);
    }
    for (const o of objs) {
      expect(o.metadata.labels?.['app.kubernetes.io/name'], `${o.kind}/${o.metadata.name}`).toBe('jairouter');
      expect(o.metadata.labels?.['app.kubernetes.io/instance']).toBe('jairouter');
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      if (!o.kind.startsWith('Cluster')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NS);
    }
  });

  it('gives the operator exactly the least-privilege RBAC (watching every namespace)', async () => {
    const objs = await render(needHelm());
    const rbac = objs.filter((o) => RBAC_KINDS.includes(o.kind));
    expect(ids(rbac)).toEqual([
      `ClusterRole/jairouter-operator-${NS}`,
      `ClusterRoleBinding/jairouter-operator-${NS}`,
      `Role/${NS}/jairouter-operator`,
      `RoleBinding/${NS}/jairouter-operator`,
    ].sort());
    expect(one(objs, 'ClusterRole', `jairouter-operator-${NS}`).rules).toEqual([TOKEN_REVIEW, ...WATCH_RULES]);
    expect(one(objs, 'Role', 'jairouter-operator', NS).rules).toEqual(OWN_NAMESPACE_RULES);
    for (const b of rbac.filter((o) => o.kind.endsWith('Binding')) as Json[]) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'jairouter-operator', namespace: NS }]);
      expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: b.kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name: b.metadata.name });
    }
  });

  it('gives the operator namespaced read RBAC when it watches listed namespaces', async () => {
    const objs = await render(needHelm(), COMBINATIONS.singleNamespace!);
    const rbac = objs.filter((o) => RBAC_KINDS.includes(o.kind));
    expect(ids(rbac)).toEqual([
      `ClusterRole/jairouter-operator-${NS}`,
      `ClusterRoleBinding/jairouter-operator-${NS}`,
      `Role/${NS}/jairouter-operator`,
      `Role/ai/jairouter-operator-${NS}`,
      `RoleBinding/${NS}/jairouter-operator`,
      `RoleBinding/ai/jairouter-operator-${NS}`,
    ].sort());
    expect(one(objs, 'ClusterRole', `jairouter-operator-${NS}`).rules).toEqual([TOKEN_REVIEW]);
    expect(one(objs, 'Role', `jairouter-operator-${NS}`, 'ai').rules).toEqual(WATCH_RULES);
    expect(one(objs, 'Role', 'jairouter-operator', NS).rules).toEqual(OWN_NAMESPACE_RULES);
    expect(one(objs, 'RoleBinding', `jairouter-operator-${NS}`, 'ai').subjects).toEqual([{ kind: 'ServiceAccount', name: 'jairouter-operator', namespace: NS }]);
    const args = container(one(objs, 'Deployment', 'jairouter-operator')).args as string[];
    expect(args.filter((a) => a.startsWith('--namespace'))).toEqual(['--namespace=ai']);

    const two = await render(needHelm(), COMBINATIONS.everything!);
    expect(ids(two.filter((o) => o.kind === 'Role'))).toEqual([`Role/${NS}/jairouter-operator`, `Role/ai/jairouter-operator-${NS}`, `Role/ml/jairouter-operator-${NS}`].sort());
    expect((container(one(two, 'Deployment', 'jairouter-operator')).args as string[]).filter((a) => a.startsWith('--namespace'))).toEqual(['--namespace=ai', '--namespace=ml']);
  });

  it('grants Secrets cluster-wide only when watching every namespace; with watchNamespaces [ai, ml] no ClusterRole grants secrets', async () => {
    const secretRules = (o: Json) => (o.rules as Json[]).filter((r) => (r.resources as string[]).some((x) => x === 'secrets' || x === '*'));
    // reading any Secret of the namespace, not just named ones
    const readsAnySecret = (o: Json) => secretRules(o).some((r) => !r.resourceNames && (r.verbs as string[]).some((v) => ['get', 'list', 'watch', '*'].includes(v)));
    // the documented trade-off of the default: reading Secrets in any namespace
    const all = await render(needHelm());
    expect(readsAnySecret(one(all, 'ClusterRole', `jairouter-operator-${NS}`))).toBe(true);

    const scoped = await render(needHelm(), COMBINATIONS.everything!);
    const clusterRoles = scoped.filter((o) => o.kind === 'ClusterRole') as Json[];
    expect(clusterRoles.length).toBeGreaterThan(0);
    for (const cr of clusterRoles) expect(secretRules(cr), `ClusterRole ${cr.metadata.name}`).toEqual([]);
    // reads of Secrets come from a Role in each watched namespace ...
    const readers = (scoped.filter((o) => o.kind === 'Role') as Json[]).filter(readsAnySecret);
    expect(readers.map((r) => r.metadata.namespace).sort()).toEqual(['ai', 'ml']);
    // ... and in the release namespace only the operator's own two Secrets, by name
    const own = (one(scoped, 'Role', 'jairouter-operator', NS).rules as Json[]).filter((r) => (r.resources as string[]).includes('secrets'));
    expect(own).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['jairouter-operator-tls', 'jairouter-snapshot'], verbs: ['get', 'update'] },
    ]);
  });

  it('protects the proxy with a PodDisruptionBudget by default when it runs 2+ pods, not with 1', async () => {
    const pdb = async (values: object): Promise<Json | undefined> =>
      (await render(needHelm(), values)).find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'jairouter-proxy') as Json | undefined;
    const selector = one(await render(needHelm()), 'Deployment', 'jairouter-proxy').spec.selector;
    expect((await pdb({}))?.spec).toEqual({ maxUnavailable: 1, selector });
    expect((await pdb({ proxy: { replicas: 3 } }))?.spec.maxUnavailable).toBe(1);
    expect(await pdb({ proxy: { replicas: 1 } })).toBeUndefined();
    expect(await pdb({ proxy: { replicas: 3, podDisruptionBudget: { enabled: false } } })).toBeUndefined();
    // with autoscaling, the HPA's lower bound counts (replicas is ignored)
    expect(await pdb({ proxy: { replicas: 5, autoscaling: { enabled: true, minReplicas: 1 } } })).toBeUndefined();
    expect((await pdb({ proxy: { replicas: 1, autoscaling: { enabled: true, minReplicas: 2 } } }))?.spec.maxUnavailable).toBe(1);
    expect((await pdb({ proxy: { podDisruptionBudget: { minAvailable: '50%' } } }))?.spec).toEqual({ minAvailable: '50%', selector });
  });

  it('spreads proxy and operator pods over nodes and zones by default (ScheduleAnyway), and takes overrides', async () => {
    const objs = await render(needHelm());
    for (const component of ['proxy', 'operator']) {
      const d = one(objs, 'Deployment', `jairouter-${component}`);
      const match = d.spec.selector.matchLabels;
      expect(d.spec.template.spec.topologySpreadConstraints, component).toEqual(
        ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
          topologyKey, maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: match }, matchLabelKeys: ['pod-template-hash'],
        })),
      );
      // the constraint counts this component's pods only, and they carry those labels
      expect(match['app.kubernetes.io/component']).toBe(component);
      expect(d.spec.template.metadata.labels).toMatchObject(match);
    }
    // tuned: a hard rule over zones only
    const hard = await render(needHelm(), { proxy: { topologySpread: { topologyKeys: ['topology.kubernetes.io/zone'], whenUnsatisfiable: 'DoNotSchedule', maxSkew: 2 } } });
    expect(one(hard, 'Deployment', 'jairouter-proxy').spec.template.spec.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 2, whenUnsatisfiable: 'DoNotSchedule' }),
    ]);
    // switched off
    const off = await render(needHelm(), { proxy: { topologySpread: { enabled: false } } });
    expect(one(off, 'Deployment', 'jairouter-proxy').spec.template.spec.topologySpreadConstraints).toBeUndefined();
    expect(one(off, 'Deployment', 'jairouter-operator').spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    // constraints written out in full replace the defaults
    const every = await render(needHelm(), COMBINATIONS.everything!);
    expect(one(every, 'Deployment', 'jairouter-operator').spec.template.spec.topologySpreadConstraints).toEqual(
      (COMBINATIONS.everything as Json).operator.topologySpreadConstraints,
    );
  });

  it('renders no NetworkPolicy by default', async () => {
    expect((await render(needHelm())).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('with networkPolicy.enabled, lets clients reach only the proxy API, monitoring only /metrics, and the operator only the API server and DNS', async () => {
    const objs = await render(needHelm(), COMBINATIONS.networkPolicy!);
    expect(ids(objs.filter((o) => o.kind === 'NetworkPolicy'))).toEqual([`NetworkPolicy/${NS}/jairouter-operator`, `NetworkPolicy/${NS}/jairouter-proxy`]);
    const proxyPods = one(objs, 'Deployment', 'jairouter-proxy').spec.selector.matchLabels;
    const operatorPods = one(objs, 'Deployment', 'jairouter-operator').spec.selector.matchLabels;
    const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const dns = { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] };

    const proxy = one(objs, 'NetworkPolicy', 'jairouter-proxy');
    expect(proxy.spec.podSelector).toEqual({ matchLabels: proxyPods });
    expect(proxy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(proxy.spec.ingress).toEqual([
      { from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 8080 }] }, // the API, from any namespace by default
      { from: monitoring, ports: [{ protocol: 'TCP', port: 9090 }] }, // /metrics, from monitoring only
    ]);
    expect(proxy.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: operatorPods } }], ports: [{ protocol: 'TCP', port: 8443 }] },
      dns,
      { ports: [{ protocol: 'TCP' }] }, // the backends: any TCP destination by default
    ]);

    const operator = one(objs, 'NetworkPolicy', 'jairouter-operator');
    expect(operator.spec.podSelector).toEqual({ matchLabels: operatorPods });
    expect(operator.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(operator.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: proxyPods } }], ports: [{ protocol: 'TCP', port: 8443 }] },
      { from: monitoring, ports: [{ protocol: 'TCP', port: 9090 }] },
    ]);
    expect(operator.spec.egress).toEqual([{ ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] }, dns]);

    // every knob: client namespaces, an extra ingress rule, narrowed backends, the API server's address
    const every = await render(needHelm(), COMBINATIONS.everything!);
    const np = (COMBINATIONS.everything as Json).networkPolicy;
    const p2 = one(every, 'NetworkPolicy', 'jairouter-proxy');
    expect(p2.spec.ingress).toEqual([
      { from: np.proxy.apiNamespaceSelectors.map((s: Json) => ({ namespaceSelector: s })), ports: [{ protocol: 'TCP', port: 8080 }] },
      { from: [{ namespaceSelector: np.metricsNamespaceSelectors[0] }], ports: [{ protocol: 'TCP', port: 9090 }] },
      ...np.proxy.extraIngress,
    ]);
    expect(p2.spec.egress.slice(2)).toEqual(np.proxy.backendEgress);
    expect(one(every, 'NetworkPolicy', 'jairouter-operator').spec.egress[0]).toEqual({ ports: [{ protocol: 'TCP', port: 6443 }], to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] });

    // no allowed namespace at all: the policy denies every ingress rather than allowing it
    const closed = await render(needHelm(), { networkPolicy: { enabled: true, metricsNamespaceSelectors: [], proxy: { apiNamespaceSelectors: [] } } });
    const p3 = one(closed, 'NetworkPolicy', 'jairouter-proxy');
    expect(p3.spec.policyTypes).toContain('Ingress');
    expect(p3.spec.ingress).toEqual([]);
  });

  it('runs the operator with its flags, two replicas, leader election and probes on the admin port', async () => {
    const objs = await render(needHelm());
    const d = one(objs, 'Deployment', 'jairouter-operator', NS);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.serviceAccountName).toBe('jairouter-operator');
    const c = container(d);
    expect(c.image).toBe('ghcr.io/jairouter/jairouter:0.1.0');
    expect(c.command).toEqual(['jairouter-operator']);
    expect(c.args).toEqual([
      '--listen=:8443',
      '--admin-listen=:9090',
      '--leader-elect=true',
      '--pod-namespace=$(POD_NAMESPACE)',
      '--pod-name=$(POD_NAME)',
      '--snapshot-secret=jairouter-snapshot',
      `--proxy-service-account=${NS}/jairouter-proxy`,
      '--service-name=jairouter-operator',
    ]);
    expect(c.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(c.ports).toEqual([
      { name: 'snapshots', containerPort: 8443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const svc = one(objs, 'Service', 'jairouter-operator', NS);
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 8443, targetPort: 'snapshots', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    expect(one(objs, 'PodDisruptionBudget', 'jairouter-operator', NS).spec.maxUnavailable).toBe(1);
  });

  it('gives the proxy no RBAC and no automounted token, only a projected token for the operator', async () => {
    for (const values of Object.values(COMBINATIONS)) {
      const objs = await render(needHelm(), values);
      const rbac = objs.filter((o) => RBAC_KINDS.includes(o.kind)) as Json[];
      for (const o of rbac) {
        expect(JSON.stringify(o.subjects ?? []), `${o.kind}/${o.metadata.name}`).not.toContain('jairouter-proxy');
      }
      expect(one(objs, 'ServiceAccount', 'jairouter-proxy', NS).automountServiceAccountToken).toBe(false);
      const d = one(objs, 'Deployment', 'jairouter-proxy', NS);
      const pod = d.spec.template.spec;
      expect(pod.serviceAccountName).toBe('jairouter-proxy');
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.volumes).toEqual(
        expect.arrayContaining([
          { name: 'operator-ca', configMap: { name: 'jairouter-ca' } },
          { name: 'snapshot', secret: { secretName: 'jairouter-snapshot', optional: true } },
          { name: 'operator-token', projected: { sources: [{ serviceAccountToken: { audience: 'jairouter-operator', expirationSeconds: 3600, path: 'token' } }] } },
        ]),
      );
      expect(container(d).volumeMounts).toEqual(
        expect.arrayContaining([
          { name: 'operator-ca', mountPath: '/etc/jairouter/ca', readOnly: true },
          { name: 'snapshot', mountPath: '/etc/jairouter/snapshot', readOnly: true },
          { name: 'operator-token', mountPath: '/var/run/secrets/jairouter', readOnly: true },
        ]),
      );
    }
  });

  it('runs the proxy against the operator Service, with probes, Service ports and graceful shutdown', async () => {
    const objs = await render(needHelm());
    const d = one(objs, 'Deployment', 'jairouter-proxy', NS);
    expect(d.spec.replicas).toBe(2);
    const c = container(d);
    expect(c.command).toEqual(['jairouter-proxy']);
    expect(c.args).toEqual([
      `--operator=https://jairouter-operator.${NS}.svc:8443`,
      '--operator-ca=/etc/jairouter/ca/ca.crt',
      '--token-file=/var/run/secrets/jairouter/token',
      '--snapshot-file=/etc/jairouter/snapshot/snapshot.json',
      '--listen=:8080',
      '--admin-listen=:9090',
      '--proxy-name=$(POD_NAME)',
      '--drain-timeout=30s',
    ]);
    expect(c.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(45);
    expect(c.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    const svc = one(objs, 'Service', 'jairouter-proxy', NS);
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    // the two Deployments' selectors must not overlap
    expect(d.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('proxy');
  });

  it('runs every pod non-root with a read-only root file system, no capabilities and RuntimeDefault seccomp', async () => {
    for (const values of Object.values(COMBINATIONS)) {
      const objs = await render(needHelm(), values);
      for (const d of objs.filter((o) => o.kind === 'Deployment') as Json[]) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.hostNetwork ?? false).toBe(false);
        for (const c of pod.containers as Json[]) {
          expect(c.securityContext, `${d.metadata.name}/${c.name}`).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        }
      }
    }
  });

  it('autoscales the proxy with an HPA (and then leaves replicas to it), with a configurable PDB', async () => {
    const objs = await render(needHelm(), COMBINATIONS.autoscaling!);
    expect(ids(objs)).toEqual([...defaultIds(NS), `HorizontalPodAutoscaler/${NS}/jairouter-proxy`].sort());
    expect(one(objs, 'Deployment', 'jairouter-proxy').spec.replicas).toBeUndefined();
    const hpa = one(objs, 'HorizontalPodAutoscaler', 'jairouter-proxy');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'jairouter-proxy' },
      minReplicas: 3,
      maxReplicas: 12,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      ],
    });
    const pdb = one(objs, 'PodDisruptionBudget', 'jairouter-proxy');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: one(objs, 'Deployment', 'jairouter-proxy').spec.selector.matchLabels } });
    const every = await render(needHelm(), COMBINATIONS.everything!);
    expect(one(every, 'PodDisruptionBudget', 'jairouter-proxy').spec.maxUnavailable).toBe('25%');
  });

  it('adds a ServiceMonitor only when asked, selecting the two metrics Services and neither Service that is called', async () => {
    const objs = await render(needHelm(), COMBINATIONS.serviceMonitor!);
    expect(ids(objs)).toEqual([...defaultIds(NS), `ServiceMonitor/${NS}/jairouter`].sort());
    const sm = one(objs, 'ServiceMonitor', 'jairouter');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels.release).toBe('prometheus');
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: [NS] });
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    const selected = (objs.filter((o) => o.kind === 'Service') as Json[])
      .filter((svc) => Object.entries(sm.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => svc.metadata.labels?.[k] === v));
    expect(selected.map((svc) => svc.metadata.name).sort()).toEqual(['jairouter-operator-metrics', 'jairouter-proxy-metrics']);
    for (const svc of selected) expect((svc.spec.ports as Json[]).map((p) => p.name)).toEqual(['metrics']);
    // the component label (a target label) still tells operator and proxy series apart
    expect(selected.map((svc) => svc.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['operator', 'proxy']);
  });

  it('adds the alert rules as a PrometheusRule and the dashboard as a sidecar ConfigMap only when asked, from the files in monitoring/', async () => {
    const objs = await render(needHelm(), COMBINATIONS.monitoring!);
    expect(ids(objs)).toEqual([...defaultIds(NS), `ConfigMap/monitoring/jairouter-dashboard`, `PrometheusRule/${NS}/jairouter`].sort());
    const rule = one(objs, 'PrometheusRule', 'jairouter');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata.labels.release).toBe('prometheus');
    // The very groups of the plain rules file, alert templates left for Prometheus to expand.
    const file = parse(readFileSync(join(CHART, 'monitoring', 'alerts.yaml'), 'utf8')) as Json;
    expect(rule.spec).toEqual(file);
    expect(JSON.stringify(rule.spec)).toContain('{{ $labels.route }}');
    const cm = one(objs, 'ConfigMap', 'jairouter-dashboard');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'JAiRouter' });
    expect(JSON.parse(cm.data['jairouter.json'] as string)).toEqual(JSON.parse(readFileSync(join(CHART, 'monitoring', 'dashboard.json'), 'utf8')));
  });

  it('serves /metrics on no port of the Services that clients and proxies call, only on headless metrics Services', async () => {
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      const objs = await render(needHelm(), values);
      const proxyPort = (container(one(objs, 'Deployment', 'jairouter-proxy')).ports as Json[]);
      const operatorPort = (container(one(objs, 'Deployment', 'jairouter-operator')).ports as Json[]);
      // the admin listener (--admin-listen=:9090) serves /metrics, /healthz and /readyz
      expect(proxyPort.find((p) => p.containerPort === 9090)?.name).toBe('metrics');
      expect(operatorPort.find((p) => p.containerPort === 9090)?.name).toBe('metrics');
      for (const called of ['jairouter-proxy', 'jairouter-operator']) {
        const ports = one(objs, 'Service', called).spec.ports as Json[];
        for (const p of ports) {
          expect([p.name, p.targetPort], `${name}: Service ${called} port ${p.name}`).not.toContain('metrics');
          expect(p.targetPort, `${name}: Service ${called}`).not.toBe(9090);
          expect(p.port, `${name}: Service ${called}`).not.toBe(9090);
        }
      }
      expect(one(objs, 'Service', 'jairouter-proxy').spec.ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
      expect(one(objs, 'Service', 'jairouter-operator').spec.ports).toEqual([expect.objectContaining({ name: 'https', targetPort: 'snapshots' })]);
      for (const [svcName, component] of [['jairouter-proxy-metrics', 'proxy'], ['jairouter-operator-metrics', 'operator']] as const) {
        const svc = one(objs, 'Service', svcName);
        expect(svc.spec.clusterIP, svcName).toBe('None');
        expect(svc.spec.type).toBe('ClusterIP');
        expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }]);
        expect(svc.spec.selector).toEqual(one(objs, 'Deployment', `jairouter-${component}`).spec.selector.matchLabels);
      }
    }
    // the client Service's type and annotations (e.g. an internet-facing load balancer) never reach the metrics Service
    const every = await render(needHelm(), COMBINATIONS.everything!);
    expect(one(every, 'Service', 'jairouter-proxy').spec.type).toBe('LoadBalancer');
    expect(one(every, 'Service', 'jairouter-proxy-metrics').metadata.annotations).toBeUndefined();
  });

  it('applies image, labels, scheduling and Service values', async () => {
    const objs = await render(needHelm(), COMBINATIONS.everything!);
    for (const o of objs) expect(o.metadata.labels?.team, `${o.kind}/${o.metadata.name}`).toBe('platform');
    const op = one(objs, 'Deployment', 'jairouter-operator');
    expect(op.spec.replicas).toBe(3);
    expect(container(op).image).toBe('registry.example.com/jairouter:0.1.0-rc.1');
    expect(container(op).imagePullPolicy).toBe('Always');
    expect((container(op).args as string[]).at(-1)).toBe('--log-level=debug');
    expect(container(op).env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' });
    expect(op.spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(op.spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    expect(op.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
    const px = one(objs, 'Deployment', 'jairouter-proxy');
    expect(container(px).args).toContain('--drain-timeout=10s');
    expect((container(px).args as string[]).at(-1)).toBe('--max-body-size=64MiB');
    expect(container(px).lifecycle).toBeUndefined();
    expect(px.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(px.spec.template.spec.tolerations).toEqual([{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(px.spec.template.metadata.annotations).toEqual({ 'example.com/scrape': 'true' });
    const svc = one(objs, 'Service', 'jairouter-proxy');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports[0]).toEqual({ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' });
    expect(svc.metadata.annotations).toEqual({ 'example.com/lb': 'internal' });
    const sm = one(objs, 'ServiceMonitor', 'jairouter');
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }]);
  });

  it('rejects bad values with a clear message', async () => {
    const bad: Array<[string, object, RegExp]> = [
      ['an unknown key', { operator: { replica: 3 } }, /replica/],
      ['a wrong type', { proxy: { replicas: 'two' } }, /replicas/],
      ['an unknown Service type', { proxy: { service: { type: 'Ingress' } } }, /type/],
      ['a bad duration', { proxy: { drainTimeout: '30' } }, /drainTimeout/],
      ['a bad namespace name', { operator: { watchNamespaces: ['Not_A_Namespace'] } }, /watchNamespaces/],
      ['a non-flag extra argument', { proxy: { extraArgs: ['debug'] } }, /extraArgs/],
      ['two operators without leader election', { operator: { leaderElection: { enabled: false } } }, /leaderElection/],
      ['both PDB bounds', { proxy: { podDisruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } } }, /not both/],
      ['an HPA with min above max', { proxy: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } } }, /minReplicas/],
      ['a bad whenUnsatisfiable', { proxy: { topologySpread: { whenUnsatisfiable: 'Never' } } }, /whenUnsatisfiable/],
      ['an unknown networkPolicy key', { networkPolicy: { enabled: true, ingress: [] } }, /ingress/],
      ['a namespace name where a selector belongs', { networkPolicy: { proxy: { apiNamespaceSelectors: ['apps'] } } }, /apiNamespaceSelectors/],
      ['no API server port for the operator', { networkPolicy: { operator: { apiServerPorts: [] } } }, /apiServerPorts/],
    ];
    for (const [what, values, message] of bad) {
      const r = await helmWithValues(needHelm(), ['template', 'jairouter', CHART, '-n', NS], values, true);
      expect(r.code, `${what} was accepted`).not.toBe(0);
      expect(r.stderr, what).toMatch(message);
    }
    // a single operator replica may run without leader election
    const single = await render(needHelm(), { operator: { replicas: 1, leaderElection: { enabled: false } } });
    expect(container(one(single, 'Deployment', 'jairouter-operator')).args).toContain('--leader-elect=false');
    expect(single.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'jairouter-operator')).toBe(false);
  });
});

// ---- against a real kube-apiserver --------------------------------------------------------------
