// Builders for the standalone config files the integration tests hand to the proxy:
// multi-document YAML of jairouter.io/v1alpha1 objects and v1 Secrets (see API.md).
import { stringify } from 'yaml';

export const NS = 'ai';
const API = 'jairouter.io/v1alpha1';

export type Doc = Record<string, unknown>;

export interface BackendSpec {
  name: string;
  url: string;
  adapter?: string;
  model?: string;
  credentialsRef?: { name: string; key: string };
  weight?: number;
  priority?: number;
  maxConcurrency?: number;
  capabilities?: { tools?: boolean; vision?: boolean; json?: boolean; contextWindow?: number };
  pricing?: { inputPerMillion?: number; outputPerMillion?: number };
  options?: Record<string, string | number | boolean>;
}

export interface RouteSpec {
  models: string[];
  backends: BackendSpec[];
  loadBalancer?: { strategy?: string; hashKey?: string; loadAware?: Record<string, unknown> };
  engineMetrics?: { interval?: string; timeout?: string; path?: string };
  retry?: { attempts?: number; retryOn?: string[]; backoff?: { base?: string; max?: string } };
  timeouts?: { connect?: string; firstByte?: string; request?: string };
  healthCheck?: {
    active?: Record<string, unknown>;
    passive?: { consecutiveFailures?: number; ejectionTime?: string; maxEjectionPercent?: number };
  };
  fallback?: { models: string[] };
}

/** Fast retries so failover tests don't wait on production backoff defaults. */
export const FAST_RETRY = { backoff: { base: '10ms', max: '50ms' } } as const;

export function modelRoute(name: string, spec: RouteSpec, namespace = NS): Doc {
  const backends = spec.backends.map((b) => ({ adapter: 'openai', ...b }));
  return { apiVersion: API, kind: 'ModelRoute', metadata: { name, namespace }, spec: { ...spec, backends } };
}

export function tenant(name: string, spec: Doc, namespace = NS): Doc {
  return { apiVersion: API, kind: 'Tenant', metadata: { name, namespace }, spec };
}

/** A v1 Secret; `data` values are base64-encoded here (as the API stores them). */
export function secret(
  name: string,
  entries: { stringData?: Record<string, string>; data?: Record<string, string> },
  namespace = NS,
): Doc {
  const doc: Doc = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque' };
  if (entries.data) {
    doc['data'] = Object.fromEntries(Object.entries(entries.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  }
  if (entries.stringData) doc['stringData'] = entries.stringData;
  return doc;
}

/** A tenant with its API-key Secret; `keys` maps key ids to key values. */
export function tenantWithKeys(name: string, keys: Record<string, string>, spec: Doc = {}, namespace = NS): Doc[] {
  return [
    secret(`${name}-keys`, { stringData: keys }, namespace),
    tenant(name, { apiKeys: { secretRefs: [{ name: `${name}-keys` }] }, ...spec }, namespace),
  ];
}

export function toYaml(...docs: (Doc | Doc[])[]): string {
  return docs
    .flat()
    .map((d) => stringify(d))
    .join('---\n');
}

/** The provider credential every test backend is given, to check it reaches the backend. */
export const PROVIDER_KEY = 'sk-provider-7f3c9e1d-never-log-me';
export function providerSecret(namespace = NS): Doc {
  return secret('provider', { stringData: { apiKey: PROVIDER_KEY } }, namespace);
}
export const PROVIDER_REF = { name: 'provider', key: 'apiKey' } as const;
