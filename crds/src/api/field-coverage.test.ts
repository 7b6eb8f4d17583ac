import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile } from '../compile/compile.ts';
import { isJsonObject, type JsonObject } from '../crd/json-schema-props.ts';
import { KINDS } from '../crd/kinds.ts';
import { zodJsonSchema } from '../crd/zod-json-schema.ts';
import { ADAPTER_OPTIONS } from '../implemented-adapters.ts';
import { emptyResources, type KubeObject, type Resources } from '../resources.ts';

/**
 * Nothing accepted that is not enforced. Every leaf field of the three spec schemas is either
 *  - on ENFORCED, naming a test that shows the proxy doing what the field says (the file must
 *    exist and contain the title, so the list cannot go stale), or
 *  - refused by compile(): one of REFUSED compiles an object that sets it and gets
 *    Accepted=False (NotImplemented, or UnsupportedOption for an option the adapter does not
 *    read), and the field's description says "Not implemented yet".
 * A field added to a schema on neither list fails here, so it cannot be silently ignored.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A test that proves a field: a test title, or for a golden compile case an output line. */
interface Proof {
  file: string;
  title: string;
}

const chat = (title: string): Proof => ({ file: 'proxy/test/chat.test.ts', title });
const spec = (title: string): Proof => ({ file: 'proxy/test/spec-fields.test.ts', title });
const failover = (title: string): Proof => ({ file: 'proxy/test/failover.test.ts', title });
const activeHealth = (title: string): Proof => ({ file: 'proxy/test/active-health.test.ts', title });
const capabilities = (title: string): Proof => ({ file: 'proxy/test/capabilities.test.ts', title });
const identity = (title: string): Proof => ({ file: 'proxy/test/identity.test.ts', title });
const limits = (title: string): Proof => ({ file: 'proxy/test/limits.test.ts', title });
const masking = (title: string): Proof => ({ file: 'proxy/test/masking.test.ts', title });
const algorithms = (title: string): Proof => ({ file: 'proxy/src/limits/algorithms.test.ts', title });

const OPTIONS = spec('sends every option the adapter reads upstream: authHeader, authPrefix, organization, project, header.<Name>');
const ANTHROPIC_OPTIONS_PROOF = { file: 'proxy/src/adapters/anthropic/adapter.test.ts', title: 'sends anthropic-version (options.anthropicVersion) and anthropic-beta (options.beta) with the credential as x-api-key' };
// LoadAware's settings reach the balancer as compiled (crds/testdata/compile/load-aware); these show what each does.
const LOAD_AWARE = (title: string): Proof => ({ file: 'proxy/src/balance/load-aware.test.ts', title });
const PREFIX_KEY = { file: 'proxy/src/http/request-keys.test.ts', title: 'chat: the system prompt and earlier turns, not the last message, cut to whole blocks (blockSize), at most maxBlocks' };
const ENGINE_METRICS = { file: 'proxy/test/load-aware.test.ts', title: 'engineMetrics: read at the path and interval set; a read slower than its timeout is an error, and no reading is kept' };
const SERVICE_REF = { file: 'e2e/src/stack/routing.test.ts', title: 'serviceRef backends follow EndpointSlice changes (added endpoints, ready flips, removals)' };

