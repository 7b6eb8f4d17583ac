import { describe, expect, it } from 'vitest';
import { BACKEND_URL_XOR_SERVICE_REF, HASH_KEY_ONLY_WITH_CONSISTENT_HASH, LOAD_AWARE_ONLY_WITH_LOAD_AWARE } from '../api/model-route.ts';
import {
  ADAPTIVE_MIN_LE_MAX,
  ADAPTIVE_ONLY_WITH_ADAPTIVE,
  LIMIT_REQUESTS_XOR_TOKENS,
  WARM_UP_ONLY_WITH_WARM_UP,
} from '../api/rate-limit-policy.ts';
import { JWKS_URI_XOR_SECRET_REF } from '../api/tenant.ts';
import { buildCrds, type CustomResourceDefinition } from './crd.ts';
import type { JSONSchemaProps } from './json-schema-props.ts';
import { structuralProblems } from './structural-check.ts';

const crds = buildCrds();
const byKind = new Map(crds.map((c) => [c.spec.names.kind, c]));

function schemaOf(kind: string): JSONSchemaProps {
  const crd = byKind.get(kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** Every schema node with its path (`spec.backends[]`, `spec.backends[].options{}`). */
function nodes(schema: JSONSchemaProps, path = ''): Array<[string, JSONSchemaProps]> {
  const out: Array<[string, JSONSchemaProps]> = [[path, schema]];
  for (const [name, child] of Object.entries(schema.properties ?? {})) out.push(...nodes(child, path ? `${path}.${name}` : name));
  if (schema.items) out.push(...nodes(schema.items, `${path}[]`));
  if (schema.additionalProperties) out.push(...nodes(schema.additionalProperties, `${path}{}`));
  return out;
}

function at(kind: string, path: string): JSONSchemaProps {
  const found = nodes(schemaOf(kind)).find(([p]) => p === path);
  if (!found) throw new Error(`${kind}: no schema at ${path}`);
  return found[1];
}

describe.each([
  ['ModelRoute', 'modelroutes', 'modelroute', 'mr'],
  ['Tenant', 'tenants', 'tenant', 'tn'],
  ['RateLimitPolicy', 'ratelimitpolicies', 'ratelimitpolicy', 'rlp'],
])('the %s CRD', (kind, plural, singular, shortName) => {
  const crd = byKind.get(kind) as CustomResourceDefinition;

  it('names the kind in group jairouter.io, namespaced, category jairouter', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${plural}.jairouter.io`);
    expect(crd.spec.group).toBe('jairouter.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toEqual({ kind, listKind: `${kind}List`, plural, singular, shortNames: [shortName], categories: ['jairouter'] });
  });

  it('serves and stores v1alpha1 with a status subresource', () => {
    expect(crd.spec.versions).toHaveLength(1);
    const v = crd.spec.versions[0]!;
    expect([v.name, v.served, v.storage]).toEqual(['v1alpha1', true, true]);
    expect(v.subresources).toEqual({ status: {} });
  });

  it('has a structural schema', () => {
    expect(structuralProblems(schemaOf(kind))).toEqual([]);
  });

  it('leaves metadata to the API server and requires spec', () => {
    const s = schemaOf(kind);
    expect(s.properties?.['metadata']).toEqual({ type: 'object' });
    expect(Object.keys(s.properties ?? {})).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(s.required).toEqual(['spec']);
  });

  it('describes every field', () => {
    const undocumented = nodes(schemaOf(kind))
      .filter(([path]) => path !== 'metadata' && !path.endsWith('[]') && !path.endsWith('{}'))
      .filter(([, node]) => !node.description?.trim())
      .map(([path]) => path || '(root)');
    expect(undocumented).toEqual([]);
  });

  it('has a status with observedGeneration and conditions keyed by type', () => {
    const status = at(kind, 'status');
    expect(status.properties?.['observedGeneration']?.type).toBe('integer');
    const conditions = at(kind, 'status.conditions');
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(Object.keys(conditions.items?.properties ?? {})).toEqual(['type', 'status', 'reason', 'message', 'observedGeneration', 'lastTransitionTime']);
  });

  it('never carries additionalProperties: false, $ref or unions', () => {
    const text = JSON.stringify(schemaOf(kind));
    expect(text).not.toContain('"additionalProperties":false');
    expect(text).not.toContain('$ref');
    expect(text).not.toMatch(/"(anyOf|oneOf|allOf)"/);
  });
});

describe('printer columns', () => {
  const columns = (kind: string) => byKind.get(kind)!.spec.versions[0]!.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath]);

  it('ModelRoute: MODELS, STRATEGY, BACKENDS, PROGRAMMED, AGE', () => {
    expect(columns('ModelRoute')).toEqual([
      ['MODELS', 'string', '.spec.models'],
      ['STRATEGY', 'string', '.spec.loadBalancer.strategy'],
      ['BACKENDS', 'string', '.status.readyBackends'],
      ['CAPACITY', 'string', '.status.capacity'],
      ['PROGRAMMED', 'string', '.status.conditions[?(@.type=="Programmed")].status'],
      ['AGE', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  it('Tenant: ACCEPTED, PROGRAMMED, KEYS, then live usage: REQ/MIN, TOKENS TODAY, THROTTLED, BUDGET LEFT, AGE', () => {
    expect(columns('Tenant')).toEqual([
      ['ACCEPTED', 'string', '.status.conditions[?(@.type=="Accepted")].status'],
      ['PROGRAMMED', 'string', '.status.conditions[?(@.type=="Programmed")].status'],
      ['KEYS', 'integer', '.status.keys'],
      ['REQ/MIN', 'integer', '.status.usage.requestsThisMinute'],
      ['TOKENS TODAY', 'integer', '.status.usage.tokensToday'],
      ['THROTTLED', 'integer', '.status.usage.throttledToday'],
      ['BUDGET LEFT', 'number', '.status.usage.budgetLeft'],
      ['AGE', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  it('RateLimitPolicy: ACCEPTED, PROGRAMMED, THROTTLED, SCOPE, AGE', () => {
    expect(columns('RateLimitPolicy').map(([name]) => name)).toEqual(['ACCEPTED', 'PROGRAMMED', 'THROTTLED', 'SCOPE', 'AGE']);
  });

  it('every column points at a field of the schema', () => {
    for (const crd of crds) {
      const paths = new Set(nodes(crd.spec.versions[0]!.schema.openAPIV3Schema).map(([p]) => `.${p}`));
      for (const c of crd.spec.versions[0]!.additionalPrinterColumns) {
        if (c.jsonPath.startsWith('.metadata.')) continue;
        const field = c.jsonPath.replace(/\[\?\(.*\)\]/, '[]');
        expect(paths.has(field), `${crd.spec.names.kind} column ${c.name}: ${c.jsonPath}`).toBe(true);
      }
    }
  });
});

describe('CEL rules and list keys', () => {
  const rulesAt = (kind: string, path: string) => at(kind, path)['x-kubernetes-validations'];

  it.each([
    ['ModelRoute', 'spec.backends[]', [BACKEND_URL_XOR_SERVICE_REF]],
    ['ModelRoute', 'spec.loadBalancer', [HASH_KEY_ONLY_WITH_CONSISTENT_HASH, LOAD_AWARE_ONLY_WITH_LOAD_AWARE]],
    ['Tenant', 'spec.jwt.issuers[]', [JWKS_URI_XOR_SECRET_REF]],
    ['RateLimitPolicy', 'spec.rules[]', [WARM_UP_ONLY_WITH_WARM_UP, ADAPTIVE_ONLY_WITH_ADAPTIVE]],
    ['RateLimitPolicy', 'spec.rules[].limit', [LIMIT_REQUESTS_XOR_TOKENS]],
    ['RateLimitPolicy', 'spec.rules[].adaptive', [ADAPTIVE_MIN_LE_MAX]],
  ])('%s %s carries its rules with messages', (kind, path, rules) => {
    expect(rulesAt(kind, path)).toEqual(rules.map(({ rule, message }) => ({ rule, message })));
  });

  it('no other node carries a rule', () => {
    const withRules = crds.flatMap((crd) =>
      nodes(crd.spec.versions[0]!.schema.openAPIV3Schema)
        .filter(([, n]) => n['x-kubernetes-validations'])
        .map(([p]) => `${crd.spec.names.kind} ${p}`),
    );
    expect(withRules.sort()).toEqual([
      'ModelRoute spec.backends[]',
      'ModelRoute spec.loadBalancer',
      'ModelRoute spec.retry.retryOn[]',
      'RateLimitPolicy spec.rules[]',
      'RateLimitPolicy spec.rules[].adaptive',
      'RateLimitPolicy spec.rules[].limit',
      'Tenant spec.jwt.issuers[]',
    ]);
  });

  it.each([
    ['ModelRoute', 'spec.backends'],
    ['RateLimitPolicy', 'spec.rules'],
  ])('%s %s is a list map keyed by name, so names are unique', (kind, path) => {
    const list = at(kind, path);
    expect(list['x-kubernetes-list-type']).toBe('map');
    expect(list['x-kubernetes-list-map-keys']).toEqual(['name']);
    expect(list.items?.required).toContain('name');
  });

  it('bounds every list whose items carry rules, so the estimated CEL cost stays small', () => {
    expect(at('ModelRoute', 'spec.backends').maxItems).toBe(64);
    expect(at('Tenant', 'spec.jwt.issuers').maxItems).toBe(16);
    expect(at('RateLimitPolicy', 'spec.rules').maxItems).toBe(64);
  });

  it('bounds the enum strings the rules compare', () => {
    expect(at('ModelRoute', 'spec.loadBalancer.strategy').maxLength).toBe('WeightedRoundRobin'.length);
    expect(at('RateLimitPolicy', 'spec.rules[].algorithm').maxLength).toBe('SlidingWindow'.length);
  });
});

describe('unions the API server cannot type', () => {
  it('keeps backend options as a map of preserved values', () => {
    expect(at('ModelRoute', 'spec.backends[].options')).toMatchObject({
      type: 'object',
      additionalProperties: { 'x-kubernetes-preserve-unknown-fields': true },
    });
  });

  it('keeps masking rules (a detector name or a custom rule) as preserved items', () => {
    for (const list of ['requests', 'responses']) {
      const items = at('Tenant', `spec.masking.${list}[]`);
      expect(items['x-kubernetes-preserve-unknown-fields']).toBe(true);
      expect(items.type).toBeUndefined();
      expect(items.description).toContain('built-in detector');
    }
  });
});
