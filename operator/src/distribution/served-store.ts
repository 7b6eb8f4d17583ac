// Where replicas share which versions their own proxies serve (docs/distribution.md
// "Served versions across replicas"). Every replica owns one key; the leader reads them all.

import { UsageReport } from '@jairouter/crds';

/** One replica's report: when it was written (ms epoch) and the version each of its proxies serves. */
export interface ServedEntry {
  updatedAt: number;
  proxies: Record<string, string>;
  /** The usage reports its proxies sent it, with their arrival time (ms epoch), by proxy. */
  usage?: Record<string, { report: UsageReport; at: number }>;
}

export interface ServedStore {
  /** Writes `replica`'s entry, touching no other replica's. */
  put(replica: string, entry: ServedEntry): Promise<void>;
  /** Removes `replica`'s entry (nothing to do when there is none). */
  remove(replica: string): Promise<void>;
  /** Every replica's entry, by replica name (malformed entries left out). */
  read(): Promise<Map<string, ServedEntry>>;
}

/** Parses one stored value; undefined when it is not a well-formed entry (written by someone else, or by hand). */
function parseServedEntry(raw: string): ServedEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { updatedAt, proxies, usage } = v as { updatedAt?: unknown; proxies?: unknown; usage?: unknown };
  if (typeof updatedAt !== 'number' || !Number.isFinite(updatedAt) || typeof proxies !== 'object' || proxies === null) return undefined;
  const out: Record<string, string> = {};
  for (const [proxy, version] of Object.entries(proxies)) if (typeof version === 'string') out[proxy] = version;
  const entry: ServedEntry = { updatedAt, proxies: out };
  if (typeof usage === 'object' && usage !== null) {
    const reports: NonNullable<ServedEntry['usage']> = {};
    for (const [proxy, u] of Object.entries(usage as Record<string, { report?: unknown; at?: unknown }>)) {
      const r = UsageReport.safeParse(u?.report);
      if (r.success && typeof u.at === 'number') reports[proxy] = { report: r.data, at: u.at };
    }
    entry.usage = reports;
  }
  return entry;
}

/** Every well-formed entry of the stored values, by replica name. */
export function parseServedEntries(data: Iterable<[string, string]>): Map<string, ServedEntry> {
  const out = new Map<string, ServedEntry>();
  for (const [replica, raw] of data) {
    const entry = parseServedEntry(raw);
    if (entry) out.set(replica, entry);
  }
  return out;
}

/** In-memory ServedStore: one instance shared by several publishers stands for the ConfigMap in tests. */
export class MemoryServedStore implements ServedStore {
  readonly data = new Map<string, string>();
  async put(replica: string, entry: ServedEntry): Promise<void> {
    this.data.set(replica, JSON.stringify(entry));
  }
  async remove(replica: string): Promise<void> {
    this.data.delete(replica);
  }
  async read(): Promise<Map<string, ServedEntry>> {
    return parseServedEntries(this.data);
  }
}
