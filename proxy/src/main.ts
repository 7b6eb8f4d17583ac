import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxyConfig } from '@jairouter/crds';
import { parseOptions, UsageError, USAGE, type ProxyOptions } from './config.ts';
import { Budgets } from './limits/budget.ts';
import { Limits } from './limits/engine.ts';
import { UsageMeter } from './limits/usage.ts';
import { createAuditLog } from './telemetry/audit.ts';
import { ProxyServer } from './proxy-server.ts';
import { RuntimeSwap } from './runtime/swap.ts';
import { PoolRegistry } from './upstream/pools.ts';
import type { Runtime } from './runtime/runtime.ts';
import { FileSource } from './source/file-source.ts';
import { OperatorSource } from './source/operator-source.ts';
import type { ConfigSource } from './source/types.ts';
import { createLogging } from './telemetry/logger.ts';
import { MemoryResponseStore, SharedResponseStore } from './responses/store.ts';
import { ProxyMetrics } from './telemetry/metrics.ts';
import { capacitySummary } from './telemetry/capacity.ts';
import { displayUrl, startTracing } from './telemetry/tracing.ts';
import { applyHeapPolicy } from './heap-policy.ts';

// Wiring only: options, config source, the runtime swap and the listeners, then signals.
const heapGrowingPercent = applyHeapPolicy();
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

// Traces (OTEL_* environment): off without an OTLP endpoint, and then nothing is loaded.
const traces = await startTracing(process.env, 'jairouter-proxy', (msg) => log.warn({ otel: msg }, 'tracing: the OpenTelemetry SDK reports a problem'));
for (const w of traces.warnings) log.warn(`tracing: ${w}`);
const tracing = traces.tracing;
if ('settings' in traces) {
  const t = traces.settings;
  log.info({ endpoint: displayUrl(t.url), sampler: t.sampler, ...(t.sampler.endsWith('traceidratio') && { ratio: t.ratio }), serviceName: t.serviceName }, 'tracing on');
}

function summary(rt: Runtime): Record<string, unknown> {
  return { version: rt.config.version, routes: rt.routes.length, tenants: rt.tenants.length };
}

const operatorSource = opts.operator ? new OperatorSource({ ...opts.operator, log }) : null;
const source: ConfigSource = operatorSource ?? new FileSource(opts.configPaths, log, metrics);

let swap: RuntimeSwap | null = null;
let server: ProxyServer | null = null;
/** Every config after the first, built without holding the event loop (RuntimeSwap.applyAsync). */
async function apply(config: ProxyConfig): Promise<void> {
  if (!swap || server?.isDraining) return;
  const rt = await swap.applyAsync(config);
  metrics.configReloads.labels('applied').inc();
  log.info(summary(rt), 'config applied');
}

const firstConfig = await source.start(apply).catch((e: Error) => {
  for (const line of e.message.split('\n')) console.error(`jairouter-proxy: ${line}`);
  process.exit(1);
});
swap = new RuntimeSwap(firstConfig, log, new PoolRegistry(process.env, { maxConnections: opts.upstreamMaxConnections }), {
  onScrape: (route, backend, ok) => metrics.capacity.scrapes.labels(route, backend, ok ? 'ok' : 'error').inc(),
  replicas: () => operatorSource?.replicas ?? 1,
});
// With --operator, start() may give an empty placeholder when neither the snapshot file nor the
// operator answered in time: the proxy then listens but is not ready until a snapshot arrives.
const configured = () => operatorSource?.hasConfig() ?? true;
if (configured()) {
  metrics.configReloads.labels('applied').inc();
  log.info(summary(swap.current), 'config applied');
  if (swap.current.tenants.length === 0) log.warn('no Tenant is configured: every request will get 401');
}

// Cluster-scope limits: counted in Redis when there is one, else (and while it is down) each
// replica enforces its share, the limit divided by the replicas the operator reports.
// ioredis is loaded only when there is a Redis to talk to.
let redisUp = true;
const redis = opts.redisUrl
  ? new (await import('./limits/redis.ts')).RedisLimits({
      url: opts.redisUrl,
      onStateChange: (up: boolean, err?: string) => {
        metrics.redisUp.set(up ? 1 : 0);
        redisUp = up;
        metrics.redisTransitions.labels(up ? 'up' : 'down').inc();
        if (up) log.info('redis reachable: Cluster limits are shared by every replica again');
        else log.warn({ err }, 'redis unreachable: Cluster limits fall back to this replica\'s share (limit / replicas)');
      },
    })
  : null;
