import { performance } from 'node:perf_hooks';
import type { ProxyConfig } from '@jairouter/crds';
import { JwksRegistry } from '../auth/jwt.ts';
import { ActiveChecker } from '../health/active-checker.ts';
import { EngineScraper, type ScrapeHooks } from '../engine/scraper.ts';
import type { CapacityRow } from '../telemetry/capacity.ts';
import type { EndpointHealth } from '../health/endpoint-health.ts';
import type { Logger } from '../telemetry/logger.ts';
import { PoolRegistry } from '../upstream/pools.ts';
import { ModelDiscovery } from './model-discovery.ts';
import { Runtime } from './runtime.ts';

/**
 * Applies config versions: owns what outlives one version (connection pools, endpoint health,
 * the active health checker) and swaps in each new Runtime in one place. Requests hold on to
 * the Runtime they started with; `current` is what new requests get.
 */
export class RuntimeSwap {
  current: Runtime;
  private readonly health = new Map<string, EndpointHealth>();
  private readonly pools: PoolRegistry;
  private readonly checker: ActiveChecker;
  private readonly scraper: EngineScraper;
  private readonly replicas: () => number;
  /** What the backends of prefix routes serve, for GET /v1/models. */
  readonly discovery: ModelDiscovery;
  /** Token issuers' key sets, kept across versions so that a config change refetches nothing. */
  readonly jwks: JwksRegistry;
  private readonly log: Logger;
  /** Drops limit counters that are back to fresh, so idle keys do not accumulate. */
  private readonly sweeper: NodeJS.Timeout;
  /** The asynchronous applies, one after the other. */
  private building: Promise<unknown> = Promise.resolve();

  /**
   * `extras.onScrape` is told of each read of an engine's metrics; `extras.replicas` is the number
   * of proxy replicas the operator reports (LoadAware's estimate of what the others sent).
   */
  constructor(first: ProxyConfig, log: Logger, pools: PoolRegistry = new PoolRegistry(), extras: ScrapeHooks & { replicas?: () => number } = {}) {
    this.log = log;
    this.pools = pools;
    this.replicas = extras.replicas ?? (() => 1);
    const scrapeHooks = extras;
    this.checker = new ActiveChecker(log, (url) => pools.oneOff(url));
    this.scraper = new EngineScraper(log, (url) => pools.oneOff(url), scrapeHooks);
    this.discovery = new ModelDiscovery(log, (url) => pools.oneOff(url));
    this.jwks = new JwksRegistry({ log: (msg, fields) => log.warn(fields, msg) });
    this.current = this.build(first, null);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const l of this.current.limits.values()) l.sweep(now);
    }, 60_000);
    this.sweeper.unref();
  }

  /** Serves `config` from now on; state of unchanged endpoints and routes carries over. */
  apply(config: ProxyConfig): Runtime {
    this.current = this.build(config, this.current);
    return this.current;
  }

  /**
   * apply() without blocking the event loop for the whole build (Runtime.build yields every few
   * ms): what the proxy uses for every config after the first. Applies run one after the other,
   * in the order called; `current` changes once, when the new Runtime is complete.
   */
  applyAsync(config: ProxyConfig): Promise<Runtime> {
    const run = this.building.then(async () => {
      this.pools.beginBuild();
      const rt = await Runtime.build(config, this.health, this.pools, this.current, this.jwks, this.replicas);
      this.current = this.finish(rt, config);
      return this.current;
    });
    this.building = run.catch(() => undefined);
    return run;
  }

  private build(config: ProxyConfig, previous: Runtime | null): Runtime {
    this.pools.beginBuild();
    return this.finish(new Runtime(config, this.health, this.pools, previous, this.jwks, this.replicas), config);
  }

  /** What follows a build: pools and health the new version does not use go, probes follow it. */
  private finish(rt: Runtime, config: ProxyConfig): Runtime {
    this.pools.sweep();
    for (const [k, h] of this.health) if (h.lastSeenVersion !== config.version) this.health.delete(k);
    for (const s of rt.skipped) this.log.warn({ backend: s }, 'backend skipped: this proxy version has no adapter for it');
    this.checker.apply(rt);
    this.scraper.apply(rt);
    this.discovery.apply(rt);
    // Key sets of issuers no longer in the config stop refreshing.
    const uris: string[] = [];
    for (const list of rt.issuers.values()) for (const e of list) uris.push(...e.verifier.jwksUris);
    this.jwks.retainOnly(uris);
    return rt;
  }

  /** Every endpoint of the config being served, with whether it takes traffic now (for /metrics). */
  *endpoints(): Iterable<{ route: string; backend: string; endpoint: string; up: boolean }> {
    const now = performance.now();
    for (const r of this.current.routes) for (const e of r.endpoints) yield { route: r.id, backend: e.backend.name, endpoint: e.url, up: e.health.available(now) };
  }

  /** Every endpoint of the config being served, as the capacity metrics read it (telemetry/capacity.ts). */
  *capacity(): Iterable<CapacityRow> {
    const now = performance.now();
    for (const r of this.current.routes) {
      const staleAfterMs = 3 * (r.ir.engineMetrics?.intervalMs ?? 0);
      for (const e of r.endpoints) {
        const h = e.health;
        yield {
          route: r.id, backend: e.backend.name, endpoint: e.url, up: h.available(now), inflight: h.inflight, awaitingHeaders: h.awaitingHeaders,
          maxConcurrency: e.backend.ir.maxConcurrency, engine: h.engine, staleAfterMs,
        };
      }
    }
  }

  /** Active probes configured now (for tests). */
  get probes(): number {
    return this.checker.size;
  }

  /** Stops probing (on drain). */
  stopChecks(): void {
    clearInterval(this.sweeper);
    this.checker.stop();
    this.scraper.stop();
    this.discovery.stop();
    this.jwks.close();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.checker.stop();
    this.scraper.stop();
    this.discovery.stop();
    this.jwks.close();
    await this.pools.closeAll();
  }
}
