import { z } from 'zod';
import { API_VERSION, BaseStatus, ObjectMeta, SecretKeyRef, SecretRef, exactlyOneOf, withRules } from './common.ts';

export const BUILTIN_MASKS = ['email', 'phone', 'cn-id', 'credit-card', 'api-key'] as const;

const MaskRule = z.union([
  z.enum(BUILTIN_MASKS).describe('A built-in detector.'),
  z
    .object({
      name: z.string().min(1).describe('Rule name, shown in audit logs.'),
      regex: z.string().min(1).describe('ECMAScript regular expression to mask.'),
      replacement: z.string().optional().describe('Replacement text (default [MASKED:<name>]).'),
    })
    .strict(),
]).describe('A built-in detector (email, phone, cn-id, credit-card, api-key) or a custom rule {name, regex, replacement}.');

export const JWKS_URI_XOR_SECRET_REF = exactlyOneOf('jwksUri', 'jwksSecretRef');

/** Said on every field compile() refuses, so that the reference doc and the CRDs say it too. */
const notImplemented = (issue: number) => `Not implemented yet: compile() refuses it (reason NotImplemented) until issue #${issue} lands.`;

export const ModelPattern = z.string().min(1).max(256).describe('A model name; a trailing * matches a prefix and "*" alone matches every model.');

export const TenantSpec = z
  .object({
    apiKeys: z
      .object({
        secretRefs: z.array(SecretRef).describe('Secrets whose every data entry is one API key; the entry name is the key id.'),
      })
      .strict()
      .optional()
      .describe('API keys accepted as Authorization: Bearer <key> (or x-api-key).'),
    jwt: z
      .object({
        issuers: z
          .array(
            withRules(z
              .object({
                issuer: z.string().min(1).describe('Expected iss claim.'),
                audiences: z.array(z.string()).optional().describe('Accepted aud values.'),
                jwksUri: z.string().url().optional().describe('JWKS URL of the issuer. Exactly one of jwksUri and jwksSecretRef.'),
                jwksSecretRef: SecretKeyRef.optional().describe('Secret key holding a JWKS document. Exactly one of jwksUri and jwksSecretRef.'),
                claims: z
                  .object({
                    user: z.string().optional().describe('Claim that names the user (default sub).'),
                    roles: z.string().optional().describe('Claim that lists the roles (default none).'),
                  })
                  .strict()
                  .optional()
                  .describe('Claim mapping.'),
              })
              .strict()
              .describe('A trusted token issuer.'), [JWKS_URI_XOR_SECRET_REF]),
          )
          .max(16)
          .describe('Trusted token issuers.'),
      })
      .strict()
      .optional()
      .describe('JWT/OIDC bearer tokens accepted for this tenant (Authorization: Bearer <jwt>). A token belongs to the tenant whose issuer and audience it carries; asymmetric signatures only (RS*, PS*, ES*, EdDSA), exp and nbf checked with 60 s leeway.'),
    access: z
      .object({
        models: z.array(ModelPattern).optional().describe('Models every identity of the tenant may call (default: all).'),
        roles: z
          .array(
            z
              .object({
                name: z.string().min(1).describe('Role name as found in the roles claim.'),
                models: z.array(ModelPattern).describe('Models this role may call in addition.'),
              })
              .strict(),
          )
          .optional()
          .describe('Per-role model grants: an identity holding the role may also call these models. Roles come from the JWT roles claim, or for API keys from the jairouter.io/roles annotation of their Secret.'),
      })
      .strict()
      .optional()
      .describe('Authorisation: which models the tenant may use.'),
    quotas: z
      .object({
        requestsPerMinute: z.number().int().min(0).optional().describe('Requests per minute for the whole tenant, across every proxy replica (sliding window).'),
        tokensPerMinute: z.number().int().min(0).optional().describe('Tokens (input + output) per minute for the whole tenant: reserved at admission from the prompt and max_tokens, settled with the real usage.'),
        tokensPerDay: z.number().int().min(0).optional().describe('Tokens (input + output) per UTC day for the whole tenant, reserved and settled like tokensPerMinute.'),
        budget: z
          .object({
            limit: z.number().min(0).describe('Spend limit, in the pricing unit of the backends.'),
            period: z.enum(['day', 'week', 'month']).describe('Budget period: day, week or month.'),
          })
          .strict()
          .optional()
          .describe('Spend budget per UTC day, week (from Monday) or month: each request costs its usage at the serving backend\'s pricing; once spent, requests get 429 until the next period.'),
      })
      .strict()
      .optional()
      .describe('Tenant-wide quotas, held across every proxy replica (through Redis when the proxies have one).'),
    masking: z
      .object({
        requests: z.array(MaskRule).optional().describe('Masking applied to every text a request sends upstream (messages, system prompts, tool calls and results, completion prompts, embedding inputs; both the OpenAI and the Anthropic API) before it leaves the gateway: each match becomes [MASKED:<rule>] or the rule\'s replacement.'),
        responses: z.array(MaskRule).optional().describe('Masking applied to what the client receives (message text, reasoning, tool call arguments, completion text; JSON and streamed answers, in the OpenAI and the Anthropic API): a match split across stream chunks is still masked, at the cost of holding back the last characters of a stream (at most the longest rule\'s match length minus one) until they can no longer start a match.'),
      })
      .strict()
      .optional()
      .describe('PII masking (docs/masking.md).'),
    suspended: z.boolean().optional().describe('When true every request of the tenant gets 403.'),
  })
  .strict()
  .describe('A group of callers: how they authenticate, what they may use and how much.');
export type TenantSpec = z.infer<typeof TenantSpec>;

export const TenantUsage = z
  .object({
    requestsThisMinute: z.number().int().describe('Requests admitted in the current UTC minute, over every proxy replica.'),
    tokensThisMinute: z.number().int().describe('Tokens (input + output) used in the current UTC minute.'),
    requestsToday: z.number().int().describe('Requests admitted since 00:00 UTC.'),
    tokensToday: z.number().int().describe('Tokens used since 00:00 UTC.'),
    throttledToday: z.number().int().describe('Requests refused with 429 by the gateway\'s limits and budget since 00:00 UTC.'),
    budgetSpent: z.number().optional().describe('Spent in the current budget period, in the pricing unit (with spec.quotas.budget).'),
    budgetLeft: z.number().optional().describe('Left of the budget in the current period (with spec.quotas.budget).'),
    updatedAt: z.string().describe('When the proxies\' reports were summed (RFC 3339).'),
  })
  .describe('Consumption the proxies report, summed over every replica; refreshed at most every 10 s.');

export const TenantStatus = BaseStatus.extend({
  keys: z.number().int().optional().describe('Number of API keys loaded.'),
  usage: TenantUsage.optional(),
}).describe('Observed state of the Tenant.');

export const Tenant = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Tenant'),
  metadata: ObjectMeta,
  spec: TenantSpec,
  status: TenantStatus.optional(),
});
export type Tenant = z.infer<typeof Tenant>;
