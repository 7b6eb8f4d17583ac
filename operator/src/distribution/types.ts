import type { ProxyConfig, UsageReport } from '@jairouter/crds';

/**
 * The seam between reconciliation (operator/src/kube, main.ts) and distribution
 * (operator/src/distribution): the reconciler hands every compiled config over; the
 * distribution side streams it to the proxies, keeps the snapshot Secret (leader only), and
 * reports which version each proxy serves, which drives the Programmed condition.
 */
export interface SnapshotPublisher {
  /** Makes `config` the snapshot pushed to every subscribed proxy; the leader also writes the snapshot Secret. */
  publish(config: ProxyConfig, opts: { leader: boolean }): Promise<void>;
  /** The version each connected proxy reports serving, by proxy id (pod name). */
  servedVersions(): ReadonlyMap<string, string>;
  /** Called whenever servedVersions() changes. */
  onServedChange(cb: () => void): void;
  /** The latest fresh usage report of each proxy (every replica's, on the leader), with its arrival time. */
  usageReports?(): ReadonlyMap<string, { report: UsageReport; at: number }>;
  close(): Promise<void>;
}
