import { Pool } from 'undici';

/** One keep-alive connection pool per upstream origin and connect timeout, reused across config versions. */
export class PoolRegistry {
  private readonly pools = new Map<string, Pool>();
  private readonly used = new Set<string>();

  get(origin: string, connectTimeoutMs: number): Pool {
    const key = `${origin}|${connectTimeoutMs}`;
    this.used.add(key);
    let p = this.pools.get(key);
    if (!p) {
      p = new Pool(origin, {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: connectTimeoutMs },
      });
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