/** `<Kind> <field path>` -> the test that shows the proxy enforcing it. */
const ENFORCED: Record<string, Proof> = {
  'ModelRoute spec.models[]': chat('serves a model matched by a prefix pattern, sending the requested name upstream'),
  'ModelRoute spec.backends[].name': chat('sets x-request-id, x-jairouter-route and x-jairouter-backend'),
  'ModelRoute spec.backends[].adapter': { file: 'proxy/src/adapters/registry.test.ts', title: 'implements exactly the adapters compile() accepts, so no accepted backend is skipped at runtime' },
  'ModelRoute spec.backends[].url': chat('non-streaming: the backend reply, usage and the OpenAI response shape come through'),
  'ModelRoute spec.backends[].serviceRef.name': SERVICE_REF,
  'ModelRoute spec.backends[].serviceRef.port': SERVICE_REF,
  'ModelRoute spec.backends[].serviceRef.scheme': { file: 'crds/testdata/compile/service-endpoints/config.json', title: '"url": "https://10.0.1.2:8443/api"' },
  'ModelRoute spec.backends[].serviceRef.path': { file: 'crds/testdata/compile/service-endpoints/config.json', title: '"url": "https://10.0.1.2:8443/api"' },
  'ModelRoute spec.backends[].model': chat('rewrites the model to the backend model and leaves every other body field unchanged'),
  'ModelRoute spec.backends[].credentialsRef.name': chat('sends the provider credential upstream and never the tenant key'),
  'ModelRoute spec.backends[].credentialsRef.key': chat('sends the provider credential upstream and never the tenant key'),
  'ModelRoute spec.backends[].weight': spec("WeightedRoundRobin gives each backend its weight's share (weight 3 and 1: 6 and 2 of 8)"),
  'ModelRoute spec.backends[].priority': failover('priority tiers: tier 1 only serves while tier 0 is down'),
  'ModelRoute spec.backends[].maxConcurrency': spec('maxConcurrency: a backend at its cap is skipped while its request runs, and used again after'),
  'ModelRoute spec.backends[].capabilities.tools': capabilities('never sends a tools request to a backend with tools: false'),
  'ModelRoute spec.backends[].capabilities.vision': capabilities('never sends an image request to a backend with vision: false'),
  'ModelRoute spec.backends[].capabilities.json': capabilities('never sends a JSON-mode request to a backend with json: false'),
  'ModelRoute spec.backends[].capabilities.contextWindow': capabilities('skips a backend whose contextWindow is smaller than the estimated prompt'),
  'ModelRoute spec.backends[].pricing.inputPerMillion': spec('Cost sends every request to the backend with the lowest input plus output price'),
  'ModelRoute spec.backends[].pricing.outputPerMillion': spec('Cost sends every request to the backend with the lowest input plus output price'),
  // One entry per key an implemented adapter reads (ADAPTER_OPTIONS); any other key is refused.
  'ModelRoute spec.backends[].options.authHeader': OPTIONS,
  'ModelRoute spec.backends[].options.authPrefix': OPTIONS,
  'ModelRoute spec.backends[].options.organization': OPTIONS,
  'ModelRoute spec.backends[].options.project': OPTIONS,
  'ModelRoute spec.backends[].options.header.<Name>': OPTIONS,
  'ModelRoute spec.backends[].options.apiVersion': { file: 'proxy/src/adapters/azure-openai.test.ts', title: 'calls the deployment (the backend model) with options.apiVersion, the body passed through and the credential in api-key' },
  'ModelRoute spec.backends[].options.anthropicVersion': ANTHROPIC_OPTIONS_PROOF,
  'ModelRoute spec.backends[].options.beta': ANTHROPIC_OPTIONS_PROOF,
  'ModelRoute spec.backends[].options.region': { file: 'proxy/src/adapters/bedrock/adapter.test.ts', title: 'signs for options.region, else for the region of a bedrock-runtime.<region>.amazonaws.com url, else us-east-1' },
  'ModelRoute spec.backends[].options.api': { file: 'proxy/src/adapters/hunyuan/native.test.ts', title: 'calls ChatCompletions 2023-09-01 signed with TC3-HMAC-SHA256 (options.api: native), options.region as X-TC-Region' },
  'ModelRoute spec.loadBalancer.strategy': spec('ConsistentHash keeps each value of the hashKey header on one backend and spreads the values'),
  'ModelRoute spec.loadBalancer.loadAware.weights.queue': LOAD_AWARE('weights.queue: the endpoint whose engine reports waiting requests gets none while another has room'),
  'ModelRoute spec.loadBalancer.loadAware.weights.running': LOAD_AWARE('weights.running and weights.kvCache: fewer running, then a cooler cache, win'),
  'ModelRoute spec.loadBalancer.loadAware.weights.kvCache': LOAD_AWARE('weights.running and weights.kvCache: fewer running, then a cooler cache, win'),
  'ModelRoute spec.loadBalancer.loadAware.weights.latency': LOAD_AWARE('weights.latency: with equal load, the endpoint answering faster wins'),
  'ModelRoute spec.loadBalancer.loadAware.prefixAffinity.enabled': { file: 'proxy/test/load-aware.test.ts', title: 'prefixAffinity.enabled: false balances requests sharing a prompt by load alone' },
  'ModelRoute spec.loadBalancer.loadAware.prefixAffinity.blockSize': PREFIX_KEY,
  'ModelRoute spec.loadBalancer.loadAware.prefixAffinity.maxBlocks': PREFIX_KEY,
  'ModelRoute spec.loadBalancer.loadAware.prefixAffinity.epsilon': LOAD_AWARE('an endpoint over (1+epsilon) times the average load passes the key on, so affinity makes no hot spot'),
  'ModelRoute spec.engineMetrics.interval': ENGINE_METRICS,
  'ModelRoute spec.engineMetrics.timeout': ENGINE_METRICS,
  'ModelRoute spec.engineMetrics.path': ENGINE_METRICS,
  'ModelRoute spec.loadBalancer.hashKey': spec('ConsistentHash keeps each value of the hashKey header on one backend and spreads the values'),
  'ModelRoute spec.retry.attempts': { file: 'proxy/test/errors.test.ts', title: '502 after every attempt failed' },
  'ModelRoute spec.retry.retryOn[]': spec('a failure not listed in retry.retryOn is not retried'),
  'ModelRoute spec.retry.backoff.base': { file: 'proxy/src/upstream/select.test.ts', title: 'doubles from base, stays under max, jitters within [d/2, d)' },
  'ModelRoute spec.retry.backoff.max': { file: 'proxy/src/upstream/select.test.ts', title: 'doubles from base, stays under max, jitters within [d/2, d)' },
  'ModelRoute spec.timeouts.connect': spec('timeouts.connect gives up on a backend whose TLS handshake never completes'),
  'ModelRoute spec.timeouts.firstByte': { file: 'proxy/test/errors.test.ts', title: '504 when the backend sends nothing within timeouts.firstByte (300ms), each time close to it' },
  'ModelRoute spec.timeouts.request': spec('timeouts.request ends the exchange when it runs out, before firstByte would'),
  'ModelRoute spec.healthCheck.active.path': activeHealth("a change that leaves an endpoint's probe as it was does not probe it again; a changed probe starts at once"),
  'ModelRoute spec.healthCheck.active.interval': spec('healthCheck.active probes every interval and fails a probe that outlasts its timeout'),
  'ModelRoute spec.healthCheck.active.timeout': spec('healthCheck.active probes every interval and fails a probe that outlasts its timeout'),
  'ModelRoute spec.healthCheck.active.unhealthyThreshold': activeHealth('take an endpoint out after unhealthyThreshold failed probes, with no client request failing'),
  'ModelRoute spec.healthCheck.active.healthyThreshold': activeHealth('bring it back after healthyThreshold good probes'),
  'ModelRoute spec.healthCheck.passive.consecutiveFailures': failover('passive ejection: after consecutiveFailures the bad backend is skipped'),
  'ModelRoute spec.healthCheck.passive.maxEjectionPercent': { file: 'proxy/src/upstream/select.test.ts', title: 'ejects at most maxEjectionPercent of a route, and never the last endpoint in' },
  'ModelRoute spec.healthCheck.passive.ejectionTime': { file: 'proxy/src/health/endpoint-health.test.ts', title: 'ejects after consecutiveFailures and returns after ejectionTime' },
  'ModelRoute spec.fallback.models[]': spec('fallback.models: when every backend of the route failed, the route serving the fallback model answers'),
  'Tenant spec.apiKeys.secretRefs[].name': chat('accepts every entry of the tenant key Secret, from data and from stringData'),
  'Tenant spec.access.models[]': spec('a key reaches only the models in access.models'),
  'Tenant spec.suspended': spec('a suspended tenant gets 403 tenant_suspended and reaches no backend'),
  'Tenant spec.jwt.issuers[].issuer': identity('a token of a trusted issuer authenticates as its tenant, with the user claim in the request log'),
  'Tenant spec.jwt.issuers[].audiences[]': identity('401 invalid_token for a token %s, naming the check and never echoing the token'),
  'Tenant spec.jwt.issuers[].jwksUri': identity('a token of a trusted issuer authenticates as its tenant, with the user claim in the request log'),
  'Tenant spec.jwt.issuers[].jwksSecretRef.name': identity('a key set from a Secret (jwksSecretRef) verifies ES256 tokens, with roles at a nested claim path'),
  'Tenant spec.jwt.issuers[].jwksSecretRef.key': identity('a key set from a Secret (jwksSecretRef) verifies ES256 tokens, with roles at a nested claim path'),
  'Tenant spec.jwt.issuers[].claims.user': identity('a token of a trusted issuer authenticates as its tenant, with the user claim in the request log'),
  'Tenant spec.jwt.issuers[].claims.roles': identity('a role in the token grants its models; without it the model answers 404 like one that does not exist'),
  'Tenant spec.access.roles[].name': identity('a role in the token grants its models; without it the model answers 404 like one that does not exist'),
  'Tenant spec.access.roles[].models[]': identity('roles may come as a space-separated string, and a prefix grant covers the models it matches'),
  'Tenant spec.quotas.requestsPerMinute': limits('a tenant quota tokensPerMinute limits its tokens; requestsPerMinute its requests'),
  'Tenant spec.quotas.tokensPerMinute': limits('a tenant quota tokensPerMinute limits its tokens; requestsPerMinute its requests'),
  'Tenant spec.masking.requests[]': masking('masks emails, Luhn-valid card numbers and custom rules in every message before the backend sees them; an order number is left alone'),
  'Tenant spec.masking.requests[].name': masking('masks emails, Luhn-valid card numbers and custom rules in every message before the backend sees them; an order number is left alone'),
  'Tenant spec.masking.requests[].regex': masking('masks emails, Luhn-valid card numbers and custom rules in every message before the backend sees them; an order number is left alone'),
  'Tenant spec.masking.requests[].replacement': masking('masks emails, Luhn-valid card numbers and custom rules in every message before the backend sees them; an order number is left alone'),
  'Tenant spec.masking.responses[]': masking('masks what the client receives: a JSON answer, and a stream whose email and card number arrive split across chunks'),
  'Tenant spec.masking.responses[].name': masking('masks what the client receives: a JSON answer, and a stream whose email and card number arrive split across chunks'),
  'Tenant spec.masking.responses[].regex': masking('masks what the client receives: a JSON answer, and a stream whose email and card number arrive split across chunks'),
  'Tenant spec.masking.responses[].replacement': masking('masks what the client receives: a JSON answer, and a stream whose email and card number arrive split across chunks'),
  'Tenant spec.quotas.tokensPerDay': { file: 'crds/testdata/compile/tenant-identity-and-quotas/config.json', title: '"id": "ai/jwt-uri/quota:tokensPerDay"' },
  'Tenant spec.quotas.budget.limit': limits("a tenant is charged each request's cost at the serving backend's prices and gets 429 insufficient_quota once the budget is spent"),
  'Tenant spec.quotas.budget.period': { file: 'proxy/src/limits/budget.test.ts', title: 'a week starts on Monday 00:00 UTC, also when now is a Sunday' },
  'RateLimitPolicy spec.targetRefs[].kind': limits('a rule that targets both the route and the tenant counts a request once'),
  'RateLimitPolicy spec.targetRefs[].name': limits('a rule that targets both the route and the tenant counts a request once'),
  'RateLimitPolicy spec.rules[].name': limits('TokenBucket 3 per minute on a tenant: three pass with falling x-ratelimit-remaining-requests, the fourth is a RateLimitError with Retry-After and never reaches the backend'),
  'RateLimitPolicy spec.rules[].algorithm': limits('LeakyBucket queues up to burst requests behind the one being admitted and refuses the next'),
  'RateLimitPolicy spec.rules[].key[]': limits('key [apiKey] counts each key on its own; key [tenant] counts them together'),
  'RateLimitPolicy spec.rules[].limit.requests': limits('TokenBucket 3 per minute on a tenant: three pass with falling x-ratelimit-remaining-requests, the fourth is a RateLimitError with Retry-After and never reaches the backend'),
  'RateLimitPolicy spec.rules[].limit.tokens': limits('a request reserves its prompt estimate plus max_tokens; what it did not use comes back'),
  'RateLimitPolicy spec.rules[].limit.per': algorithms('limit 5 per minute: 5 at once, the 6th refused for 12 s, then one every 12 s'),
  'RateLimitPolicy spec.rules[].burst': algorithms('burst adds capacity, not rate: limit + burst at once, then limit per period'),
  'RateLimitPolicy spec.rules[].warmUp.period': algorithms('starts cold: a burst of about capacity / coldFactor, then one every 3 s, reaching 1 s after the warm-up period'),
  'RateLimitPolicy spec.rules[].warmUp.coldFactor': algorithms('starts cold: a burst of about capacity / coldFactor, then one every 3 s, reaching 1 s after the warm-up period'),
  'RateLimitPolicy spec.rules[].adaptive.latencyTarget': algorithms('adds 1 per good answer up to max; halves on a slow or throttled answer, at most once per interval, down to min'),
  'RateLimitPolicy spec.rules[].adaptive.min': algorithms('adds 1 per good answer up to max; halves on a slow or throttled answer, at most once per interval, down to min'),
  'RateLimitPolicy spec.rules[].adaptive.max': algorithms('adds 1 per good answer up to max; halves on a slow or throttled answer, at most once per interval, down to min'),
  'RateLimitPolicy spec.rules[].scope': { file: 'proxy/src/limits/redis.test.ts', title: 'two replicas share one limit exactly, even when their takes race' },
};

