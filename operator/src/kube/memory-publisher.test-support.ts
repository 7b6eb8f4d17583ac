import type { ProxyConfig } from '@jairouter/crds';
import type { SnapshotPublisher } from '../distribution/types.ts';

/** The distribution side in memory: proxies "serve" whatever the test says. */
export class MemoryPublisher implements SnapshotPublisher {
  published: { version: string; leader: boolean }[] = [];
  served = new Map<string, string>();
  #cbs: (() => void)[] = [];
  last: ProxyConfig | undefined;
  async publish(config: ProxyConfig, opts: { leader: boolean }) {
    this.last = config;
    this.published.push({ version: config.version, leader: opts.leader });
  }
  servedVersions() {
    return this.served;
  }
  onServedChange(cb: () => void) {
    this.#cbs.push(cb);
  }
  /** Every proxy loads the latest config. */
  proxiesServeLatest(...ids: string[]) {
    for (const id of ids) this.served.set(id, this.last!.version);
    for (const cb of this.#cbs) cb();
  }
  async close() {}
}
