import { z } from 'zod';
import { OPENAI_COMPATIBLE_OPTIONS } from '../implemented-adapters.ts';
import {
  API_VERSION, BaseStatus, Duration, ObjectMeta, SecretKeyRef, exactlyOneOf, listMapKeyedBy, onlyWith, uniqueKey, withRules,
} from './common.ts';

export const ADAPTERS = [
  'openai', 'azure-openai', 'anthropic', 'gemini', 'bedrock', 'cohere', 'huggingface',
  'ollama', 'vllm', 'xinference', 'localai', 'gpustack', 'dashscope', 'hunyuan',
] as const;
export const Adapter = z.enum(ADAPTERS).describe('The provider API family this backend speaks.');
export type Adapter = z.infer<typeof Adapter>;

export const STRATEGIES = [
  'Random', 'RoundRobin', 'WeightedRoundRobin', 'LeastConnections', 'IPHash',
  'ConsistentHash', 'Latency', 'Cost', 'Capability', 'LoadAware',
] as const;
export const Strategy = z.enum(STRATEGIES).describe('How a backend endpoint is picked for each request.');
export type Strategy = z.infer<typeof Strategy>;

export const RETRY_ON = ['connect-failure', 'reset', 'timeout', '5xx', '429'] as const;
export const RetryOn = z.enum(RETRY_ON);
export type RetryOn = z.infer<typeof RetryOn>;
/** YAML turns an unquoted 429 into a number: accept both spellings, as API.md writes it unquoted. */
export const RetryOnItem = z.union([RetryOn, z.literal(429)]);

