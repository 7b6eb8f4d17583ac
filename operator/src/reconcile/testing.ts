// Builders for cluster-shaped objects in unit tests (as an informer would hand them over).
import { emptyResources, type KubeObject, type Resources } from '@jairouter/crds';

export function route(name: string, opts: { ns?: string; generation?: number; uid?: string; models?: string[]; secret?: string; service?: string; status?: unknown } = {}): KubeObject {
  const backend: Record<string, unknown> = { name: 'b', adapter: 'openai' };
  if (opts.service) backend['serviceRef'] = { name: opts.service, port: 8000 };
  else backend['url'] = 'https://api.example.com/v1';
  if (opts.secret) backend['credentialsRef'] = { name: opts.secret, key: 'apiKey' };
  const o: Record<string, unknown> = {
    apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute',
    metadata: { name, namespace: opts.ns ?? 'ai', generation: opts.generation ?? 1, uid: opts.uid ?? `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { models: opts.models ?? [name], backends: [backend] },
  };
  if (opts.status !== undefined) o['status'] = opts.status;
  return o;
}

export function tenant(name: string, opts: { ns?: string; generation?: number; secrets?: string[] } = {}): KubeObject {
  const spec: Record<string, unknown> = {};
  if (opts.secrets) spec['apiKeys'] = { secretRefs: opts.secrets.map((n) => ({ name: n })) };
  return {
    apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant',
    metadata: { name, namespace: opts.ns ?? 'ai', generation: opts.generation ?? 1, uid: `uid-${name}` },
    spec,
  };
}

export function secret(name: string, data: Record<string, string>, ns = 'ai'): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function service(name: string, ns = 'ai'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 8000, targetPort: 8000 }] } };
}

export function endpointSlice(name: string, serviceName: string, addresses: string[], ns = 'ai'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4', ports: [{ port: 8000 }], endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

export function cluster(parts: Partial<Resources>): Resources {
  return { ...emptyResources(), ...parts };
}
