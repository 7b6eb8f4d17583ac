import { parseDuration } from '../api/common.ts';
import { RETRY_ON, SCRAPED_ADAPTERS, type Backend, type LoadAware, type ModelRouteSpec } from '../api/model-route.ts';
import type { BackendIR, EndpointIR, RouteIR } from '../proxy-config.ts';
import type { ObjectInfo } from './objects.ts';
import { compareStrings } from './order.ts';

/** The defaults documented on the ModelRoute schema (crds/src/api/model-route.ts). */
const ROUTE_DEFAULTS = {
  strategy: 'RoundRobin',
  weight: 1,
  priority: 0,
  retryAttempts: 2,
  backoffBase: '100ms',
  backoffMax: '2s',
  connect: '5s',
  firstByte: '60s',
  request: '300s',
  consecutiveFailures: 5,
  ejectionTime: '30s',
  maxEjectionPercent: 50,
  activeInterval: '10s',
  activeTimeout: '2s',
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  loadAwareWeights: { queue: 1, running: 0.25, kvCache: 4, latency: 1 },
  prefixBlockSize: 256,
  prefixMaxBlocks: 8,
  prefixEpsilon: 0.25,
  engineMetricsInterval: '5s',
  engineMetricsIntervalLoadAware: '1s',
  engineMetricsTimeout: '1s',
  engineMetricsPath: '/metrics',
} as const;

/** A backend with every default applied; endpoints and credential come from resolution. */
export function backendIR(b: Backend, endpoints: readonly string[], credential: string | undefined): BackendIR {
  const c = b.capabilities ?? {};
  const options: BackendIR['options'] = {};
  // Sorted keys: the output must not depend on how the user ordered a map.
  for (const k of Object.keys(b.options ?? {}).sort(compareStrings)) options[k] = b.options![k]!;
  return {
    name: b.name,
    adapter: b.adapter,
    endpoints: endpoints.map((url): EndpointIR => ({ url })),
    ...(b.model !== undefined ? { model: b.model } : {}),
    ...(credential !== undefined ? { credential } : {}),
    weight: b.weight ?? ROUTE_DEFAULTS.weight,
    priority: b.priority ?? ROUTE_DEFAULTS.priority,
    ...(b.maxConcurrency !== undefined ? { maxConcurrency: b.maxConcurrency } : {}),
    capabilities: {
      ...(c.tools !== undefined ? { tools: c.tools } : {}),
      ...(c.vision !== undefined ? { vision: c.vision } : {}),
      ...(c.json !== undefined ? { json: c.json } : {}),
      ...(c.contextWindow !== undefined ? { contextWindow: c.contextWindow } : {}),
    },
    pricing: { inputPerMillion: b.pricing?.inputPerMillion ?? 0, outputPerMillion: b.pricing?.outputPerMillion ?? 0 },
    options,
  };
}

function loadAwareIR(la: LoadAware | undefined): NonNullable<RouteIR['loadBalancer']['loadAware']> {
  const d = ROUTE_DEFAULTS;
  const w = la?.weights;
  const p = la?.prefixAffinity;
  return {
    weights: {
      queue: w?.queue ?? d.loadAwareWeights.queue,
      running: w?.running ?? d.loadAwareWeights.running,
      kvCache: w?.kvCache ?? d.loadAwareWeights.kvCache,
      latency: w?.latency ?? d.loadAwareWeights.latency,
    },
    ...(p?.enabled === false
      ? {}
      : { prefixAffinity: { blockSize: p?.blockSize ?? d.prefixBlockSize, maxBlocks: p?.maxBlocks ?? d.prefixMaxBlocks, epsilon: p?.epsilon ?? d.prefixEpsilon } }),
  };
}

/** Engine metrics are read when the route asks for them, or balances by them (LoadAware). */
function engineMetricsIR(spec: ModelRouteSpec): Pick<RouteIR, 'engineMetrics'> {
  const d = ROUTE_DEFAULTS;
  const em = spec.engineMetrics;
  const loadAware = spec.loadBalancer?.strategy === 'LoadAware';
  // Only the engines that publish metrics this proxy reads.
  const backends = spec.backends.filter((b) => (SCRAPED_ADAPTERS as readonly string[]).includes(b.adapter)).map((b) => b.name);
  if ((em === undefined && !loadAware) || backends.length === 0) return {};
  const intervalMs = parseDuration(em?.interval ?? (loadAware ? d.engineMetricsIntervalLoadAware : d.engineMetricsInterval));
  return {
    engineMetrics: {
      intervalMs,
      // A read never outlasts the interval.
      timeoutMs: em?.timeout !== undefined ? parseDuration(em.timeout) : Math.min(parseDuration(d.engineMetricsTimeout), intervalMs),
      path: em?.path ?? d.engineMetricsPath,
      backends,
    },
  };
}

/** A route with every default applied; fallbackModels are filled in once all routes are known. */
export function routeIR(info: ObjectInfo, spec: ModelRouteSpec, backends: BackendIR[]): RouteIR {
  const d = ROUTE_DEFAULTS;
  const { loadBalancer: lb, retry, timeouts, healthCheck } = spec;
  const active = healthCheck?.active;
  return {
    id: info.id,
    namespace: info.namespace,
    name: info.name,
    generation: info.generation,
    models: [...spec.models],
    backends,
    loadBalancer: {
      strategy: lb?.strategy ?? d.strategy,
      ...(lb?.hashKey !== undefined ? { hashKey: lb.hashKey } : {}),
      ...(lb?.strategy === 'LoadAware' ? { loadAware: loadAwareIR(lb.loadAware) } : {}),
    },
    ...engineMetricsIR(spec),
    retry: {
      attempts: retry?.attempts ?? d.retryAttempts,
      // Canonical order and no duplicates, so that equal sets compile to equal bytes.
      retryOn: retry?.retryOn ? RETRY_ON.filter((r) => retry.retryOn!.some((x) => String(x) === r)) : [...RETRY_ON],
      backoffBaseMs: parseDuration(retry?.backoff?.base ?? d.backoffBase),
      backoffMaxMs: parseDuration(retry?.backoff?.max ?? d.backoffMax),
    },
    timeouts: {
      connectMs: parseDuration(timeouts?.connect ?? d.connect),
      firstByteMs: parseDuration(timeouts?.firstByte ?? d.firstByte),
      requestMs: parseDuration(timeouts?.request ?? d.request),
    },
    healthCheck: {
      // Active probing only when asked for: probes cost provider quota on hosted APIs.
      ...(active
        ? {
            active: {
              ...(active.path !== undefined && { path: active.path }),
              intervalMs: parseDuration(active.interval ?? d.activeInterval),
              timeoutMs: parseDuration(active.timeout ?? d.activeTimeout),
              unhealthyThreshold: active.unhealthyThreshold ?? d.unhealthyThreshold,
              healthyThreshold: active.healthyThreshold ?? d.healthyThreshold,
            },
          }
        : {}),
      passive: {
        consecutiveFailures: healthCheck?.passive?.consecutiveFailures ?? d.consecutiveFailures,
        ejectionTimeMs: parseDuration(healthCheck?.passive?.ejectionTime ?? d.ejectionTime),
        maxEjectionPercent: healthCheck?.passive?.maxEjectionPercent ?? d.maxEjectionPercent,
      },
    },
    fallbackModels: [],
  };
}
