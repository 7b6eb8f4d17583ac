import { BlockList, isIP } from 'node:net';
import { EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';

/** What an endpoint sends its requests through: a keep-alive pool, or the egress proxy. */
export type UpstreamDispatcher = Pick<Dispatcher, 'dispatch' | 'close'>;

export interface EgressProxyEnv {
  HTTP_PROXY?: string | undefined;
  HTTPS_PROXY?: string | undefined;
  http_proxy?: string | undefined;
  https_proxy?: string | undefined;
  NO_PROXY?: string | undefined;
  no_proxy?: string | undefined;
}

/** Whether HTTP_PROXY / HTTPS_PROXY (either case) is set: then upstream traffic goes through it. */
function egressProxyConfigured(env: EgressProxyEnv = process.env): boolean {
  return !!(env.HTTP_PROXY || env.HTTPS_PROXY || env.http_proxy || env.https_proxy);
}

/**
 * The CIDR ranges of NO_PROXY (`10.0.0.0/8`, `fd00::/8`), which undici's own NO_PROXY matching
 * does not know: Pod IPs of `serviceRef` backends cannot be listed one by one.
 */
function noProxyRanges(env: EgressProxyEnv = process.env): BlockList {
  const list = new BlockList();
  for (const entry of (env.no_proxy ?? env.NO_PROXY ?? '').split(/[,\s]/)) {
    const m = /^\[?([0-9a-fA-F.:]+)\]?\/(\d{1,3})$/.exec(entry);
    const family = m ? isIP(m[1]!) : 0;
    if (family !== 0) list.addSubnet(m![1]!, Number(m![2]), family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether the URL's host is an IP address inside one of the ranges. */
function inRanges(ranges: BlockList, url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[(.+)\]$/, '$1');
  const family = isIP(host);
  return family !== 0 && ranges.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** Connections open at once to one upstream origin unless `--upstream-max-connections` says otherwise. */
export const DEFAULT_MAX_CONNECTIONS = 256;

/**
 * One keep-alive connection pool per upstream origin and connect timeout, reused across config
 * versions. With HTTP_PROXY / HTTPS_PROXY set (clusters whose egress goes through a proxy),
 * upstream requests go through undici's EnvHttpProxyAgent instead, which honours NO_PROXY host
 * entries; origins whose IP falls in a NO_PROXY CIDR range keep a direct pool.
 */
export class PoolRegistry {
  private readonly pools = new Map<string, UpstreamDispatcher>();
  private readonly used = new Set<string>();
  private readonly viaProxy: boolean;
  private readonly direct: BlockList;
  /** For one-off requests (health probes), when an egress proxy is configured. */
  private readonly egress: EnvHttpProxyAgent | undefined;
  /** undici's `connections`: the most open at once per origin (null = no cap). */
  private readonly maxConnections: number | null;

  /** `maxConnections` (DEFAULT_MAX_CONNECTIONS, `--upstream-max-connections`): beyond it requests wait in the pool's queue. */
  constructor(env: EgressProxyEnv = process.env, opts: { maxConnections?: number | null } = {}) {
    this.maxConnections = opts.maxConnections === undefined ? DEFAULT_MAX_CONNECTIONS : opts.maxConnections;
    this.viaProxy = egressProxyConfigured(env);
    this.direct = noProxyRanges(env);
    this.egress = this.viaProxy ? new EnvHttpProxyAgent() : undefined;
  }

  /** Whether requests to this URL go through the egress proxy (set, and no NO_PROXY CIDR covers it). */
  private proxied(url: string): boolean {
    return this.viaProxy && !inRanges(this.direct, url);
  }

  /** The dispatcher for a one-off request to `url` taking the same way out as traffic; undefined = undici's default. */
  oneOff(url: string): Dispatcher | undefined {
    return this.proxied(url) ? this.egress : undefined;
  }

  get(origin: string, connectTimeoutMs: number): UpstreamDispatcher {
    const key = `${origin}|${connectTimeoutMs}`;
    this.used.add(key);
    let p = this.pools.get(key);
    if (!p) {
      const opts = { connections: this.maxConnections, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: connectTimeoutMs } };
      p = this.proxied(origin) ? throughProxy(origin, new EnvHttpProxyAgent(opts)) : new Pool(origin, opts);
      this.pools.set(key, p);
    }
    return p;
  }

  /** Call before building a new Runtime: pools not requested again are closed by `sweep()`. */
  beginBuild(): void {
    this.used.clear();
  }

  /** Closes pools the current config no longer uses; their in-flight requests still finish. */
  sweep(): void {
    for (const [key, p] of this.pools) {
      if (!this.used.has(key)) {
        this.pools.delete(key);
        void p.close().catch(() => {});
      }
    }
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.pools.values(), ...(this.egress ? [this.egress] : [])].map((p) => p.close()));
    this.pools.clear();
  }
}

/** An agent bound to one origin: requests are dispatched as to a Pool (path only). */
function throughProxy(origin: string, agent: EnvHttpProxyAgent): UpstreamDispatcher {
  return {
    dispatch: (opts, handler) => agent.dispatch({ ...opts, origin }, handler),
    close: (() => agent.close()) as UpstreamDispatcher['close'],
  };
}
