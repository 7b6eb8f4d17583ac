import type { KubeObject, Resources } from '@jairouter/crds';

/** `namespace/name` of every Secret and Service the custom resources point at. */
export interface References {
  secrets: ReadonlySet<string>;
  services: ReadonlySet<string>;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * Reads the references out of raw objects, defensively (compile() validates them; here a
 * malformed object simply references nothing). References are always to the object's own
 * namespace (API.md).
 */
export function collectReferences(r: Pick<Resources, 'modelRoutes' | 'tenants'>): References {
  const secrets = new Set<string>();
  const services = new Set<string>();
  for (const route of r.modelRoutes) {
    const ns = namespaceOf(route);
    for (const b of arrayAt(record(route['spec'])?.['backends'])) {
      const backend = record(b);
      const cred = nameAt(record(backend?.['credentialsRef']));
      if (cred) secrets.add(`${ns}/${cred}`);
      const svc = nameAt(record(backend?.['serviceRef']));
      if (svc) services.add(`${ns}/${svc}`);
    }
  }
  for (const tenant of r.tenants) {
    const ns = namespaceOf(tenant);
    const spec = record(tenant['spec']);
    for (const ref of arrayAt(record(spec?.['apiKeys'])?.['secretRefs'])) {
      const name = nameAt(record(ref));
      if (name) secrets.add(`${ns}/${name}`);
    }
    for (const issuer of arrayAt(record(spec?.['jwt'])?.['issuers'])) {
      const jwks = nameAt(record(record(issuer)?.['jwksSecretRef']));
      if (jwks) secrets.add(`${ns}/${jwks}`);
    }
  }
  return { secrets, services };
}

/**
 * Everything the informers hold -> the Resources compile() sees: all custom resources, but
 * only the Secrets, Services and EndpointSlices they reference. A cluster has many unrelated
 * Secrets (tokens, Helm releases); they never enter the compiled input.
 */
export function selectResources(cluster: Resources): { resources: Resources; references: References } {
  const references = collectReferences(cluster);
  const resources: Resources = {
    modelRoutes: cluster.modelRoutes,
    tenants: cluster.tenants,
    rateLimitPolicies: cluster.rateLimitPolicies,
    secrets: cluster.secrets.filter((s) => isReferenced('Secret', s, references)),
    services: cluster.services.filter((s) => isReferenced('Service', s, references)),
    endpointSlices: cluster.endpointSlices.filter((e) => isReferenced('EndpointSlice', e, references)),
  };
  return { resources, references };
}

/** Whether a change to this Secret, Service or EndpointSlice can matter to the compiled result. */
export function isReferenced(kind: 'Secret' | 'Service' | 'EndpointSlice', object: KubeObject, refs: References): boolean {
  if (kind === 'Secret') return refs.secrets.has(idOf(object));
  if (kind === 'Service') return refs.services.has(idOf(object));
  const service = record(record(object['metadata'])?.['labels'])?.[SERVICE_NAME_LABEL];
  return typeof service === 'string' && refs.services.has(`${namespaceOf(object)}/${service}`);
}

export function namespaceOf(o: KubeObject): string {
  const ns = record(o['metadata'])?.['namespace'];
  return typeof ns === 'string' && ns !== '' ? ns : 'default';
}

export function idOf(o: KubeObject): string {
  const name = record(o['metadata'])?.['name'];
  return `${namespaceOf(o)}/${typeof name === 'string' ? name : ''}`;
}

function nameAt(r: Record<string, unknown> | undefined): string | undefined {
  const n = r?.['name'];
  return typeof n === 'string' && n !== '' ? n : undefined;
}

function arrayAt(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
