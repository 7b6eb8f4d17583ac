import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyConfig } from '@jairouter/crds';
import { parseOptions, UsageError, USAGE, type ProxyOptions } from './config.ts';
import { ActiveChecker } from './health/active-checker.ts';
import type { EndpointHealth } from './health/endpoint-health.ts';
import { createAdminServer } from './http/admin.ts';
import { createHandler } from './http/server.ts';
import { Runtime } from './runtime/runtime.ts';
import { compileInWorker, type CompileOutcome } from './source/compile-client.ts';
import { watchPaths } from './source/watch.ts';
import { createLogger, type Logger } from './telemetry/logger.ts';
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

const log = createLogger(opts.logLevel);
const metrics = new ProxyMetrics();
const health = new Map<string, EndpointHealth>();
const pools = new PoolRegistry();
const checker = new ActiveChecker(log, (route, backend, url, up) => metrics.endpointHealthy.labels(route, backend, url).set(up ? 1 : 0));
let draining = false;

function build(config: ProxyConfig): Runtime {
  pools.beginBuild();
  const rt = new Runtime(config, health, pools);
  pools.sweep();
  for (const [k, h] of health) if (h.lastSeenVersion !== config.version) health.delete(k);
  for (const s of rt.skipped) log.warn({ backend: s }, 'backend skipped: this proxy version has no adapter for it');
  checker.apply(rt);
  return rt;
}

function logRejected(result: CompileOutcome, level: 'warn' | 'error'): void {
  for (const s of result.statuses) {
    for (const c of s.conditions) {
      if (c.status === 'False') log[level]({ kind: s.kind, namespace: s.namespace, name: s.name, reason: c.reason, message: c.message }, 'object rejected');
    }
  }
}

function summary(rt: Runtime): Record<string, unknown> {
  return { version: rt.config.version, routes: rt.routes.length, tenants: rt.tenants.length };
}

// Initial load: unreadable or unparsable files stop the start; objects that do not compile
// are logged and left out while the rest is served.
const first = await compileInWorker({ paths: opts.configPaths, served: [] }).catch((e: Error) => {
  console.error(`jairouter-proxy: cannot compile the config: ${e.message}`);
  process.exit(1);
});
if (first.errors.length > 0) {
  for (const e of first.errors) console.error(`jairouter-proxy: ${e}`);
  process.exit(1);
}
logRejected(first, 'warn');
let runtime = build(first.config);
let served = first.served;
metrics.configReloads.labels('applied').inc();
log.info({ ...summary(runtime), files: first.files }, 'config applied');
if (runtime.tenants.length === 0) log.warn('no Tenant is configured: every request will get 401');

async function reload(): Promise<void> {
  const next = await compileInWorker({ paths: opts.configPaths, served });
  if (draining) return;
  if (next.errors.length === 0 && next.config.version === runtime.config.version) return;
  if (!next.verdict.apply) {
    for (const p of next.errors) log.error({ reason: 'ParseError', message: p }, 'object rejected');
    logRejected(next, 'error');
    metrics.configReloads.labels('rejected').inc();
    log.error({ problems: next.verdict.problems.length, serving: runtime.config.version }, 'config change rejected: keeping the last good config');
    return;
  }
  logRejected(next, 'warn');
  runtime = build(next.config);
  served = next.served;
  metrics.configReloads.labels('applied').inc();
  log.info(summary(runtime), 'config applied');
}

// One reload at a time; a change during a reload triggers one more afterwards.
let reloading: Promise<void> | null = null;
let again = false;
function scheduleReload(): void {
  if (reloading) {
    again = true;
    return;
  }
  reloading = reload()
    .catch((e: Error) => log.error({ err: e.message }, 'config reload failed: keeping the last good config'))
    .finally(() => {
      reloading = null;
      if (again) {
        again = false;
        scheduleReload();
      }
    });
}
const stopWatching = watchPaths(opts.configPaths, 150, scheduleReload);

const handler = createHandler({
  current: () => runtime,
  draining: () => draining,
  maxBodyBytes: opts.maxBodyBytes,
  log,
  metrics,
});
const api = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, handler);
const admin = createAdminServer({ metrics, ready: () => ({ ready: !draining, configVersion: runtime.config.version }) });

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
  stopWatching();
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
