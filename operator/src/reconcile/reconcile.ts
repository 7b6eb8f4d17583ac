import { compile, type BackendStatus, type KubeObject, type ObjectStatus, type ProxyConfig, type Resources } from '@jairouter/crds';
import { objectKey, programmedCondition, stamp, type ConfigLedger, type ObjectKey } from './programmed.ts';
import { idOf, record, selectResources, type References } from './references.ts';
import { desiredStatus, statusPatchNeeded, type ConditionTransition, type ObjectStatusBody, type StatusExtra, type TenantUsageStatus } from './status.ts';
import type { UsageView } from './usage.ts';

export type CustomKind = ObjectStatus['kind'];

export const PLURALS: Readonly<Record<CustomKind, string>> = {
  ModelRoute: 'modelroutes',
  Tenant: 'tenants',
  RateLimitPolicy: 'ratelimitpolicies',
};

export interface ReconcileInput {
  /** Everything the informers hold (unreferenced Secrets etc. included; they are filtered here). */
  cluster: Resources;
  /** proxy id -> config version it serves. */
  served: ReadonlyMap<string, string>;
  /** Remembers what each compiled version contains; the new version is recorded into it. */
  ledger: ConfigLedger;
  now: Date;
  /** What the proxies report consuming (refreshed at most every 10 s); null/absent = nothing reported yet. */
  usage?: UsageView | null;
}

export interface ObjectUpdate {
  kind: CustomKind;
  namespace: string;
  name: string;
  key: ObjectKey;
  /** The cached object this status is for (its metadata: resourceVersion, uid). */
  object: KubeObject;
  status: ObjectStatusBody;
  /** False when the object already holds exactly this status: no write. */
  patchNeeded: boolean;
  transitions: ConditionTransition[];
}

export interface ReconcileResult {
  config: ProxyConfig;
  references: References;
  updates: ObjectUpdate[];
}

/**
 * One level-triggered pass: cached objects -> compiled config + the status every custom
 * object should have. Pure apart from recording the new version in the ledger.
 */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const { resources, references } = selectResources(input.cluster);
  const { config, statuses } = compile(resources);

  const objects = new Map<ObjectKey, KubeObject>();
  for (const [kind, list] of [['ModelRoute', resources.modelRoutes], ['Tenant', resources.tenants], ['RateLimitPolicy', resources.rateLimitPolicies]] as const) {
    for (const o of list) objects.set(`${kind}/${idOf(o)}`, o);
  }
  const uidOf = (key: ObjectKey) => {
    const uid = record(objects.get(key)?.['metadata'])?.['uid'];
    return typeof uid === 'string' ? uid : undefined;
  };

  // What this version contains: the routes, tenants and policies (those with a rule in it) that
  // made it into the config.
  const contents = new Map<ObjectKey, string>();
  const withLimits = new Set(config.limits.filter((l) => l.sourceKind === 'RateLimitPolicy').map((l) => l.source));
  for (const s of statuses) {
    if (s.kind !== 'RateLimitPolicy' || !isAccepted(s) || !withLimits.has(`${s.namespace}/${s.name}`)) continue;
    const key = objectKey('RateLimitPolicy', s.namespace, s.name);
    contents.set(key, stamp(uidOf(key), s.generation));
  }
  for (const r of config.routes) {
    const key = objectKey('ModelRoute', r.namespace, r.name);
    contents.set(key, stamp(uidOf(key), r.generation));
  }
  for (const t of config.tenants) {
    const key = objectKey('Tenant', t.namespace, t.name);
    contents.set(key, stamp(uidOf(key), t.generation));
  }
  input.ledger.record(config.version, contents);

  const updates: ObjectUpdate[] = [];
  for (const s of statuses) {
    const key = objectKey(s.kind, s.namespace, s.name);
    const object = objects.get(key);
    if (!object) continue; // compile() only reports objects it was given
    const objectStamp = stamp(uidOf(key), s.generation);
    const programmed = programmedCondition({
      key, stamp: objectStamp, generation: s.generation, accepted: isAccepted(s),
      inConfig: contents.get(key) === objectStamp, served: input.served, ledger: input.ledger,
    });
    const extra: StatusExtra = { generation: s.generation };
    if (s.kind === 'ModelRoute') {
      extra.backends = s.backends;
      const cap = input.usage && input.usage.reports > 0 ? (input.usage.capacity.get(`${s.namespace}/${s.name}`) ?? new Map()) : undefined;
      if (cap !== undefined && isAccepted(s)) extra.capacity = cap;
    }
    if (s.kind === 'Tenant') extra.keys = s.keys;
    const usage = input.usage;
    if (usage && usage.reports > 0 && isAccepted(s)) {
      if (s.kind === 'Tenant') extra.usage = tenantUsage(usage, `${s.namespace}/${s.name}`, object);
      if (s.kind === 'RateLimitPolicy') {
        const prefix = `${s.namespace}/${s.name}/`;
        let n = 0;
        for (const [id, count] of usage.throttled) if (id.startsWith(prefix)) n += count;
        extra.throttledToday = n;
        if (hasClusterRule(object)) extra.clusterScope = usage.perReplica ? 'PerReplica' : 'Shared';
      }
    }
    const current = object['status'];
    const { status, transitions } = desiredStatus(current, [...s.conditions, programmed], extra, input.now);
    updates.push({
      kind: s.kind, namespace: s.namespace, name: s.name, key, object, status,
      patchNeeded: statusPatchNeeded(current, status), transitions,
    });
  }
  return { config, references, updates };
}

function tenantUsage(view: UsageView, id: string, object: KubeObject): TenantUsageStatus {
  const u = view.tenants.get(id);
  const out: TenantUsageStatus = {
    requestsThisMinute: u?.requestsThisMinute ?? 0,
    tokensThisMinute: u?.tokensThisMinute ?? 0,
    requestsToday: u?.requestsToday ?? 0,
    tokensToday: u?.tokensToday ?? 0,
    throttledToday: u?.throttledToday ?? 0,
    updatedAt: view.updatedAt,
  };
  const limit = record(record(record(object['spec'])?.['quotas'])?.['budget'])?.['limit'];
  if (typeof limit === 'number') {
    // Cents of a cent are noise in a status line: 6 decimals, the precision spend is kept in.
    const spent = Math.round(u?.budgetSpentMicros ?? 0) / 1e6;
    out.budgetSpent = spent;
    out.budgetLeft = Math.max(0, Math.round((limit - spent) * 1e6) / 1e6);
  }
  return out;
}

function hasClusterRule(object: KubeObject): boolean {
  const rules = record(object['spec'])?.['rules'];
  return Array.isArray(rules) && rules.some((r) => record(r)?.['scope'] === 'Cluster');
}

function isAccepted(s: ObjectStatus): boolean {
  return s.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
}
