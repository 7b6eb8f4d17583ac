import { z } from 'zod';
import { API_VERSION, BaseStatus, Duration, ObjectMeta, exactlyOneOf, listMapKeyedBy, onlyWith, uniqueKey, withRules } from './common.ts';

export const ALGORITHMS = ['TokenBucket', 'LeakyBucket', 'SlidingWindow', 'FixedWindow', 'WarmUp', 'Adaptive'] as const;
export const LIMIT_KEY_PATTERN = /^(tenant|user|apiKey|clientIP|model|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

export const LIMIT_REQUESTS_XOR_TOKENS = exactlyOneOf('requests', 'tokens');
export const WARM_UP_ONLY_WITH_WARM_UP = onlyWith('warmUp', 'algorithm', 'WarmUp');
export const ADAPTIVE_ONLY_WITH_ADAPTIVE = onlyWith('adaptive', 'algorithm', 'Adaptive');

export const ADAPTIVE_MIN_LE_MAX = {
  rule: 'self.min <= self.max',
  message: 'min must not be greater than max',
  holds: (a: { min: number; max: number }) => a.min <= a.max,
};

export const RateLimitRule = withRules(z
  .object({
    name: z.string().min(1).max(63).describe('Rule name, unique within the policy; shown in metrics.'),
    algorithm: z.enum(ALGORITHMS).optional().describe('TokenBucket, LeakyBucket, SlidingWindow, FixedWindow, WarmUp or Adaptive (default TokenBucket).'),
    key: z
      .array(z.string().regex(LIMIT_KEY_PATTERN, 'tenant, user, apiKey, clientIP, model or header:<name>'))
      .optional()
      .describe('What a counter is kept per: any of tenant, user, apiKey, clientIP, model, header:<name> (default tenant).'),
    limit: withRules(z
      .object({
        requests: z.number().int().min(1).optional().describe('Requests allowed per period. Exactly one of requests and tokens.'),
        tokens: z.number().int().min(1).optional().describe('Tokens allowed per period. Exactly one of requests and tokens.'),
        per: Duration.describe('The period.'),
      })
      .strict(), [LIMIT_REQUESTS_XOR_TOKENS])
      .describe('The limit.'),
    burst: z.number().int().min(0).optional().describe('Extra capacity above the steady rate (TokenBucket, LeakyBucket).'),
    warmUp: z
      .object({
        period: Duration.describe('Time to reach the full rate.'),
        coldFactor: z.number().min(1).describe('The full rate divided by this is the cold rate.'),
      })
      .strict()
      .optional()
      .describe('WarmUp parameters. Only with algorithm WarmUp.'),
    adaptive: withRules(z
      .object({
        latencyTarget: Duration.describe('Upstream latency the limit steers to.'),
        min: z.number().int().min(1).describe('Lowest limit.'),
        max: z.number().int().min(1).describe('Highest limit.'),
      })
      .strict(), [ADAPTIVE_MIN_LE_MAX])
      .optional()
      .describe('Adaptive parameters. Only with algorithm Adaptive.'),
    scope: z.enum(['Local', 'Cluster']).optional().describe('Local (per proxy replica) or Cluster (shared through Redis) (default Local).'),
  })
  .strict()
  .describe('One limit.'), [WARM_UP_ONLY_WITH_WARM_UP, ADAPTIVE_ONLY_WITH_ADAPTIVE]);
export type RateLimitRule = z.infer<typeof RateLimitRule>;

export const RateLimitPolicySpec = z
  .object({
    targetRefs: z
      .array(
        z
          .object({
            kind: z.enum(['ModelRoute', 'Tenant']).describe('ModelRoute or Tenant.'),
            name: z.string().min(1).describe('Name of the target in the policy\'s namespace.'),
          })
          .strict()
          .describe('A ModelRoute or Tenant in the policy\'s namespace.'),
      )
      .min(1)
      .describe('The routes and tenants this policy applies to.'),
    rules: z
      .array(RateLimitRule)
      .min(1)
      .max(64)
      .describe('The limits; a request must pass every rule.')
      .meta(listMapKeyedBy('name'))
      .superRefine(uniqueKey('name', 'rule')),
  })
  .strict()
  .describe('Rate limits and token limits for routes and tenants: a request is held to every rule of every policy that targets its route or its tenant.');
export type RateLimitPolicySpec = z.infer<typeof RateLimitPolicySpec>;

export const RateLimitPolicy = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('RateLimitPolicy'),
  metadata: ObjectMeta,
  spec: RateLimitPolicySpec,
  status: BaseStatus.extend({
    throttledToday: z.number().int().optional().describe('Requests its rules refused with 429 since 00:00 UTC, over every proxy replica.'),
    clusterScope: z
      .enum(['Shared', 'PerReplica'])
      .optional()
      .describe('For rules with scope Cluster: Shared while every proxy reaches its Redis; PerReplica while some proxy has no Redis or cannot reach it (it then enforces limit / replicas).'),
  })
    .optional()
    .describe('Observed state of the RateLimitPolicy.'),
});
export type RateLimitPolicy = z.infer<typeof RateLimitPolicy>;
