import { parseDuration } from '../api/common.ts';
import { RETRY_ON, type Backend, type ModelRouteSpec } from '../api/model-route.ts';
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
    },
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
