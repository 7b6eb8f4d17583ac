import { canonicalJson, isRecord } from '../canonical-json.ts';
import { DEFAULT_NAMESPACE, type KubeObject } from '../resources.ts';
import { compareStrings } from './order.ts';

/** What compile() needs to know about any object, read defensively from its metadata. */
export interface ObjectInfo {
  namespace: string;
  name: string;
  /** `namespace/name`. */
  id: string;
  /** metadata.generation; 0 when absent (objects read from files have none). */
  generation: number;
  /** creationTimestamp in ms since the epoch; undefined when absent or unparsable. */
  created: number | undefined;
}

export interface Entry {
  info: ObjectInfo;
  object: KubeObject;
}

export interface Prepared {
  /** One entry per distinct object, sorted by id. */
  entries: Entry[];
  /** Ids defined more than once with different contents; such objects are not used at all. */
  conflicting: ObjectInfo[];
}

function readInfo(object: KubeObject): ObjectInfo | undefined {
  const m = object['metadata'];
  if (!isRecord(m)) return undefined;
  const name = m['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = typeof m['namespace'] === 'string' && m['namespace'] !== '' ? m['namespace'] : DEFAULT_NAMESPACE;
  const gen = m['generation'];
  const ts = m['creationTimestamp'];
  const created = typeof ts === 'string' ? Date.parse(ts) : typeof ts === 'number' ? ts : NaN;
  return {
    namespace: ns,
    name,
    id: `${ns}/${name}`,
    generation: typeof gen === 'number' && Number.isSafeInteger(gen) && gen >= 0 ? gen : 0,
    created: Number.isFinite(created) ? created : undefined,
  };
}

/**
 * Puts objects into a canonical order (by id) so that compile() never depends on input
 * order. The Kubernetes API cannot hold two objects with one name, but files can: identical
 * copies collapse into one, differing copies are reported and neither is used, because
 * picking one would be arbitrary. Objects without a name cannot be addressed and are skipped
 * (parseResourcesYaml reports them).
 */
export function prepare(objects: readonly KubeObject[]): Prepared {
  const groups = new Map<string, { info: ObjectInfo; byJson: Map<string, KubeObject> }>();
  for (const object of objects) {
    const info = readInfo(object);
    if (!info) continue;
    let g = groups.get(info.id);
    if (!g) groups.set(info.id, (g = { info, byJson: new Map() }));
    g.byJson.set(canonicalJson(object), object);
  }
  const entries: Entry[] = [];
  const conflicting: ObjectInfo[] = [];
  for (const id of [...groups.keys()].sort(compareStrings)) {
    const g = groups.get(id)!;
    if (g.byJson.size > 1) {
      conflicting.push(g.info);
      continue;
    }
    const object = [...g.byJson.values()][0]!;
    entries.push({ info: readInfo(object)!, object });
  }
  return { entries, conflicting };
}

/** Older first; objects without a creationTimestamp after all others; ties by namespace/name. */
export function compareAge(a: ObjectInfo, b: ObjectInfo): number {
  if (a.created !== b.created) {
    if (a.created === undefined) return 1;
    if (b.created === undefined) return -1;
    return a.created - b.created;
  }
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

/** Why `winner` takes precedence over `loser`, for status messages. */
export function precedence(winner: ObjectInfo, loser: ObjectInfo): string {
  if (winner.created === undefined) return 'neither has a creationTimestamp; first by namespace/name';
  if (loser.created === undefined) return 'older; this one has no creationTimestamp';
  if (winner.created === loser.created) return 'equally old; first by namespace/name';
  return 'created earlier';
}

export function specOf(object: KubeObject): unknown {
  return object['spec'];
}