export const HASH_KEY_PATTERN = /^(header:[A-Za-z0-9!#$%&'*+.^_`|~-]+|user|tenant|clientIP|promptPrefix)$/;

export const BACKEND_URL_XOR_SERVICE_REF = exactlyOneOf('url', 'serviceRef');
export const HASH_KEY_ONLY_WITH_CONSISTENT_HASH = onlyWith('hashKey', 'strategy', 'ConsistentHash');
export const LOAD_AWARE_ONLY_WITH_LOAD_AWARE = onlyWith('loadAware', 'strategy', 'LoadAware');

/** The adapters of self-hosted engines whose endpoints publish Prometheus metrics the proxy reads (spec.engineMetrics). */
export const SCRAPED_ADAPTERS = ['vllm', 'xinference', 'localai', 'gpustack'] as const;

const Weight = z.number().min(0).max(1000);

export const LoadAware = z
  .object({
    weights: z
      .object({
        queue: Weight.optional().describe('Per request waiting in the engine, and per request this proxy sent since the engine last reported (default 1).'),
        running: Weight.optional().describe('Per request the engine is running (default 0.25).'),
        kvCache: Weight.optional().describe('Times the KV-cache usage, a 0-1 fraction: the default 4 makes a full cache weigh as 4 waiting requests.'),
        latency: Weight.optional().describe('Times how much slower the endpoint answers than the fastest of the route, (its time-to-first-byte EWMA / the lowest) - 1 (default 1).'),
      })
      .strict()
      .optional()
      .describe('How the load score of an endpoint is made; the endpoint with the lowest score is picked (docs/routing.md gives the formula).'),
    prefixAffinity: z
      .object({
        enabled: z.boolean().optional().describe('Send requests that share a prompt prefix to the same endpoint, where it is in the prefix cache (default true).'),
        blockSize: z.number().int().min(16).max(65536).optional().describe('Characters per prefix block (default 256, about 64 tokens).'),
        maxBlocks: z.number().int().min(1).max(64).optional().describe('Leading blocks of the prompt (system prompt and first turns) that make the affinity key (default 8). A prompt shorter than one block has no affinity.'),
        epsilon: z.number().min(0).max(10).optional().describe('Bounded load: an endpoint whose load would exceed (1 + epsilon) times the average passes the key on to the next one on the hash ring (default 0.25).'),
      })
      .strict()
      .optional()
      .describe('Prefix-cache affinity by consistent hashing with bounded loads.'),
  })
  .strict()
  .describe('Settings of the LoadAware strategy.');
export type LoadAware = z.infer<typeof LoadAware>;

export const EngineMetrics = z
  .object({
    interval: Duration.optional().describe('How often each endpoint\'s metrics are read (default 5s; 1s with the LoadAware strategy). Never on the request path.'),
    timeout: Duration.optional().describe('How long one read may take (default 1s, or the interval when shorter).'),
    path: z.string().regex(/^\//, 'an absolute path').optional().describe('The metrics path at the endpoint\'s server root (default /metrics, as vLLM, SGLang and the other engines serve it).'),
  })
  .strict()
  .describe(`Background reads of the engines' Prometheus metrics (queue, running requests, KV-cache usage, prefix-cache hits, LoRA adapters), for LoadAware balancing and the autoscaling metrics. Read for backends of the adapters ${SCRAPED_ADAPTERS.join(', ')}; on by default with the LoadAware strategy.`);
export type EngineMetrics = z.infer<typeof EngineMetrics>;

export const Backend = withRules(z
  .object({
    name: z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label').describe('Backend name, unique within the route; shown in metrics and the x-jairouter-backend header.'),
    adapter: Adapter,
    url: z.string().url().optional().describe('Absolute base URL of the provider API, for example https://api.openai.com/v1. Exactly one of url and serviceRef. The only form in standalone mode.'),
    serviceRef: z
      .object({
        name: z.string().min(1).describe('Service name in the route\'s namespace.'),
        port: z.number().int().min(1).max(65535).describe('Service port.'),
        scheme: z.enum(['http', 'https']).optional().describe('Scheme used to reach the endpoints (default http).'),
        path: z.string().optional().describe('Base path prepended to API paths (default /v1).'),
      })
      .strict()
      .optional()
      .describe('An in-cluster Service; balancing goes per ready endpoint from its EndpointSlices. Exactly one of url and serviceRef.'),
    model: z.string().min(1).optional().describe('Upstream model id sent to the provider; default: the model name the client requested.'),
    credentialsRef: SecretKeyRef.optional().describe('Secret key holding the provider credential (API key or token).'),
    weight: z.number().int().min(0).max(1000).optional().describe('Relative weight for weighted strategies (default 1).'),
    priority: z.number().int().min(0).max(100).optional().describe('Failover tier: every healthy backend of tier 0 is used before any of tier 1 (default 0).'),
    maxConcurrency: z.number().int().min(1).optional().describe('Cap on in-flight requests per endpoint; a full endpoint is skipped.'),
    capabilities: z
      .object({
        tools: z.boolean().optional().describe('Supports tool/function calling.'),
        vision: z.boolean().optional().describe('Accepts image inputs.'),
        json: z.boolean().optional().describe('Supports JSON mode / structured output.'),
        contextWindow: z.number().int().min(1).optional().describe('Context window in tokens.'),
      })
      .strict()
      .optional()
      .describe('What the backend can do; used by the Capability strategy.'),
    pricing: z
      .object({
        inputPerMillion: z.number().min(0).optional().describe('Price per million input tokens.'),
        outputPerMillion: z.number().min(0).optional().describe('Price per million output tokens.'),
      })
      .strict()
      .optional()
      .describe('Token prices, used by the Cost strategy (the sum of both prices).'),
    options: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe(
        `Options of the backend's adapter. The OpenAI-compatible adapters read ${OPENAI_COMPATIBLE_OPTIONS.map((o) => `${o.key}: ${o.description}`).join('; ')}. compile() refuses any other key (reason UnsupportedOption) and a value they cannot use (reason InvalidOption).`,
      ),
  })
  .strict()
  .describe('One upstream model server or provider account.'), [BACKEND_URL_XOR_SERVICE_REF]);
export type Backend = z.infer<typeof Backend>;

export const ModelRouteSpec = z
  .object({
    models: z.array(z.string().min(1).max(256)).min(1).describe('Model names clients send as "model"; a trailing * matches a prefix.'),
    backends: z
      .array(Backend)
      .min(1)
      .max(64)
      .describe('The backends serving these models.')
      .meta(listMapKeyedBy('name'))
      .superRefine(uniqueKey('name', 'backend')),
    loadBalancer: withRules(z
      .object({
        strategy: Strategy.optional().describe('Balancing strategy (default RoundRobin).'),
        hashKey: z
          .string()
          .regex(HASH_KEY_PATTERN, 'header:<name>, user, tenant, clientIP or promptPrefix')
          .optional()
          .describe('ConsistentHash key: header:<name>, user, tenant, clientIP or promptPrefix. Only with ConsistentHash.'),
        loadAware: LoadAware.optional().describe('Settings of the LoadAware strategy. Only with LoadAware.'),
      })
      .strict(), [HASH_KEY_ONLY_WITH_CONSISTENT_HASH, LOAD_AWARE_ONLY_WITH_LOAD_AWARE])
      .optional()
      .describe('How requests are spread over the backends.'),
    retry: z
      .object({
        attempts: z.number().int().min(0).max(10).optional().describe('Retries after the first attempt (default 2).'),
        retryOn: z.array(RetryOnItem).max(8).optional().describe('Failures that are retried on another endpoint: connect-failure, reset, timeout (no response headers within timeouts.firstByte), 5xx, 429 (default all). 429 may be written as a number.'),
        backoff: z
          .object({
            base: Duration.optional().describe('First backoff (default 100ms), doubled per retry with jitter.'),
            max: Duration.optional().describe('Backoff ceiling (default 2s).'),
          })
          .strict()
          .optional()
          .describe('Backoff between retries.'),
      })
      .strict()
      .optional()
      .describe('Retry and failover policy.'),
    timeouts: z
      .object({
        connect: Duration.optional().describe('TCP/TLS connect timeout (default 5s).'),
        firstByte: Duration.optional().describe('Time to the upstream response headers (default 60s).'),
        request: Duration.optional().describe('Whole request, streaming included (default 300s).'),
      })
      .strict()
      .optional()
      .describe('Upstream timeouts.'),
    healthCheck: z
      .object({
        active: z
          .object({
            path: z.string().optional().describe('Path probed with GET, relative to the backend base URL. Default: what each engine answers cheaply: vLLM /health and Ollama /api/version at the server root, /models under the base URL for the other OpenAI-compatible servers, the provider\'s model list for hosted ones; Bedrock endpoints are not probed without a path (every request must be signed).'),
            interval: Duration.optional().describe('Probe interval (default 10s).'),
            timeout: Duration.optional().describe('Probe timeout (default 2s).'),
            unhealthyThreshold: z.number().int().min(1).optional().describe('Failed probes before an endpoint is marked down (default 3).'),
            healthyThreshold: z.number().int().min(1).optional().describe('Good probes before it is marked up again (default 2).'),
          })
          .strict()
          .optional()
          .describe('Active probing of each endpoint.'),
        passive: z
          .object({
            consecutiveFailures: z.number().int().min(1).optional().describe('Consecutive failures that eject an endpoint (default 5).'),
            ejectionTime: Duration.optional().describe('How long an ejected endpoint is skipped (default 30s).'),
            maxEjectionPercent: z.number().int().min(0).max(100).optional().describe('At most this share of the route\'s endpoints is ejected at once, and never the last one taking traffic (default 50).'),
          })
          .strict()
          .optional()
          .describe('Outlier detection on live traffic.'),
      })
      .strict()
      .optional()
      .describe('Health checking of the backend endpoints.'),
    engineMetrics: EngineMetrics.optional(),
    fallback: z
      .object({
        models: z.array(z.string().min(1)).describe('Model names whose routes are tried, in order, after every backend here failed.'),
      })
      .strict()
      .optional()
      .describe('Cross-route fallback.'),
  })
  .strict()
  .describe('Which model names this route serves and how requests reach the backends.');
export type ModelRouteSpec = z.infer<typeof ModelRouteSpec>;

export const ModelRouteStatus = BaseStatus.extend({
  backends: z
    .array(
      z.object({
        name: z.string().describe('Backend name.'),
        endpoints: z.number().int().describe('Ready endpoints.'),
        ejected: z.number().int().optional().describe('Endpoints a proxy has taken out of rotation (passive or active health), the most any proxy reports.'),
        saturated: z.number().int().optional().describe('Endpoints whose saturation (docs/autoscaling.md) is 0.9 or more, the most any proxy reports; absent without engine metrics or maxConcurrency.'),
      }),
    )
    .optional()
    .describe('Ready, ejected and saturated endpoints per backend.'),
  capacity: z
    .string()
    .optional()
    .describe('Where capacity is short, for example "2 saturated, 1 ejected" ("ok" when neither): the CAPACITY column of kubectl get.'),
  readyBackends: z
    .string()
    .optional()
    .describe('Backends with at least one ready endpoint, out of all of them, for example "2/3" (the BACKENDS column of kubectl get).'),
}).describe('Observed state of the ModelRoute.');

export const ModelRoute = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('ModelRoute'),
  metadata: ObjectMeta,
  spec: ModelRouteSpec,
  status: ModelRouteStatus.optional(),
});
export type ModelRoute = z.infer<typeof ModelRoute>;
