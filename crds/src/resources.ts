import { LineCounter, parseAllDocuments, type ErrorCode } from 'yaml';
import { API_VERSION } from './api/common.ts';
import { isRecord } from './canonical-json.ts';

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
  return emptyBuckets();
}

function emptyBuckets(): Record<Bucket, KubeObject[]> {
  return { modelRoutes: [], tenants: [], rateLimitPolicies: [], secrets: [], services: [], endpointSlices: [] };
}

/** Concatenates several sources (files) into one Resources value. */
export function mergeResources(...parts: readonly Resources[]): Resources {
  const out = emptyBuckets();
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
  const out = emptyBuckets();
  const errors: string[] = [];
  const lineCounter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch {
    return { resources: out, errors: [`${sourceName}: cannot parse YAML`] };
  }
  let index = 0;
  for (const doc of docs) {
    index++;
    const line = lineCounter.linePos(doc.range[0]).line;
    const where = `${sourceName}: document ${index} (line ${line})`;
    const yamlError = doc.errors[0];
    if (yamlError) {
      const pos = yamlError.linePos?.[0] ?? lineCounter.linePos(yamlError.pos[0]);
      errors.push(`${where}: invalid YAML at line ${pos.line}, column ${pos.col}: ${YAML_ERRORS[yamlError.code] ?? yamlError.code}`);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // These messages can name an alias, i.e. document text: say what happened, not where.
      const msg = e instanceof Error ? e.message : '';
      const why = msg.startsWith('Unresolved alias') ? 'an alias (*name) without its anchor (&name); a value starting with * must be quoted'
        : /alias/i.test(msg) ? 'too many aliases' : 'the document cannot be read';
      errors.push(`${where}: invalid YAML: ${why}`);
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

/**
 * yaml's own messages quote document text (tags, escapes, scalars), which for a Secret is the
 * secret itself; errors are described by their code instead, with the position to look at.
 */
const YAML_ERRORS: Partial<Record<ErrorCode, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'a malformed alias',
  BAD_DIRECTIVE: 'a malformed directive',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation, or a [ or { that is not closed',
  BAD_PROP_ORDER: 'anchors and tags must come after the indicator',
  BAD_SCALAR_START: 'a plain value cannot start with this character; quote it',
  BLOCK_AS_IMPLICIT_KEY: 'nested mappings are not allowed in compact mappings (a value containing ": " must be quoted)',
  BLOCK_IN_FLOW: 'block collections are not allowed inside flow collections',
  DUPLICATE_KEY: 'a mapping has the same key twice',
  KEY_OVER_1024_CHARS: 'an implicit key longer than 1024 characters',
  MISSING_CHAR: 'a closing quote or bracket, or a separator, is missing',
  MULTILINE_IMPLICIT_KEY: 'an implicit key spans several lines',
  MULTIPLE_ANCHORS: 'a node has more than one anchor',
  MULTIPLE_DOCS: 'several documents where one was expected',
  MULTIPLE_TAGS: 'a node has more than one tag',
  NON_STRING_KEY: 'a mapping key is not a string',
  RESOURCE_EXHAUSTION: 'the document is too large or nests too deeply',
  TAB_AS_INDENT: 'a tab used for indentation',
  TAG_RESOLVE_FAILED: 'an unknown tag (a value starting with ! must be quoted)',
  UNEXPECTED_TOKEN: 'unexpected content',
  BAD_COLLECTION_TYPE: 'a tag that does not fit the collection',
};
