import { LineCounter, parseAllDocuments } from 'yaml';
import { API_VERSION } from './api/common.ts';

/**
 * A Kubernetes object as it arrived from an informer or a file, not yet validated.
 * compile() checks every field it reads, so one malformed object cannot break the rest.
 */
export type KubeObject = { readonly [key: string]: unknown };

/** Everything compile() looks at; nothing downstream knows whether it came from a cluster or files. */
export interface Resources {
  readonly modelRoutes: readonly KubeObject[];
  readonly tenants: readonly KubeObject[];
  readonly rateLimitPolicies: readonly KubeObject[];
  readonly secrets: readonly KubeObject[];
  readonly services: readonly KubeObject[];
  readonly endpointSlices: readonly KubeObject[];
}

export interface ParseResourcesResult {
  resources: Resources;
  /** One line per rejected document, naming the source and the 1-based document index. */
  errors: string[];
}

type Bucket = keyof Resources;

/** apiVersion + kind -> where the object goes. */
const KINDS: ReadonlyMap<string, Bucket> = new Map([
  [`${API_VERSION}/ModelRoute`, 'modelRoutes'],
  [`${API_VERSION}/Tenant`, 'tenants'],
  [`${API_VERSION}/RateLimitPolicy`, 'rateLimitPolicies'],
  ['v1/Secret', 'secrets'],
  ['v1/Service', 'services'],
  ['discovery.k8s.io/v1/EndpointSlice', 'endpointSlices'],
]);

const SUPPORTED = `ModelRoute, Tenant or RateLimitPolicy (${API_VERSION}), Secret or Service (v1), EndpointSlice (discovery.k8s.io/v1)`;

export const DEFAULT_NAMESPACE = 'default';

export function emptyResources(): Resources {
  return { modelRoutes: [], tenants: [], rateLimitPolicies: [], secrets: [], services: [], endpointSlices: [] };
}

/** Concatenates several sources (files) into one Resources value. */
export function mergeResources(...parts: readonly Resources[]): Resources {
  const out = {
    modelRoutes: [] as KubeObject[], tenants: [] as KubeObject[], rateLimitPolicies: [] as KubeObject[],
    secrets: [] as KubeObject[], services: [] as KubeObject[], endpointSlices: [] as KubeObject[],
  };
  for (const p of parts) {
    for (const key of Object.keys(out) as Bucket[]) out[key].push(...p[key]);
  }
  return out;
}

/**
 * Reads a multi-document YAML text holding jairouter.io/v1alpha1 ModelRoute, Tenant and
 * RateLimitPolicy objects, v1 Secrets and Services, and discovery.k8s.io/v1 EndpointSlices
 * (a v1 List of them also works). Never throws: a bad document becomes one error line and
 * the others are still read. Error lines never quote document content, because a broken
 * Secret would otherwise leak its values into logs.
 */
export function parseResourcesYaml(text: string, sourceName = '<input>'): ParseResourcesResult {
  const out = {
    modelRoutes: [] as KubeObject[], tenants: [] as KubeObject[], rateLimitPolicies: [] as KubeObject[],
    secrets: [] as KubeObject[], services: [] as KubeObject[], endpointSlices: [] as KubeObject[],
  };
  const errors: string[] = [];
  const lineCounter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    return { resources: out, errors: [`${sourceName}: cannot parse YAML: ${firstLine(e)}`] };
  }
  let index = 0;
  for (const doc of docs) {
    index++;
    const line = lineCounter.linePos(doc.range[0]).line;
    const where = `${sourceName}: document ${index} (line ${line})`;
    const yamlError = doc.errors[0];
    if (yamlError) {
      const pos = yamlError.linePos?.[0] ?? lineCounter.linePos(yamlError.pos[0]);
      errors.push(`${where}: invalid YAML at line ${pos.line}, column ${pos.col}: ${firstLine(yamlError)}`);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      errors.push(`${where}: invalid YAML: ${firstLine(e)}`);
      continue;
    }
    if (value === null || value === undefined) continue; // an empty document, e.g. a trailing ---
    if (isRecord(value) && value['apiVersion'] === 'v1' && value['kind'] === 'List') {
      const items = value['items'];
      if (!Array.isArray(items)) {
        errors.push(`${where}: List without an items array`);
        continue;
      }
      items.forEach((item: unknown, i) => addObject(item, `${where} item ${i + 1}`, out, errors));
      continue;
    }
    addObject(value, where, out, errors);
  }
  return { resources: out, errors };
}

function addObject(value: unknown, where: string, out: Record<Bucket, KubeObject[]>, errors: string[]): void {
  if (!isRecord(value)) {
    errors.push(`${where}: expected a Kubernetes object (a mapping with apiVersion, kind and metadata)`);
    return;
  }
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    errors.push(`${where}: apiVersion and kind must be strings`);
    return;
  }
  const bucket = KINDS.get(`${apiVersion}/${kind}`);
  if (!bucket) {
    errors.push(`${where}: unsupported kind ${kind} (apiVersion ${apiVersion}); expected ${SUPPORTED}`);
    return;
  }
  const metadata = value['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    errors.push(`${where}: ${kind} without metadata.name`);
    return;
  }
  const namespace = metadata['namespace'];
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
    errors.push(`${where}: ${kind} ${metadata['name']}: metadata.namespace must be a non-empty string`);
    return;
  }
  out[bucket].push({ ...value, metadata: { ...metadata, namespace: namespace ?? DEFAULT_NAMESPACE } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}