if (redis) {
  // Not serving until Redis answers (or a short wait is over): a replica that starts while Redis
  // is up should count Cluster limits there from its first request, not on its local share.
  metrics.redisUp.set(0);
  if (await redis.ready(3000)) metrics.redisUp.set(1);
  else log.warn('redis not reachable at start: Cluster limits use this replica\'s share (limit / replicas) until it is');
}
const replicas = () => operatorSource?.replicas ?? 1;
metrics.replicas = replicas;
const limits = new Limits({ redis, replicas });
const budgets = new Budgets({ shared: redis?.budgetStore() ?? null, replicas });
// With an operator, consumption is reported to it for Tenant and RateLimitPolicy status.
const usage = operatorSource ? new UsageMeter() : undefined;
if (operatorSource && usage) {
  operatorSource.reportUsage(() => ({
    ...usage.report(),
    redis: redis ? (redisUp ? 'up' : 'down') : 'none',
    // For ModelRoute status: where this replica sees capacity short.
    ...(swap !== null && { endpoints: capacitySummary(swap.capacity(), performance.now()) }),
  }));
}

// Responses API answers served through chat, kept for previous_response_id, GET and input_items:
// in Redis when there is one (any replica finds them), with this replica's memory as the fallback.
const keptMemory = new MemoryResponseStore({ ttlMs: opts.responseStoreTtlMs, maxBytes: opts.responseStoreMaxBytes });
metrics.keptResponses = () => ({ bytes: keptMemory.bytes, entries: keptMemory.size });
// (Redis's state changes are logged and counted already: a failed call is only a debug line.)
const responses = redis
  ? new SharedResponseStore(keptMemory, redis.keyValue(), (what) => log.debug({ what }, 'redis did not answer for a kept response: this replica\'s memory is used'))
  : opts.responseStoreMaxBytes === 0
    ? null
    : keptMemory;

let audit: ReturnType<typeof createAuditLog> | undefined;
try {
  audit = opts.auditLog !== undefined ? createAuditLog(opts.auditLog) : undefined;
} catch (e) {
  console.error(`jairouter-proxy: --audit-log ${opts.auditLog}: ${(e as Error).message}`);
  process.exit(1);
}
if (audit) process.once('exit', () => audit.flushSync());

server = new ProxyServer({
  swap,
  logging,
  metrics,
  limits,
  budgets,
  ...(usage && { usage }),
  ...(audit && { audit }),
  maxInflightPerTenant: opts.maxInflightPerTenant,
  logContent: opts.logContent,
  ...(tracing && { tracing }),
  defaultMaxTokens: opts.defaultMaxTokens,
  ...(redis && { onClose: () => redis.close() }),
  maxBodyBytes: opts.maxBodyBytes,
  requestReadTimeoutMs: opts.requestReadTimeoutMs,
  corsOrigins: opts.corsOrigins,
  configured,
  responses,
});
const listening = await server.listen(opts.listen, opts.adminListen).catch((e: Error) => {
  console.error(`jairouter-proxy: cannot listen: ${e.message}`);
  process.exit(1);
});
log.info({ listen: listening.api, admin: listening.admin, ...(opts.corsOrigins.length > 0 && { corsOrigins: opts.corsOrigins }), heapGrowingPercent: heapGrowingPercent ?? 'set by the command line' }, 'proxy listening');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal, drainTimeoutMs: opts.drainTimeoutMs, ...(opts.shutdownDelayMs > 0 && { shutdownDelayMs: opts.shutdownDelayMs }) }, 'draining');
  source.stop();
  await server!.drain(opts.drainTimeoutMs, opts.shutdownDelayMs);
  if (tracing) {
    // The spans still queued, including those of the requests the drain let finish (bounded:
    // an unreachable collector does not hold the exit).
    const flushed = await Promise.race([tracing.shutdown().then(() => true, () => false), sleep(5000).then(() => false)]);
    if (!flushed) log.warn('tracing: spans not exported before exit (collector unreachable or slow)');
  }
  log.info('stopped');
  log.flush();
  setTimeout(() => process.exit(0), 50).unref();
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