/** Map fields whose keys are fields in their own right: the keys compile() lets through. */
const MAP_KEYS: Record<string, string[]> = {
  'ModelRoute spec.backends[].options.<key>': [...new Set(Object.values(ADAPTER_OPTIONS).flatMap((list) => list.map((o) => o.key)))],
};
/** The field that stands for every other key of such a map: it must be refused. */
const otherKey = (mapLeaf: string) => mapLeaf.replace(/<key>$/, '<other key>');

interface Refusal {
  what: string;
  kind: 'ModelRoute' | 'Tenant' | 'RateLimitPolicy';
  spec: Record<string, unknown>;
  reason: 'NotImplemented' | 'UnsupportedOption';
  /** What the Accepted message must name. */
  names: string[];
  /** The fields this case proves refused; default: every leaf the spec sets. */
  proves?: string[];
}

const ROUTE = { models: ['m'], backends: [{ name: 'b', adapter: 'openai', url: 'https://api.openai.com/v1' }] };
const REFUSED: Refusal[] = [
  {
    what: 'an option the adapter does not read', kind: 'ModelRoute', reason: 'UnsupportedOption', names: ['spec.backends[0].options.pathPrefix'],
    spec: { ...ROUTE, backends: [{ ...ROUTE.backends[0], options: { pathPrefix: '/v2' } }] },
    proves: [otherKey('spec.backends[].options.<key>')],
  },
];

