import { contentVersion } from './canonical-json.ts';
import { z } from 'zod';
import { ADAPTERS, RETRY_ON, STRATEGIES } from './api/model-route.ts';
import { ALGORITHMS } from './api/rate-limit-policy.ts';

/**
 * ProxyConfig: the document the proxy runs. Produced by compile(), identical whether the
 * resources came from Kubernetes or from files. All durations are milliseconds, all
 * defaults applied, all references resolved. Holds provider credentials in clear text, so
 * it only travels over authenticated channels and is stored in Secrets.
 */
// 2: tenants carry jwt issuers, roles and a budget; limits (RateLimitPolicy rules and tenant
// quotas). A proxy that reads 1 refuses a 2 and keeps its last good config.
// 3: tenants carry maskResponses (a proxy of 2 would serve them unmasked, so it refuses a 3).
// 4: routes carry engineMetrics and the LoadAware strategy (a proxy of 3 could not honour them).
export const PROXY_CONFIG_SCHEMA_VERSION = 4;

export const EndpointIR = z.object({
  /** Absolute base URL, e.g. http://10.0.0.7:8000/v1; API paths are appended to it. */
  url: z.string(),
});
export type EndpointIR = z.infer<typeof EndpointIR>;

export const BackendIR = z.object({
  name: z.string(),
  adapter: z.enum(ADAPTERS),
  endpoints: z.array(EndpointIR),
  /** Upstream model id; absent = send the name the client asked for. */
  model: z.string().optional(),
  /** Resolved provider credential (clear text). */
  credential: z.string().optional(),
  weight: z.number().int(),
  priority: z.number().int(),
  maxConcurrency: z.number().int().optional(),
  capabilities: z.object({
    tools: z.boolean().optional(),
    vision: z.boolean().optional(),
    json: z.boolean().optional(),
    contextWindow: z.number().int().optional(),
  }),
  pricing: z.object({ inputPerMillion: z.number(), outputPerMillion: z.number() }),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type BackendIR = z.infer<typeof BackendIR>;

export const RouteIR = z.object({
  /** `namespace/name` of the ModelRoute. */
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  generation: z.number().int(),
  /** Exact names, and prefixes written with a trailing `*`. Conflicts already resolved. */
  models: z.array(z.string()),
  backends: z.array(BackendIR),
  loadBalancer: z.object({
    strategy: z.enum(STRATEGIES),
    hashKey: z.string().optional(),
    /** With strategy LoadAware: every default applied. */
    loadAware: z
      .object({
        weights: z.object({ queue: z.number(), running: z.number(), kvCache: z.number(), latency: z.number() }),
        /** Absent: no prefix affinity. */
        prefixAffinity: z.object({ blockSize: z.number().int(), maxBlocks: z.number().int(), epsilon: z.number() }).optional(),
      })
      .optional(),
  }),
  /** Background reads of the engines' metrics (spec.engineMetrics, or LoadAware's default); absent = none. */
  engineMetrics: z.object({ intervalMs: z.number().int(), timeoutMs: z.number().int(), path: z.string(), backends: z.array(z.string()) }).optional(),
  retry: z.object({
    attempts: z.number().int(),
    retryOn: z.array(z.enum(RETRY_ON)),
    backoffBaseMs: z.number().int(),
    backoffMaxMs: z.number().int(),
  }),
  timeouts: z.object({ connectMs: z.number().int(), firstByteMs: z.number().int(), requestMs: z.number().int() }),
  healthCheck: z.object({
    active: z
      .object({
        /** Absent: each adapter's own cheap endpoint (the proxy's probe-url.ts). */
        path: z.string().optional(),
        intervalMs: z.number().int(),
        timeoutMs: z.number().int(),
        unhealthyThreshold: z.number().int(),
        healthyThreshold: z.number().int(),
      })
      .optional(),
    passive: z.object({ consecutiveFailures: z.number().int(), ejectionTimeMs: z.number().int(), maxEjectionPercent: z.number().int() }),
  }),
  /** Model names whose routes are tried after every backend of this route failed. */
  fallbackModels: z.array(z.string()),
});
export type RouteIR = z.infer<typeof RouteIR>;

export const JwtIssuerIR = z.object({
  issuer: z.string(),
  /** Accepted aud values; empty = aud is not checked. */
  audiences: z.array(z.string()),
  /** Exactly one of jwksUri and jwks. */
  jwksUri: z.string().optional(),
  /** The JWKS document read from jwksSecretRef (public keys only). */
  jwks: z.string().optional(),
  userClaim: z.string(),
  rolesClaim: z.string().optional(),
});
export type JwtIssuerIR = z.infer<typeof JwtIssuerIR>;

/** A masking rule: a built-in detector by name, or a custom rule (regex checked by compile()). */
export const MaskRuleIR = z.union([
  z.object({ builtin: z.enum(['email', 'phone', 'cn-id', 'credit-card', 'api-key']) }),
  z.object({ name: z.string(), regex: z.string(), replacement: z.string().optional() }),
]);
export type MaskRuleIR = z.infer<typeof MaskRuleIR>;

export const TenantIR = z.object({
  /** `namespace/name` of the Tenant. */
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  generation: z.number().int(),
  /**
   * API keys as lowercase hex SHA-256 of the key bytes; `id` is `<secret>/<entry>`; `roles` from
   * the Secret's `jairouter.io/roles` annotation.
   */
  apiKeys: z.array(z.object({ id: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), roles: z.array(z.string()) })),
  /** Trusted token issuers (spec.jwt.issuers), in spec order. */
  jwtIssuers: z.array(JwtIssuerIR),
  access: z.object({
    /** Allowed model patterns, for every identity of the tenant; `["*"]` when the spec left it open. */
    models: z.array(z.string()),
    /** Extra model patterns per role, for identities that hold the role. */
    roles: z.array(z.object({ name: z.string(), models: z.array(z.string()) })),
  }),
  /**
   * spec.masking.requests: applied to every text a request sends upstream. A built-in detector
   * by name, or a custom rule (regex checked by compile()).
   */
  maskRequests: z.array(MaskRuleIR).optional(),
  /** spec.masking.responses: applied to every text the client receives, streams included. */
  maskResponses: z.array(MaskRuleIR).optional(),
  /** spec.quotas.budget: spend per UTC day, week (from Monday) or month, in the backends' pricing unit. */
  budget: z.object({ limit: z.number(), period: z.enum(['day', 'week', 'month']) }).optional(),
  suspended: z.boolean(),
});
export type TenantIR = z.infer<typeof TenantIR>;

/**
 * One limit: a rule of a RateLimitPolicy, or a Tenant quota (spec.quotas) turned into one. A
 * request is held to it when its route is in `routes` or its tenant in `tenants`.
 */
export const LimitIR = z.object({
  /** `namespace/policy/rule` for a RateLimitPolicy rule, `namespace/tenant/quota:<field>` for a quota. */
  id: z.string(),
  /** `namespace/name` of the RateLimitPolicy or Tenant it comes from. */
  source: z.string(),
  sourceKind: z.enum(['RateLimitPolicy', 'Tenant']),
  name: z.string(),
  algorithm: z.enum(ALGORITHMS),
  /** What a counter is kept per: tenant, user, apiKey, clientIP, model, header:<name>. */
  key: z.array(z.string()),
  unit: z.enum(['requests', 'tokens']),
  limit: z.number().int(),
  periodMs: z.number().int(),
  burst: z.number().int(),
  warmUp: z.object({ periodMs: z.number().int(), coldFactor: z.number() }).optional(),
  adaptive: z.object({ latencyTargetMs: z.number().int(), min: z.number().int(), max: z.number().int() }).optional(),
  scope: z.enum(['Local', 'Cluster']),
  /** Route ids (`namespace/name`) and tenant ids it applies to. */
  routes: z.array(z.string()),
  tenants: z.array(z.string()),
});
export type LimitIR = z.infer<typeof LimitIR>;

export const ProxyConfigBody = z.object({
  schemaVersion: z.literal(PROXY_CONFIG_SCHEMA_VERSION),
  /** Sorted by id. */
  routes: z.array(RouteIR),
  /** Sorted by id. */
  tenants: z.array(TenantIR),
  /** Sorted by id. */
  limits: z.array(LimitIR),
});
export type ProxyConfigBody = z.infer<typeof ProxyConfigBody>;

export const ProxyConfig = ProxyConfigBody.extend({
  /** `sha256:<hex>` of the canonical JSON of everything else: equal content, equal version. */
  version: z.string(),
});
export type ProxyConfig = z.infer<typeof ProxyConfig>;

export { canonicalJson } from './canonical-json.ts';

export function withVersion(body: ProxyConfigBody): ProxyConfig {
  return { version: contentVersion(body), ...body };
}

export function emptyProxyConfig(): ProxyConfig {
  return withVersion({ schemaVersion: PROXY_CONFIG_SCHEMA_VERSION, routes: [], tenants: [], limits: [] });
}
