// A stand-in for a load balancer in front of proxy replicas that watches their readiness: an L7
// forwarder (HTTP/1.1 keep-alive pools to each replica, as nginx, an ALB or Envoy keep) that
// polls every replica's GET /readyz and sends requests only to those answering 200, round-robin.
// It never retries: a request that fails on a replica fails for the client, which is what a
// rolling restart must not cause.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool, request } from 'undici';

export interface BalancedReplica {
  name: string;
  /** API base URL (http://127.0.0.1:PORT). */
  baseUrl: string;
  adminUrl: string;
}

interface Member extends BalancedReplica {
  pool: Pool;
  ready: boolean;
  /** Requests sent to it. */
  sent: number;
  removed: boolean;
}

export interface ReadinessBalancer {
  /** http://127.0.0.1:PORT, in front of every ready replica. */
  url: string;
  add(r: BalancedReplica): void;
  remove(name: string): Promise<void>;
  /** Whether the last poll found `name` ready. */
  isReady(name: string): boolean;
  /** Requests sent to each replica ever added, removed ones included. */
  sent(name: string): number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host']);

function endToEnd(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

export async function startReadinessBalancer(opts: { pollMs?: number } = {}): Promise<ReadinessBalancer> {
  const pollMs = opts.pollMs ?? 100;
  const members: Member[] = [];
  let next = 0;

  const poll = async (m: Member): Promise<void> => {
    let ok = false;
    try {
      const res = await request(`${m.adminUrl}/readyz`, { headersTimeout: 500, bodyTimeout: 500 });
      await res.body.dump();
      ok = res.statusCode === 200;
    } catch {
      ok = false;
    }
    m.ready = ok && !m.removed;
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void Promise.all(members.filter((m) => !m.removed).map(poll)).finally(() => (polling = false));
  }, pollMs);

  const server: Server = createServer((req, res) => {
    const ready = members.filter((m) => m.ready);
    if (ready.length === 0) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no ready replica');
      return;
    }
    const m = ready[next++ % ready.length]!;
    m.sent++;
    void m.pool
      .request({ method: req.method as 'POST', path: req.url!, headers: endToEnd(req.headers), body: req })
      .then(async (up) => {
        res.writeHead(up.statusCode, endToEnd(up.headers));
        await pipeline(up.body, res);
      })
      .catch((e: Error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`balancer: ${m.name}: ${e.message}`);
        else res.destroy(e);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    add(r) {
      members.push({ ...r, pool: new Pool(r.baseUrl, { connections: 64, keepAliveTimeout: 30_000 }), ready: false, sent: 0, removed: false });
    },
    async remove(name) {
      const m = members.find((x) => x.name === name && !x.removed);
      if (!m) return;
      m.removed = true;
      m.ready = false;
      await m.pool.close();
    },
    isReady: (name) => members.find((m) => m.name === name)?.ready ?? false,
    sent: (name) => members.find((m) => m.name === name)?.sent ?? 0,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(members.splice(0).map((m) => m.pool.destroy()));
    },
  };
}
