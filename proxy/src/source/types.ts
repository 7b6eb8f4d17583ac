import type { ProxyConfig } from '@jairouter/crds';

/** Serves a config from now on; a Promise when the build takes a few turns of the loop (RuntimeSwap.applyAsync). */
export type ApplyConfig = (config: ProxyConfig) => void | Promise<void>;

/**
 * Where the proxy's config comes from: YAML files compiled in-process (standalone mode) or,
 * in a cluster, snapshots pushed by the operator. Nothing downstream knows which.
 */
export interface ConfigSource {
  /**
   * Loads the first config and starts watching for changes; `apply` is called with every later
   * config that should replace the one being served. Rejects with a message for the user when
   * there is nothing to serve.
   */
  start(apply: ApplyConfig): Promise<ProxyConfig>;
  stop(): void;
}
