import type { UsageReport } from '@jairouter/crds';
import type { Logger } from 'pino';
import { FailureStreaks } from '../log-streak.ts';
import type { ServedEntry, ServedStore } from './served-store.ts';

/** What a replica knows by itself: the proxies connected to it (the snapshot server). */
export interface LocalServed {
  servedVersions(): ReadonlyMap<string, string>;
  onServedChange(cb: () => void): void;
  /** The usage reports its proxies sent it. */
  usageReports?(): ReadonlyMap<string, { report: UsageReport; at: number }>;
}

export interface ServedSyncOptions {
  local: LocalServed;
  store: ServedStore;
  /** This replica's key in the store (its pod name). */
  replica: string;
  log: Logger;
  /** Clock (ms epoch); Date.now by default. */
  now?: () => number;
  /** Wait after a local change before writing, so a burst of reports is one write (default 250). */
  debounceMs?: number;
  /** Rewrite the own entry this often even without change, so readers know it is alive (default 5 s). */
  heartbeatMs?: number;
  /** The leader reads the store this often (default 2 s). */
  pollMs?: number;
  /** Entries older than this are ignored: their replica is gone or cut off (default 15 s). */
  staleMs?: number;
}

export const SERVED_SYNC_DEFAULTS = { debounceMs: 250, heartbeatMs: 5_000, pollMs: 2_000, staleMs: 15_000 } as const;

/**
 * Served versions across replicas (ADR 3): every replica writes the versions its own proxies
 * serve into its key of the shared store; the leader, which alone writes status, reads every
 * key and sees the union, so Programmed counts the proxies connected to any replica. The
 * local map always wins for the replica's own proxies (it is fresher than any stored entry).
 */
export class ServedSync {
  readonly #o: ServedSyncOptions;
  readonly #now: () => number;
  readonly #cbs: Array<() => void> = [];
  #remote = new Map<string, ServedEntry>();
  #leader = false;
  #closed = false;
  #last = '';
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #reading: Promise<void> | undefined;

  readonly #streaks: FailureStreaks;

  constructor(o: ServedSyncOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#streaks = new FailureStreaks(o.log, { now: this.#now });
    o.local.onServedChange(() => {
      this.#scheduleWrite();
      this.#emitIfChanged();
    });
  }

  /** Writes the first entry and starts the heartbeat. */
  start(): void {
    if (this.#closed || this.#heartbeat) return;
    this.#heartbeat = setInterval(() => void this.flush(), this.#o.heartbeatMs ?? SERVED_SYNC_DEFAULTS.heartbeatMs);
    this.#heartbeat.unref?.();
    void this.flush();
  }

  /** Follows leadership (told by every publish()): only the leader reads the other replicas' entries. */
  setLeader(leader: boolean): void {
    if (this.#closed || leader === this.#leader) return;
    this.#leader = leader;
    if (leader) {
      this.#poll = setInterval(() => void this.refresh(), this.#o.pollMs ?? SERVED_SYNC_DEFAULTS.pollMs);
      this.#poll.unref?.();
      void this.refresh();
    } else {
      clearInterval(this.#poll);
      this.#poll = undefined;
      this.#remote = new Map();
      this.#emitIfChanged();
    }
  }

  /** The local map, plus on the leader every other replica's fresh entry. */
  servedVersions(): ReadonlyMap<string, string> {
    const local = this.#o.local.servedVersions();
    if (!this.#leader || this.#remote.size === 0) return local;
    const cutoff = this.#now() - (this.#o.staleMs ?? SERVED_SYNC_DEFAULTS.staleMs);
    // The newest entry wins when a proxy moved between replicas and the old one has not rewritten yet.
    const fresh = [...this.#remote].filter(([r, e]) => r !== this.#o.replica && e.updatedAt >= cutoff).sort((a, b) => a[1].updatedAt - b[1].updatedAt);
    const merged = new Map<string, string>();
    for (const [, e] of fresh) for (const [proxy, version] of Object.entries(e.proxies)) merged.set(proxy, version);
    for (const [proxy, version] of local) merged.set(proxy, version);
    return merged;
  }

  onServedChange(cb: () => void): void {
    this.#cbs.push(cb);
  }

  /**
   * The local reports, plus on the leader those of the other replicas' fresh entries; per proxy
   * the latest (a proxy's reports may reach any replica).
   */
  usageReports(): ReadonlyMap<string, { report: UsageReport; at: number }> {
    const local = this.#o.local.usageReports?.() ?? new Map<string, { report: UsageReport; at: number }>();
    if (!this.#leader || this.#remote.size === 0) return local;
    const cutoff = this.#now() - (this.#o.staleMs ?? SERVED_SYNC_DEFAULTS.staleMs);
    const merged = new Map(local);
    for (const [r, e] of this.#remote) {
      if (r === this.#o.replica || e.updatedAt < cutoff || !e.usage) continue;
      for (const [proxy, u] of Object.entries(e.usage)) {
        const have = merged.get(proxy);
        if (!have || have.at < u.at) merged.set(proxy, u);
      }
    }
    return merged;
  }

  /** Writes the own entry now (serialized, so an older entry never lands after a newer one). Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    if (this.#closed) return this.#writing;
    const run = this.#writing.then(async () => {
      if (this.#closed) return;
      const proxies = Object.fromEntries(this.#o.local.servedVersions());
      const usage = this.#o.local.usageReports?.();
      try {
        await this.#o.store.put(this.#o.replica, { updatedAt: this.#now(), proxies, ...(usage && usage.size > 0 && { usage: Object.fromEntries(usage) }) });
        this.#streaks.recovered('write', 'served versions written again');
      } catch (e) {
        this.#streaks.failed('write', 'cannot write the served versions; retrying', { err: (e as Error).message });
        this.#scheduleWrite(this.#o.pollMs ?? SERVED_SYNC_DEFAULTS.pollMs);
      }
    });
    this.#writing = run;
    return run;
  }

  /** Reads the store now (leader only) and notifies when the merged view changed. Never rejects. */
  refresh(): Promise<void> {
    if (!this.#leader || this.#closed) {
      this.#emitIfChanged(); // entries may have aged out
      return Promise.resolve();
    }
    this.#reading ??= (async () => {
      try {
        const entries = await this.#o.store.read();
        this.#streaks.recovered('read', 'served versions of the other replicas read again');
        if (this.#leader && !this.#closed) this.#remote = entries;
      } catch (e) {
        this.#streaks.failed('read', 'cannot read the served versions of the other replicas', { err: (e as Error).message });
      } finally {
        this.#reading = undefined;
      }
      this.#emitIfChanged();
    })();
    return this.#reading;
  }

  /** Stops the timers and removes the own entry, so the leader stops counting these proxies at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#heartbeat);
    clearInterval(this.#poll);
    await this.#writing;
    await this.#reading;
    try {
      await this.#o.store.remove(this.#o.replica);
    } catch (e) {
      this.#o.log.warn({ err: (e as Error).message }, 'cannot remove the served versions entry; it goes stale');
    }
  }

  #scheduleWrite(delay = this.#o.debounceMs ?? SERVED_SYNC_DEFAULTS.debounceMs): void {
    if (this.#closed || this.#debounce) return;
    this.#debounce = setTimeout(() => void this.flush(), delay);
    this.#debounce.unref?.();
  }

  #emitIfChanged(): void {
    const key = JSON.stringify([...this.servedVersions()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (key === this.#last) return;
    this.#last = key;
    for (const cb of this.#cbs) cb();
  }
}
