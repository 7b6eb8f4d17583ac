import { EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';

/** What an endpoint sends its requests through: a keep-alive pool, or the egress proxy. */
export type UpstreamDispatcher = Pick<Dispatcher, 'dispatch' | 'close'>;

export interface EgressProxyEnv {
  HTTP_PROXY?: string | undefined;
  HTTPS_PROXY?: string | undefined;
  http_proxy?: string | undefined;
  https_proxy?: string | undefined;
}

/** Whether HTTP_PROXY / HTTPS_PROXY (either case) is set: then upstream traffic goes through it. */
export function egressProxyConfigured(env: EgressProxyEnv = process.env): boolean {
  return !!(env.HTTP_PROXY || env.HTTPS_PROXY || env.http_proxy || env.https_proxy);
}

/**
 * One keep-alive connection pool per upstream origin and connect timeout, reused across config
 * versions. With HTTP_PROXY / HTTPS_PROXY set (clusters whose egress goes through a proxy),
 * every upstream request goes through undici's EnvHttpProxyAgent instead, which tunnels with
 * CONNECT and honours NO_PROXY (in-cluster model servers are usually listed there).
 */
export class PoolRegistry {
  private readonly pools = new Map<string, UpstreamDispatcher>();
  private readonly used = new Set<string>();
  private readonly viaProxy: boolean;

  constructor(viaProxy: boolean = egressProxyConfigured()) {
    this.viaProxy = viaProxy;
  }

  get(origin: string, connectTimeoutMs: number): UpstreamDispatcher {
    const key = `${origin}|${connectTimeoutMs}`;
    this.used.add(key);
    let p = this.pools.get(key);
    if (!p) {
      const opts = { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: connectTimeoutMs } };
      p = this.viaProxy ? throughProxy(origin, new EnvHttpProxyAgent(opts)) : new Pool(origin, opts);
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
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
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
