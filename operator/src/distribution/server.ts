import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  HEARTBEAT_INTERVAL_MS,
  NDJSON,
  PROXY_HEADER,
  ProxyName,
  SERVED_PATH,
  ServedReport,
  SNAPSHOTS_PATH,
  USAGE_PATH,
  USAGE_REPORT_INTERVAL_MS,
  UsageReport,
  type ErrorBody,
  type ProxyConfig,
} from '@jairouter/crds';
import type { ProxyAuthenticator } from './auth.ts';

export interface SnapshotServerOptions {
  authenticator: ProxyAuthenticator;
  tls: { key: string; cert: string };
  log: Logger;
  heartbeatMs?: number;
  /** Where to register the stream's metrics (the operator's /metrics registry); none when absent. */
  registry?: Registry;
  /** Proxies running across every operator replica (the shared served versions); default: this replica's streams. */
  proxyCount?: () => number;
}

const MAX_REPORT_BYTES = 16 * 1024;
/** A usage report lists every active tenant and limit of the proxy. */
const MAX_USAGE_BYTES = 4 * 1024 * 1024;
/** The heartbeat also tells proxies how many of them there are: they split Cluster limits by it while Redis is down. */
const heartbeatLine = (proxies: number) => `{"type":"heartbeat","proxies":${proxies}}\n`;

/**
 * The HTTPS side of distribution (protocol in crds/src/snapshot-protocol.ts): streams the
 * current snapshot to every subscribed proxy and records the version each proxy reports.
 * The snapshot line is serialised once per version, not once per proxy.
 */
/**
 * The snapshot stream's series (requests, pushes, propagation time, open streams), declared in
 * one place: the server registers them, and docs/metrics.md is generated from them.
 */
export function distributionMetrics(registers: Registry[], streams: () => number): { requests: Counter<'path' | 'code'>; pushes: Counter; propagation: Histogram } {
  const requests = new Counter({
    name: 'jairouter_operator_snapshot_requests_total', help: 'Requests to the snapshot stream server, by path and status code.',
    labelNames: ['path', 'code'] as const, registers,
  });
  const pushes = new Counter({ name: 'jairouter_operator_snapshot_pushes_total', help: 'Snapshot lines written to proxy streams.', registers });
  const propagation = new Histogram({
    name: 'jairouter_operator_config_propagation_seconds',
    help: 'From a config version being written on a proxy\'s stream (its publication, or the proxy subscribing later) to that proxy reporting it serves it; one observation per proxy and version, on the replica holding the stream.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers,
  });
  new Gauge({
    name: 'jairouter_operator_snapshot_streams', help: 'Open snapshot streams on this replica.', registers,
    collect() {
      this.set(streams());
    },
  });
  return { requests, pushes, propagation };
}

/** The operator's certificates' expiry, read at scrape time (null before the first bundle). */
export function certificateExpiryGauge(registers: Registry[], expiry: () => { ca: number; serving: number } | null): void {
  const gauge: Gauge<'certificate'> = new Gauge({
    name: 'jairouter_operator_certificate_expiry_timestamp_seconds',
    help: 'When the snapshot stream\'s certificates in use expire (Unix time), by certificate: `ca` (the CA proxies trust) and `serving`; the operator renews both well before (CA 400 days, serving certificate 30 days), so an expiry this close means renewal is failing.',
    labelNames: ['certificate'] as const,
    registers,
    collect: (): void => {
      const e = expiry();
      if (!e) return;
      gauge.labels('ca').set(e.ca / 1000);
      gauge.labels('serving').set(e.serving / 1000);
    },
  });
}

export class SnapshotServer {
  private readonly server: Server;
  private readonly opts: SnapshotServerOptions;
  private readonly log: Logger;
  private current: { version: string; line: string } | null = null;
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private readonly served = new Map<string, string>();
  /** The latest usage report of each proxy that sent one here, with when it arrived (ms epoch). */
  private readonly usage = new Map<string, { report: UsageReport; at: number }>();
  private readonly servedListeners: (() => void)[] = [];
  private readonly heartbeat: NodeJS.Timeout;
  private readonly requests: Counter<'path' | 'code'>;
  private readonly pushes: Counter;
  private readonly propagation: Histogram;
  /**
   * Per proxy: the version last written on its stream that it has not reported serving yet, and
   * when it was written (performance.now()). Entries of proxies without a stream are dropped at
   * the next publish, so the map holds at most the proxies streaming plus those gone since.
   */
  private readonly unconfirmed = new Map<string, { version: string; sentAt: number }>();

