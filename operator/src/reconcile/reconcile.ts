import { compile, type BackendStatus, type KubeObject, type ObjectStatus, type ProxyConfig, type Resources } from '@jairouter/crds';
import { objectKey, programmedCondition, stamp, type ConfigLedger, type ObjectKey } from './programmed.ts';
import { idOf, record, selectResources, type References } from './references.ts';
import { desiredStatus, statusPatchNeeded, type ConditionTransition, type ObjectStatusBody } from './status.ts';

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

  // What this version contains: the routes and tenants that made it into the config. No
  // RateLimitPolicy is accepted yet (NotImplemented), so none is contained.
  const contents = new Map<ObjectKey, string>();
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
    const extra: { generation: number; backends?: BackendStatus[]; keys?: number } = { generation: s.generation };
    if (s.kind === 'ModelRoute') extra.backends = s.backends;
    if (s.kind === 'Tenant') extra.keys = s.keys;
    const current = object['status'];
    const { status, transitions } = desiredStatus(current, [...s.conditions, programmed], extra, input.now);
    updates.push({
      kind: s.kind, namespace: s.namespace, name: s.name, key, object, status,
      patchNeeded: statusPatchNeeded(current, status), transitions,
    });
  }
  return { config, references, updates };
}

function isAccepted(s: ObjectStatus): boolean {
  return s.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
}