interface Leaf {
  /** Descriptions from the spec root down to the leaf. */
  descriptions: string[];
}

/** Every leaf of a kind's spec schema, keyed `spec.a.b[].c`; a map's values are `<key>`. */
function specLeaves(schema: JsonObject): Map<string, Leaf> {
  const props = isJsonObject(schema['properties']) ? schema['properties'] : {};
  const root = props['spec'];
  if (!isJsonObject(root)) throw new Error('no spec schema');
  const out = new Map<string, Leaf>();
  walk(root, 'spec', [], out);
  return out;
}

function walk(node: JsonObject, path: string, above: string[], out: Map<string, Leaf>): void {
  const here = typeof node['description'] === 'string' ? [...above, node['description']] : above;
  const alts = node['anyOf'] ?? node['oneOf'];
  for (const alt of Array.isArray(alts) ? alts.filter(isJsonObject) : [node]) {
    const d = alt !== node && typeof alt['description'] === 'string' ? [...here, alt['description']] : here;
    const props = alt['properties'];
    const items = alt['items'];
    const values = alt['additionalProperties'];
    if (isJsonObject(props)) for (const [name, child] of Object.entries(props)) walk(child as JsonObject, `${path}.${name}`, d, out);
    else if (isJsonObject(items)) walk(items, `${path}[]`, d, out);
    else if (isJsonObject(values) && Object.keys(values).length > 0) walk(values, `${path}.<key>`, d, out);
    else if (!out.has(path)) out.set(path, { descriptions: d });
  }
}