  constructor(opts: SnapshotServerOptions) {
    this.opts = opts;
    this.log = opts.log;
    const m = distributionMetrics(opts.registry ? [opts.registry] : [], () => this.streamCount);
    this.requests = m.requests;
    this.pushes = m.pushes;
    this.propagation = m.propagation;
    this.server = createServer({ key: opts.tls.key, cert: opts.tls.cert, requestTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
      this.handle(req, res).catch((e: Error) => {
        this.log.error({ err: e.message }, 'snapshot request failed');
        if (!res.headersSent) this.error(res, 500, 'internal', 'internal error');
        else res.destroy();
      });
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** New connections use this certificate from now on; open streams keep theirs. */
  setTls(tls: { key: string; cert: string }): void {
    this.server.setSecureContext({ key: tls.key, cert: tls.cert });
  }

  /** Makes `config` current and pushes it to every stream (nothing happens for the same version). */
  setCurrent(config: ProxyConfig): void {
    if (this.current?.version === config.version) return;
    this.current = { version: config.version, line: JSON.stringify({ type: 'snapshot', config }) + '\n' };
    for (const proxy of this.unconfirmed.keys()) if (!this.streams.has(proxy)) this.unconfirmed.delete(proxy);
    let n = 0;
    for (const [proxy, set] of this.streams) {
      for (const res of set) {
        if (this.sendSnapshot(proxy, res)) n++;
      }
    }
    this.pushes.inc(n);
    this.log.info({ version: config.version, streams: n }, 'snapshot published');
  }

  servedVersions(): ReadonlyMap<string, string> {
    return this.served;
  }

  /** A heartbeat on every stream. One still holding unsent bytes needs none: the data is on its way. */
  private beat(): void {
    const line = heartbeatLine(this.proxyCount());
    for (const set of this.streams.values()) for (const res of set) if (!res.writableNeedDrain) res.write(line);
  }

  /** Proxies known to be running: every replica's (opts.proxyCount), at least those streaming from this one. */
  proxyCount(): number {
    return Math.max(this.streams.size, this.opts.proxyCount?.() ?? 0, 1);
  }

  onServedChange(cb: () => void): void {
    this.servedListeners.push(cb);
  }

  /** Usage reports received here in the last 3 report intervals, by proxy (older ones are dropped). */
  usageReports(now = Date.now()): ReadonlyMap<string, { report: UsageReport; at: number }> {
    for (const [proxy, u] of this.usage) if (now - u.at > 3 * USAGE_REPORT_INTERVAL_MS) this.usage.delete(proxy);
    return this.usage;
  }

  /** Number of open streams (for tests and metrics). */
  get streamCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const set of this.streams.values()) for (const res of set) res.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /**
   * A proxy that has not read the previous snapshot yet (stopped, or a clogged network) would
   * make the operator buffer every later version for it: close its stream instead; it
   * reconnects with the version it holds and gets only the latest.
   */
  private sendSnapshot(proxy: string, res: ServerResponse): boolean {
    if (res.writableNeedDrain) {
      this.log.warn({ buffered: res.writableLength }, 'proxy not reading its stream: closing it');
      res.destroy();
      return false;
    }
    const { version, line } = this.current!;
    res.write(line);
    // A second stream of the same proxy (or a resend) keeps the first time the version went out.
    if (this.unconfirmed.get(proxy)?.version !== version) this.unconfirmed.set(proxy, { version, sentAt: performance.now() });
    return true;
  }

  private setServed(proxy: string, version: string | undefined): void {
    const sent = this.unconfirmed.get(proxy);
    if (sent && sent.version === version) {
      this.propagation.observe((performance.now() - sent.sentAt) / 1000);
      this.unconfirmed.delete(proxy);
    }
    const before = this.served.get(proxy);
    if (version === undefined) this.served.delete(proxy);
    else this.served.set(proxy, version);
    if (before !== version) for (const cb of this.servedListeners) cb();
  }

  private error(res: ServerResponse, status: number, error: string, message: string): void {
    this.requests.labels(this.pathLabel(res), String(status)).inc();
    const body: ErrorBody = { error, message };
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** Known paths only, so clients cannot make up label values. */
  private pathLabel(res: ServerResponse): string {
    const p = (res.req.url ?? '').split('?', 1)[0];
    return p === SNAPSHOTS_PATH || p === SERVED_PATH || p === USAGE_PATH ? p : 'other';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://operator');
    const route = url.pathname === SNAPSHOTS_PATH ? 'GET' : url.pathname === SERVED_PATH || url.pathname === USAGE_PATH ? 'POST' : null;
    if (!route) return this.error(res, 404, 'not_found', `no such path: use GET ${SNAPSHOTS_PATH}, POST ${SERVED_PATH} or POST ${USAGE_PATH}`);
    if (req.method !== route) {
      res.setHeader('allow', route);
      return this.error(res, 405, 'method_not_allowed', `${url.pathname} takes ${route}`);
    }
    const name = ProxyName.safeParse(req.headers[PROXY_HEADER]);
    if (!name.success) return this.error(res, 400, 'bad_request', `header ${PROXY_HEADER} must name the proxy's pod`);
    const proxy = name.data;
    const auth = await this.opts.authenticator.check(req.headers.authorization, proxy);
    if (!auth.ok) {
      this.log.warn({ proxy, status: auth.status, reason: auth.message, remote: req.socket.remoteAddress }, 'proxy refused');
      if (auth.status === 401) res.setHeader('www-authenticate', 'Bearer');
      return this.error(res, auth.status, auth.error, auth.message);
    }
    if (route === 'GET') return this.subscribe(proxy, url.searchParams.get('have') ?? '', res);
    if (url.pathname === USAGE_PATH) return this.reportUsage(proxy, req, res);
    return this.report(proxy, req, res);
  }

  /** A proxy's consumption counts; any replica takes them (replicas share them, served-sync.ts). */
  private async reportUsage(proxy: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readJson(req, res, MAX_USAGE_BYTES);
    if (body === undefined) return;
    const r = UsageReport.safeParse(body);
    if (!r.success) return this.error(res, 400, 'bad_request', `bad usage report: ${r.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (r.data.proxy !== proxy) return this.error(res, 400, 'bad_request', `report is for ${r.data.proxy} but ${PROXY_HEADER} says ${proxy}`);
    this.usage.set(proxy, { report: r.data, at: Date.now() });
    this.requests.labels(USAGE_PATH, '204').inc();
    res.writeHead(204).end();
  }

  /** The request body as JSON; undefined after answering 400 (too large or not JSON). */
  private async readJson(req: IncomingMessage, res: ServerResponse, max: number): Promise<unknown> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        this.error(res, 400, 'bad_request', 'report too large');
        return undefined;
      }
      chunks.push(c);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      this.error(res, 400, 'bad_request', 'body must be JSON');
      return undefined;
    }
  }

  private subscribe(proxy: string, have: string, res: ServerResponse): void {
    this.requests.labels(SNAPSHOTS_PATH, '200').inc();
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    let set = this.streams.get(proxy);
    if (!set) this.streams.set(proxy, (set = new Set()));
    set.add(res);
    this.log.info({ proxy, have: have || null, streams: set.size }, 'proxy subscribed');
    if (have) this.setServed(proxy, have);
    if (this.current && this.current.version !== have && this.sendSnapshot(proxy, res)) this.pushes.inc();
    // Every proxy learns at once that there is one more (they split Cluster limits by the count).
    this.beat();
    res.once('close', () => {
      set.delete(res);
      if (set.size === 0 && this.streams.get(proxy) === set) {
        this.streams.delete(proxy);
        this.setServed(proxy, undefined);
      }
      this.log.info({ proxy }, 'proxy unsubscribed');
    });
  }

  private async report(proxy: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_REPORT_BYTES) return this.error(res, 400, 'bad_request', 'report too large');
      chunks.push(c);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return this.error(res, 400, 'bad_request', 'body must be JSON {"proxy": ..., "version": ...}');
    }
    const r = ServedReport.safeParse(body);
    if (!r.success) return this.error(res, 400, 'bad_request', `bad report: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (r.data.proxy !== proxy) return this.error(res, 400, 'bad_request', `report is for ${r.data.proxy} but ${PROXY_HEADER} says ${proxy}`);
    // A proxy without an open stream here is not counted (nothing would ever drop it): behind a
    // Service its report can reach another replica than its stream. 409 tells it to report by
    // reopening its stream with `have=<version>`, which lands wherever it lands and counts.
    if (!this.streams.has(proxy)) return this.error(res, 409, 'no_stream', `this replica holds no stream of ${proxy}: reopen the stream with have=${r.data.version}`);
    this.setServed(proxy, r.data.version);
    this.requests.labels(SERVED_PATH, '204').inc();
    res.writeHead(204).end();
  }
}
