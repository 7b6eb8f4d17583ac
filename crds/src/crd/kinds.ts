import type { z } from 'zod';
import { ModelRoute } from '../api/model-route.ts';
import { RateLimitPolicy } from '../api/rate-limit-policy.ts';
import { Tenant } from '../api/tenant.ts';

/** One `additionalPrinterColumns` entry: what `kubectl get` shows. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
}

/** Everything about a kind that the zod schema does not say. */
export interface KindDefinition {
  kind: 'ModelRoute' | 'Tenant' | 'RateLimitPolicy';
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
}

const condition = (type: string): PrinterColumn => ({
  name: type.toUpperCase(),
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description: `Status of the ${type} condition.`,
});

const AGE: PrinterColumn = {
  name: 'AGE',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export const KINDS: readonly KindDefinition[] = [
  {
    kind: 'ModelRoute',
    plural: 'modelroutes',
    singular: 'modelroute',
    shortNames: ['mr'],
    description: 'ModelRoute maps the model names clients ask for to backends, and says how requests are balanced over them, retried, timed out and health-checked.',
    schema: ModelRoute,
    printerColumns: [
      { name: 'MODELS', type: 'string', jsonPath: '.spec.models', description: 'Model names this route serves.' },
      { name: 'STRATEGY', type: 'string', jsonPath: '.spec.loadBalancer.strategy', description: 'Load-balancing strategy (empty: RoundRobin).' },
      // Not `.spec.backends[*].name`: a printer column shows only the first match of a
      // JSONPath (apiextensions-apiserver tableconvertor takes results[0][0]), which would
      // show one backend of three. The status list is one value: every backend with its
      // ready endpoint count.
      { name: 'BACKENDS', type: 'string', jsonPath: '.status.readyBackends', description: 'Backends with a ready endpoint, out of all (status.backends has the counts).' },
      { name: 'CAPACITY', type: 'string', jsonPath: '.status.capacity', description: 'Endpoints saturated or ejected, as the proxies report them ("ok" when none).' },
      condition('Programmed'),
      AGE,
    ],
  },
  {
    kind: 'Tenant',
    plural: 'tenants',
    singular: 'tenant',
    shortNames: ['tn'],
    description: 'Tenant is a group of callers: the API keys they authenticate with, which models they may use, and whether they are suspended. Masking of responses is not implemented yet: compile() refuses a Tenant that sets masking.responses (reason NotImplemented).',
    schema: Tenant,
    printerColumns: [
      condition('Accepted'),
      condition('Programmed'),
      { name: 'KEYS', type: 'integer', jsonPath: '.status.keys', description: 'Number of API keys loaded.' },
      { name: 'REQ/MIN', type: 'integer', jsonPath: '.status.usage.requestsThisMinute', description: 'Requests in the current UTC minute, every replica.' },
      { name: 'TOKENS TODAY', type: 'integer', jsonPath: '.status.usage.tokensToday', description: 'Tokens since 00:00 UTC, every replica.' },
      { name: 'THROTTLED', type: 'integer', jsonPath: '.status.usage.throttledToday', description: 'Requests refused with 429 since 00:00 UTC.' },
      { name: 'BUDGET LEFT', type: 'number', jsonPath: '.status.usage.budgetLeft', description: 'Budget left in the current period.' },
      AGE,
    ],
  },
  {
    kind: 'RateLimitPolicy',
    plural: 'ratelimitpolicies',
    singular: 'ratelimitpolicy',
    shortNames: ['rlp'],
    description: 'RateLimitPolicy limits the requests and tokens of the ModelRoutes and Tenants it targets.',
    schema: RateLimitPolicy,
    printerColumns: [
      condition('Accepted'),
      condition('Programmed'),
      { name: 'THROTTLED', type: 'integer', jsonPath: '.status.throttledToday', description: 'Requests refused since 00:00 UTC.' },
      { name: 'SCOPE', type: 'string', jsonPath: '.status.clusterScope', description: 'Shared (Redis) or PerReplica for Cluster rules.' },
      AGE,
    ],
  },
];
