import { canonicalJson, type BackendStatus } from '@jairouter/crds';
import { record } from './references.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A condition as written to the API (Kubernetes API conventions). */
export interface StatusCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

/** A condition before it is placed in time. */
export type UntimedCondition = Omit<StatusCondition, 'lastTransitionTime'>;

/** The `.status` the operator owns on a ModelRoute, Tenant or RateLimitPolicy. */
export interface ObjectStatusBody {
  observedGeneration: number;
  conditions: StatusCondition[];
  backends?: (BackendStatus & { ejected?: number; saturated?: number })[];
  /** `ready/total` backends, for the BACKENDS printer column. */
  readyBackends?: string;
  /** Saturated and ejected endpoints, for the CAPACITY printer column. */
  capacity?: string;
  keys?: number;
  /** Tenant: what the proxies report it consumed. */
  usage?: TenantUsageStatus;
  /** RateLimitPolicy: requests its rules refused today. */
  throttledToday?: number;
  /** RateLimitPolicy with Cluster rules: Shared (Redis) or PerReplica. */
  clusterScope?: 'Shared' | 'PerReplica';
}

export interface TenantUsageStatus {
  requestsThisMinute: number;
  tokensThisMinute: number;
  requestsToday: number;
  tokensToday: number;
  throttledToday: number;
  budgetSpent?: number;
  budgetLeft?: number;
  updatedAt: string;
}

/** What desiredStatus() adds beyond the conditions. */
export interface StatusExtra {
  generation: number;
  backends?: BackendStatus[];
  /** Ejected and saturated endpoints by backend, from the proxies' reports; absent without any. */
  capacity?: ReadonlyMap<string, { ejected: number; saturated: number }>;
  keys?: number;
  usage?: TenantUsageStatus;
  throttledToday?: number;
  clusterScope?: 'Shared' | 'PerReplica';
}

/** One condition whose status changed (or appeared): worth an Event. */
export interface ConditionTransition {
  type: string;
  from: ConditionStatus | undefined;
  to: ConditionStatus;
  reason: string;
  message: string;
}

/** metav1.Time is RFC 3339 with second precision. */
export function kubeTime(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Places the conditions in time: a condition keeps the lastTransitionTime it has in `current`
 * as long as its status stays the same (a new reason or message is not a transition), and
 * gets `now` otherwise.
 */
export function desiredStatus(
  current: unknown,
  conditions: readonly UntimedCondition[],
  extra: StatusExtra,
  now: Date,
): { status: ObjectStatusBody; transitions: ConditionTransition[] } {
  const previous = new Map(readConditions(current).map((c) => [c.type, c]));
  const transitions: ConditionTransition[] = [];
  const timed = conditions.map((c): StatusCondition => {
    const before = previous.get(c.type);
    if (before && before.status === c.status && before.lastTransitionTime) return { ...c, lastTransitionTime: before.lastTransitionTime };
    if (before?.status !== c.status) transitions.push({ type: c.type, from: before?.status, to: c.status, reason: c.reason, message: c.message });
    return { ...c, lastTransitionTime: kubeTime(now) };
  });
  const status: ObjectStatusBody = { observedGeneration: extra.generation, conditions: timed };
  if (extra.backends) {
    const cap = extra.capacity;
    status.backends = extra.backends.map((b) => {
      const c = cap?.get(b.name);
      return cap === undefined ? { name: b.name, endpoints: b.endpoints } : { name: b.name, endpoints: b.endpoints, ejected: c?.ejected ?? 0, saturated: c?.saturated ?? 0 };
    });
    status.readyBackends = `${extra.backends.filter((b) => b.endpoints > 0).length}/${extra.backends.length}`;
    if (cap !== undefined) status.capacity = capacityText(status.backends);
  }
  if (extra.keys !== undefined) status.keys = extra.keys;
  if (extra.usage !== undefined) status.usage = extra.usage;
  if (extra.throttledToday !== undefined) status.throttledToday = extra.throttledToday;
  if (extra.clusterScope !== undefined) status.clusterScope = extra.clusterScope;
  return { status, transitions };
}

/**
 * Whether writing `desired` would change what the object holds. Compares only the fields the
 * operator owns, conditions by type, so that a relist, a reconnect or an unrelated change
 * never turns into a status write.
 */
export function statusPatchNeeded(current: unknown, desired: ObjectStatusBody): boolean {
  return canonicalJson(normalise(current, desired)) !== canonicalJson(normalise(desired, desired));
}

function normalise(status: unknown, shape: ObjectStatusBody): unknown {
  const s = record(status);
  const out: Record<string, unknown> = {
    observedGeneration: s?.['observedGeneration'],
    conditions: readConditions(status).sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
  };
  if ('backends' in shape) {
    const backends = Array.isArray(s?.['backends']) ? (s['backends'] as unknown[]) : undefined;
    out['backends'] = backends?.map((b) => ({ name: record(b)?.['name'], endpoints: record(b)?.['endpoints'], ejected: record(b)?.['ejected'], saturated: record(b)?.['saturated'] }));
    out['readyBackends'] = s?.['readyBackends'];
    out['capacity'] = s?.['capacity'];
  }
  if ('keys' in shape) out['keys'] = s?.['keys'];
  for (const k of ['usage', 'throttledToday', 'clusterScope'] as const) if (k in shape) out[k] = s?.[k];
  return out;
}

/** The conditions of a status read from the API, reduced to the fields the operator sets. */
export function readConditions(status: unknown): (Partial<StatusCondition> & { type: string })[] {
  const list = record(status)?.['conditions'];
  if (!Array.isArray(list)) return [];
  const out: (Partial<StatusCondition> & { type: string })[] = [];
  for (const item of list) {
    const c = record(item);
    if (!c || typeof c['type'] !== 'string') continue;
    out.push({
      type: c['type'],
      status: c['status'] as ConditionStatus,
      reason: c['reason'] as string,
      message: c['message'] as string,
      observedGeneration: c['observedGeneration'] as number,
      lastTransitionTime: c['lastTransitionTime'] as string,
    });
  }
  return out;
}

/** The CAPACITY column: "2 saturated, 1 ejected", or "ok" when no endpoint is either. */
export function capacityText(backends: readonly { ejected?: number; saturated?: number }[]): string {
  let saturated = 0;
  let ejected = 0;
  for (const b of backends) {
    saturated += b.saturated ?? 0;
    ejected += b.ejected ?? 0;
  }
  const parts = [...(saturated > 0 ? [`${saturated} saturated`] : []), ...(ejected > 0 ? [`${ejected} ejected`] : [])];
  return parts.length === 0 ? 'ok' : parts.join(', ');
}
