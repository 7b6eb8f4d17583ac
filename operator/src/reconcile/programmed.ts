/**
 * Programmed: is the config that holds this object's current generation what the proxies
 * serve? The distribution side only reports version strings (content hashes), so the
 * operator remembers, for the last versions it compiled, which object generation each one
 * contains. The ledger is bounded: a proxy stuck on a version older than that simply counts
 * as not serving the object, which is the truth as far as anyone can tell.
 */

/** `Kind/namespace/name`. */
export type ObjectKey = string;

export function objectKey(kind: string, namespace: string, name: string): ObjectKey {
  return `${kind}/${namespace}/${name}`;
}

/**
 * What identifies "this generation of this object": the uid guards against a deleted and
 * re-created object whose generation starts at 1 again.
 */
export function stamp(uid: string | undefined, generation: number): string {
  return `${uid ?? ''}#${generation}`;
}

export const DEFAULT_LEDGER_SIZE = 64;

export class ConfigLedger {
  readonly #limit: number;
  readonly #versions = new Map<string, ReadonlyMap<ObjectKey, string>>();

  constructor(limit = DEFAULT_LEDGER_SIZE) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('ledger size must be a positive integer');
    this.#limit = limit;
  }

  /** Remembers what `version` contains (object key -> stamp); the oldest version is forgotten beyond the limit. */
  record(version: string, contents: ReadonlyMap<ObjectKey, string>): void {
    this.#versions.delete(version); // re-insert: most recently compiled last
    this.#versions.set(version, contents);
    while (this.#versions.size > this.#limit) {
      const oldest = this.#versions.keys().next().value;
      if (oldest === undefined) break;
      this.#versions.delete(oldest);
    }
  }

  contains(version: string, key: ObjectKey, objectStamp: string): boolean {
    return this.#versions.get(version)?.get(key) === objectStamp;
  }

  get size(): number {
    return this.#versions.size;
  }
}

export interface ProgrammedCondition {
  type: 'Programmed';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
}

export interface ProgrammedInput {
  key: ObjectKey;
  stamp: string;
  generation: number;
  /** Accepted=True for this generation. */
  accepted: boolean;
  /** The current compiled config contains this object (an accepted route whose backends all failed to resolve does not). */
  inConfig: boolean;
  /** proxy id -> version it serves, as reported by the distribution side. */
  served: ReadonlyMap<string, string>;
  ledger: ConfigLedger;
}

/**
 * True once every proxy connected to this operator serves a version that contains this
 * object's generation. With no proxy connected it is False (reason NoProxies), not Unknown:
 * nothing serves the object, and `kubectl wait --for=condition=Programmed` must not pass.
 */
export function programmedCondition(p: ProgrammedInput): ProgrammedCondition {
  const base = { type: 'Programmed' as const, observedGeneration: p.generation };
  if (!p.accepted) {
    return { ...base, status: 'False', reason: 'NotAccepted', message: 'Not part of the proxy config: see the Accepted condition.' };
  }
  if (!p.inConfig) {
    return { ...base, status: 'False', reason: 'NotInConfig', message: 'Not part of the proxy config: see the ResolvedRefs condition.' };
  }
  const total = p.served.size;
  if (total === 0) {
    return { ...base, status: 'False', reason: 'NoProxies', message: 'No proxy is connected to the operator, so nothing serves this generation yet.' };
  }
  let serving = 0;
  for (const version of p.served.values()) if (p.ledger.contains(version, p.key, p.stamp)) serving++;
  if (serving === total) {
    return { ...base, status: 'True', reason: 'Programmed', message: `Generation ${p.generation} is served by ${total} ${total === 1 ? 'proxy' : 'proxies'}.` };
  }
  return {
    ...base, status: 'False', reason: 'Pending',
    message: `Generation ${p.generation} is served by ${serving} of ${total} connected proxies; waiting for the others to load it.`,
  };
}
