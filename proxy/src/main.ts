import { performance } from 'node:perf_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '@jairouter/crds';
import { parseOptions, UsageError, USAGE, type ProxyOptions } from './config.ts';
import { ActiveChecker } from './health/active-checker.ts';
import type { EndpointHealth } from './health/endpoint-health.ts';
import { createAdminServer } from './http/admin.ts';
import { createHandler } from './http/server.ts';
import { clientErrorResponse, readTimedOut } from './http/errors.ts';
import { Runtime } from './runtime/runtime.ts';
import { FileSource } from './source/file-source.ts';
import { OperatorSource } from './source/operator-source.ts';
import type { ConfigSource } from './source/types.ts';
import { createLogging, type Logger } from './telemetry/logger.ts';
import { ProxyMetrics } from './telemetry/metrics.ts';
import { PoolRegistry } from './upstream/pools.ts';

let opts: ProxyOptions;
try {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  opts = parsed;
} catch (e) {
  console.error(`jairouter-proxy: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}

const logging = createLogging(opts.logLevel);
const log = logging.log;
const metrics = new ProxyMetrics();
const health = new Map<string, EndpointHealth>();
const pools = new PoolRegistry();
const checker = new ActiveChecker(log, (url) => pools.oneOff(url));
metrics.endpoints = function* () {
  const now = performance.now();
  for (const r of runtime.routes) for (const e of r.endpoints) yield { route: r.id, backend: e.backend.name, endpoint: e.url, up: e.health.available(now) };
};
let draining = false;

function build(config: ProxyConfig, previous: Runtime | null): Runtime {
  pools.beginBuild();
  const rt = new Runtime(config, health, pools, previous);
  pools.sweep();
  for (const [k, h] of health) if (h.lastSeenVersion !== config.version) health.delete(k);
  for (const s of rt.skipped) log.warn({ backend: s }, 'backend skipped: this proxy version has no adapter for it');
  checker.apply(rt);
  return rt;
}

function summary(rt: Runtime): Record<string, unknown> {
  return { version: rt.config.version, routes: rt.routes.length, tenants: rt.tenants.length };
}

const operatorSource = opts.operator ? new OperatorSource({ ...opts.operator, log }) : null;
const source: ConfigSource = operatorSource ?? new FileSource(opts.configPaths, log, metrics);

function apply(config: ProxyConfig): void {
  if (draining) return;
  runtime = build(config, runtime);
  metrics.configReloads.labels('applied').inc();
  log.info(summary(runtime), 'config applied');
}

const firstConfig = await source.start(apply).catch((e: Error) => {
  for (const line of e.message.split('\n')) console.error(`jairouter-proxy: ${line}`);
  process.exit(1);
});
let runtime = build(firstConfig, null);
// With --operator, start() may give an empty placeholder when neither the snapshot file nor the
// operator answered in time: the proxy then listens but is not ready until a snapshot arrives.
const configured = () => operatorSource?.hasConfig() ?? true;
if (configured()) {
  metrics.configReloads.labels('applied').inc();
  log.info(summary(runtime), 'config applied');
  if (runtime.tenants.length === 0) log.warn('no Tenant is configured: every request will get 401');
}

const handler = createHandler({
  current: () => runtime,
  draining: () => draining,
  maxBodyBytes: opts.maxBodyBytes,
  logging,
  metrics,
});
const api = createServer(
  {
    keepAliveTimeout: 65_000,
    requestTimeout: opts.requestReadTimeoutMs,
    headersTimeout: Math.min(60_000, opts.requestReadTimeoutMs),
    // How often node:http looks for requests past those limits (its default is 30 s).
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, opts.requestReadTimeoutMs / 10)),
  },
  handler,
);
api.on('clientError', (err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } | null }) => {
  // A peer that reset the connection, a closed socket, or one whose response has begun (a raw
  // status line would land inside it; node's own handler checks the same) gets nothing more.
  if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) return void socket.destroy();
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') readTimedOut.add(socket);
  socket.end(clientErrorResponse(err));
});
const admin = createAdminServer({ metrics, ready: () => ({ ready: !draining && configured(), configVersion: runtime.config.version }) });

await Promise.all([listen(api, opts.listen), listen(admin, opts.adminListen)]).catch((e: Error) => {
  console.error(`jairouter-proxy: cannot listen: ${e.message}`);
  process.exit(1);
});
log.info({ listen: url(api), admin: url(admin) }, 'proxy listening');

function listen(s: Server, a: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(a.port, a.host, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function url(s: Server): string {
  const a = s.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

async function shutdown(signal: string, logger: Logger): Promise<void> {
  if (draining) return;
  draining = true;
  logger.info({ signal, drainTimeoutMs: opts.drainTimeoutMs }, 'draining');
  source.stop();
  checker.stop();
  api.close();
  const deadline = Date.now() + opts.drainTimeoutMs;
  // Connections finishing their last response become idle: close them as they do.
  while (Date.now() < deadline) {
    api.closeIdleConnections();
    if (metrics.inflightCount === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  api.closeAllConnections();
  admin.close();
  admin.closeAllConnections();
  await pools.closeAll();
  logger.info('stopped');
  logger.flush();
  setTimeout(() => process.exit(0), 50).unref();
}
process.on('SIGTERM', () => void shutdown('SIGTERM', log));
process.on('SIGINT', () => void shutdown('SIGINT', log));
