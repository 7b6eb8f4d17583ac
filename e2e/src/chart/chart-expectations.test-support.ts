// What the chart tests expect of the rendered chart, shared by the rendering tests
// (chart.test.ts) and the ones against the local control plane (chart-install.test.ts).
import { expect } from 'vitest';
import type { K8sObject } from './helm.ts';

/** Value combinations rendered, linted and dry-run applied. */
export const COMBINATIONS: Record<string, object> = {
  default: {},
  autoscaling: {
    proxy: {
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 12, targetMemoryUtilizationPercentage: 80 },
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
    },
  },
  serviceMonitor: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  monitoring: {
    prometheusRule: { enabled: true, labels: { release: 'prometheus' } },
    grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'JAiRouter' }, namespace: 'monitoring' },
  },
  singleNamespace: { operator: { watchNamespaces: ['ai'] } },
  networkPolicy: { networkPolicy: { enabled: true } },
  everything: {
    image: { repository: 'registry.example.com/jairouter', tag: '0.1.0-rc.1', pullPolicy: 'Always' },
    imagePullSecrets: [{ name: 'regcred' }],
    commonLabels: { team: 'platform' },
    operator: {
      replicas: 3,
      watchNamespaces: ['ai', 'ml'],
      extraArgs: ['--log-level=debug'],
      env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'operator' } } },
      ],
      priorityClassName: 'system-cluster-critical',
    },
    proxy: {
      preStopSleepSeconds: 0,
      drainTimeout: '10s',
      extraArgs: ['--max-body-size=64MiB'],
      service: { type: 'LoadBalancer', port: 8080, annotations: { 'example.com/lb': 'internal' } },
      autoscaling: { enabled: true },
      podDisruptionBudget: { enabled: true, maxUnavailable: '25%' },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
      podAnnotations: { 'example.com/scrape': 'true' },
    },
    serviceMonitor: { enabled: true, interval: '15s', scrapeTimeout: '10s' },
    prometheusRule: { enabled: true },
    grafanaDashboard: { enabled: true },
    networkPolicy: {
      enabled: true,
      metricsNamespaceSelectors: [{ matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }],
      proxy: {
        apiNamespaceSelectors: [{ matchLabels: { team: 'apps' } }, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'batch'] }] }],
        extraIngress: [{ from: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
        backendEgress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
      },
      operator: { apiServerPorts: [6443], apiServerCIDRs: ['10.0.0.1/32'] },
    },
  },
};

// ---- expected RBAC (the operator's contract; see docs/helm.md "Permissions") ----------------

export const TOKEN_REVIEW = { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] };
export const WATCH_RULES = [
  { apiGroups: ['jairouter.io'], resources: ['modelroutes', 'tenants', 'ratelimitpolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['jairouter.io'], resources: ['modelroutes/status', 'tenants/status', 'ratelimitpolicies/status'], verbs: ['update', 'patch'] },
  { apiGroups: [''], resources: ['secrets', 'services'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];
export const OWN_NAMESPACE_RULES = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['jairouter-operator'], verbs: ['get', 'update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], resourceNames: ['jairouter-operator-tls', 'jairouter-snapshot'], verbs: ['get', 'update'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  { apiGroups: [''], resources: ['configmaps'], resourceNames: ['jairouter-ca'], verbs: ['get', 'update'] },
  { apiGroups: [''], resources: ['configmaps'], resourceNames: ['jairouter-served'], verbs: ['get', 'patch'] },
];

// ---- small accessors over rendered objects ---------------------------------------------------

export type Json = Record<string, any>; // rendered manifests are free-form

export function ids(objs: K8sObject[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).sort();
}

export function one(objs: K8sObject[], kind: string, name: string, namespace?: string): Json {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  expect(found, `${kind} ${namespace ?? ''}/${name}`).toHaveLength(1);
  return found[0] as Json;
}

export function container(deploy: Json): Json {
  const cs = deploy.spec.template.spec.containers as Json[];
  expect(cs).toHaveLength(1);
  return cs[0]!;
}

export const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

export function defaultIds(ns: string): string[] {
  return [
    'ClusterRole/jairouter-operator-' + ns,
    'ClusterRoleBinding/jairouter-operator-' + ns,
    `Deployment/${ns}/jairouter-operator`,
    `Deployment/${ns}/jairouter-proxy`,
    `PodDisruptionBudget/${ns}/jairouter-operator`,
    `PodDisruptionBudget/${ns}/jairouter-proxy`,
    `Role/${ns}/jairouter-operator`,
    `RoleBinding/${ns}/jairouter-operator`,
    `Service/${ns}/jairouter-operator`,
    `Service/${ns}/jairouter-operator-metrics`,
    `Service/${ns}/jairouter-proxy`,
    `Service/${ns}/jairouter-proxy-metrics`,
    `ServiceAccount/${ns}/jairouter-operator`,
    `ServiceAccount/${ns}/jairouter-proxy`,
  ].sort();
}
