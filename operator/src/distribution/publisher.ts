import type { ProxyConfig, UsageReport } from '@jairouter/crds';
import type { Logger } from 'pino';
import type { ServedSync } from './served-sync.ts';
import type { SnapshotServer } from './server.ts';
import type { SnapshotStore } from './stores.ts';
import type { TlsManager } from './tls-manager.ts';
import type { SnapshotPublisher } from './types.ts';

/**
 * SnapshotPublisher over the snapshot server (all replicas) and the snapshot Secret (leader
 * only). With `served`, servedVersions() on the leader also counts the proxies connected to
 * the other replicas (ADR 3), so the controller needs no change.
 */
export class DistributionPublisher implements SnapshotPublisher {
  private readonly server: SnapshotServer;
  private readonly store: SnapshotStore;
  private readonly tls: TlsManager;
  private readonly log: Logger;
  private readonly served: ServedSync | undefined;
  private written: string | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(deps: { server: SnapshotServer; store: SnapshotStore; tls: TlsManager; log: Logger; served?: ServedSync }) {
    this.server = deps.server;
    this.served = deps.served;
    this.store = deps.store;
    this.tls = deps.tls;
    this.log = deps.log;
  }

  /**
   * Pushes at once; then, on the leader, writes the Secret if this version is not the one
   * written last. A failed write rejects, so the caller retries; the push is not undone.
   */
  async publish(config: ProxyConfig, opts: { leader: boolean }): Promise<void> {
    this.server.setCurrent(config);
    // The controller calls publish() on every reconcile, and on every leadership change.
    this.served?.setLeader(opts.leader);
    if (!opts.leader) return;
    // Writes run one after another so an older snapshot never lands after a newer one.
    const run = this.writing.catch(() => {}).then(async () => {
      if (this.written === config.version) return;
      await this.store.write(config);
      this.written = config.version;
      this.log.info({ version: config.version }, 'snapshot Secret written');
    });
    this.writing = run;
    return run;
  }

  servedVersions(): ReadonlyMap<string, string> {
    return (this.served ?? this.server).servedVersions();
  }

  onServedChange(cb: () => void): void {
    (this.served ?? this.server).onServedChange(cb);
  }

  usageReports(): ReadonlyMap<string, { report: UsageReport; at: number }> {
    return (this.served ?? this.server).usageReports();
  }

  /** Where the snapshot stream listens (the port is the real one when 0 was asked for). */
  address(): { host: string; port: number } {
    return this.server.address();
  }

  /** Open snapshot streams on this replica. */
  get openStreams(): number {
    return this.server.streamCount;
  }

  /** The CA proxies must trust (PEM), as published in the ConfigMap. */
  caCert(): string {
    return this.tls.bundle?.caCert ?? '';
  }

  async close(): Promise<void> {
    this.tls.stop();
    await this.server.close();
    await this.served?.close(); // after the streams are gone: removes this replica's entry
    await this.writing.catch(() => {});
  }
}