/** The leaf paths a spec value sets, in the same notation. */
function setLeaves(value: unknown, path = 'spec'): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => setLeaves(v, `${path}[]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => setLeaves(v, `${path}.${k}`));
  return [path];
}

const BUCKET = { ModelRoute: 'modelRoutes', Tenant: 'tenants', RateLimitPolicy: 'rateLimitPolicies' } as const;

function compileOne(kind: Refusal['kind'], specValue: Record<string, unknown>) {
  const object: KubeObject = { apiVersion: 'jairouter.io/v1alpha1', kind, metadata: { name: 'coverage', namespace: 'ai' }, spec: specValue };
  const resources: Resources = { ...emptyResources(), [BUCKET[kind]]: [object] };
  const { config, statuses } = compile(resources);
  return { config, status: statuses.find((s) => s.kind === kind && s.name === 'coverage') };
}

const leavesByKind = new Map(KINDS.map((k) => [k.kind, specLeaves(zodJsonSchema(k.schema))]));
/** Every field to account for: `<Kind> <path>`, maps expanded to their known keys plus "any other key". */
const fields = new Map<string, Leaf>();
for (const [kind, leaves] of leavesByKind) {
  for (const [path, leaf] of leaves) {
    const id = `${kind} ${path}`;
    const keys = MAP_KEYS[id];
    if (path.endsWith('.<key>') && keys) {
      for (const k of keys) fields.set(`${kind} ${path.replace(/<key>$/, k)}`, leaf);
      fields.set(`${kind} ${otherKey(path)}`, leaf);
    } else {
      fields.set(id, leaf);
    }
  }
}

const provenRefused = new Map<string, Refusal>();
for (const r of REFUSED) for (const p of r.proves ?? setLeaves(r.spec)) provenRefused.set(`${r.kind} ${p}`, r);

const NOT_IMPLEMENTED_DOC = 'Not implemented yet';

describe('every spec field is enforced by the proxy or refused by compile()', () => {
  it.each(REFUSED.map((r) => [`${r.kind}: ${r.what}`, r] as const))('refuses %s', (_label, r) => {
    const { config, status } = compileOne(r.kind, r.spec);
    const accepted = status?.conditions.find((c) => c.type === 'Accepted');
    expect(accepted, JSON.stringify(status)).toMatchObject({ status: 'False', reason: r.reason });
    for (const name of r.names) expect(accepted!.message).toContain(name);
    expect(config.routes.map((x) => x.name)).not.toContain('coverage');
    expect(config.tenants.map((x) => x.name)).not.toContain('coverage');
    for (const p of r.proves ?? setLeaves(r.spec)) expect(fields.has(`${r.kind} ${p}`), `${r.kind} ${p} is not a field of the schema`).toBe(true);
  });

  it('accounts for every leaf field of ModelRoute, Tenant and RateLimitPolicy', () => {
    const missing: string[] = [];
    const both: string[] = [];
    for (const id of fields.keys()) {
      const enforced = id in ENFORCED;
      const refused = provenRefused.has(id);
      if (enforced && refused) both.push(id);
      if (!enforced && !refused) missing.push(id);
    }
    expect(
      missing,
      'These fields are neither enforced nor refused. For each, either add it to ENFORCED in crds/src/api/field-coverage.test.ts ' +
        'with a test that shows the proxy doing what the field says, or refuse it in compile() (crds/src/compile/not-implemented.ts, ' +
        'reason NotImplemented, and "Not implemented yet" in its schema description) and add a REFUSED case that sets it',
    ).toEqual([]);
    expect(both, 'on ENFORCED and refused by compile() at once').toEqual([]);
  });

  it('lists no field on ENFORCED that the schemas do not have', () => {
    expect(Object.keys(ENFORCED).filter((id) => !fields.has(id))).toEqual([]);
  });

  it.each(Object.entries(ENFORCED))('%s: the proving test exists', (_id, proof) => {
    const path = join(ROOT, proof.file);
    expect(existsSync(path), `${proof.file} does not exist`).toBe(true);
    // Titles are compared as written, so an escaped quote in the source counts as the quote.
    const source = readFileSync(path, 'utf8').replaceAll("\\'", "'");
    expect(source, `${proof.file} has no test "${proof.title}"`).toContain(proof.title);
  });

  it('says "Not implemented yet" in the description of every refused field, and of no enforced one', () => {
    const says = (id: string) => fields.get(id)?.descriptions.some((d) => d.includes(NOT_IMPLEMENTED_DOC)) ?? false;
    const notImplemented = [...provenRefused].filter(([, r]) => r.reason === 'NotImplemented').map(([id]) => id);
    expect(notImplemented.filter((id) => !says(id)), 'refused fields whose description does not say so').toEqual([]);
    expect(Object.keys(ENFORCED).filter(says), 'enforced fields described as not implemented').toEqual([]);
  });
});
