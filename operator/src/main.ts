import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { startAdminServer } from './admin-server.ts';
import { parseOptions, UsageError, USAGE, type OperatorOptions } from './config.ts';
import { createPublisher } from './distribution/index.ts';
import { Controller, errorText } from './kube/controller.ts';
import { FailureStreaks } from './log-streak.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { KubeLeaseClient, LeaderElector } from './kube/leader-election.ts';
import { sourceFactories } from './kube/sources.ts';
import { KubeStatusWriter } from './kube/status-writer.ts';
import { loadKubeConfig, NoKubeconfigError } from './kubeconfig.ts';
import { createLogger } from './logger.ts';
import { OperatorMetrics } from './metrics.ts';
import { displayUrl, startTracing } from './tracing.ts';

const LEASE_NAME = 'jairouter-operator';

export async function main(argv: string[]): Promise<void> {
  let opts: OperatorOptions;
  try {
    const parsed = parseOptions(argv, process.env);
    if (parsed === 'help') {
      process.stdout.write(USAGE + '\n');
      return;
    }
    opts = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`jairouter-operator: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(opts.logLevel, opts.podName);
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ flag: opts.kubeconfig, env: opts.kubeconfigEnv, homeConfig: opts.homeKubeconfig });
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`jairouter-operator: ${e instanceof NoKubeconfigError ? message : `cannot load the kubeconfig: ${message}`}\n`);
    process.exitCode = 1;
    return;
  }

  // Traces (OTEL_* environment): a span per reconcile; off without an OTLP endpoint.
  const traces = await startTracing(process.env, 'jairouter-operator', (msg) => log.warn({ otel: msg }, 'tracing: the OpenTelemetry SDK reports a problem'));
  for (const w of traces.warnings) log.warn(`tracing: ${w}`);
  const tracing = traces.tracing;
  if ('settings' in traces) {
    const t = traces.settings;
    log.info({ endpoint: displayUrl(t.url), sampler: t.sampler, ...(t.sampler.endsWith('traceidratio') && { ratio: t.ratio }), serviceName: t.serviceName }, 'tracing on');
  }

  const metrics = new OperatorMetrics({ defaultMetrics: true });
  let controller: Controller | undefined;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({ ...opts.adminListen, ready: () => controller?.ready ?? false, registry: metrics.registry });
  } catch (e) {
    log.fatal({ err: errorText(e), listen: opts.adminListen }, 'cannot listen for /healthz, /readyz and /metrics');
    process.exitCode = 1;
    return;
  }

  let publisher: Awaited<ReturnType<typeof createPublisher>>;
  try {
    publisher = await createPublisher({
      kubeConfig: kc, listen: opts.listen, podNamespace: opts.podNamespace, serviceName: opts.serviceName,
      proxyServiceAccount: opts.proxyServiceAccount, snapshotSecret: opts.snapshotSecret, log: log.child({ component: 'distribution' }),
      registry: metrics.registry, shareServed: { replica: opts.podName },
    });
  } catch (e) {
    // No stream, no operator: say why in one line and let the Pod restart (with backoff).
    log.fatal({ err: errorText(e) }, 'cannot start the snapshot stream');
    await admin.close();
    process.exitCode = 1;
    return;
  }

  // One warning per streak of failed lease requests (log-streak.ts), not one per second.
  const leaseStreak = new FailureStreaks(log);
  const elector = opts.leaderElect
    ? new LeaderElector({
      client: new KubeLeaseClient(kc, opts.podNamespace, LEASE_NAME), name: LEASE_NAME, namespace: opts.podNamespace, identity: opts.podName,
      onStartedLeading: () => {
        metrics.leader.set(1);
        log.info({ lease: `${opts.podNamespace}/${LEASE_NAME}` }, 'became leader');
        controller?.enqueue(); // the new leader writes status and the snapshot Secret
      },
      onStoppedLeading: () => {
        metrics.leader.set(0);
        log.warn('stopped leading');
        controller?.enqueue();
      },
      onError: (e) => {
        metrics.errors.inc({ stage: 'lease' });
        leaseStreak.failed('lease', 'lease request failed', { err: errorText(e) });
      },
      onAnswer: () => leaseStreak.recovered('lease', 'lease requests answered again'),
    })
    : undefined;
  if (!elector) metrics.leader.set(1);

  const auditDest = opts.auditLog
    ? pino.destination({ dest: opts.auditLog === 'stdout' ? 1 : opts.auditLog === 'stderr' ? 2 : opts.auditLog, sync: true, mkdir: true, append: true })
    : undefined;
  const audit = auditDest ? { write: (r: object) => void auditDest.write(JSON.stringify(r) + '\n') } : undefined;
  controller = new Controller({
    scopes: opts.namespaces.length > 0 ? opts.namespaces.map((ns) => sourceFactories(kc, ns)) : [sourceFactories(kc, undefined)],
    publisher,
    isLeader: () => elector?.isLeader ?? true,
    statusWriter: new KubeStatusWriter(kc),
    events: new KubeEventRecorder(kc, opts.podName),
    log,
    metrics,
    relistMs: opts.relistMs,
    ...(audit && { audit }),
    ...(tracing && { tracer: tracing.tracer }),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Controller first (no write after this), then release the Lease so that another replica takes over at once.
    await controller?.stop();
    // The last reconciles' spans (bounded: an unreachable collector does not hold the exit).
    if (tracing) await Promise.race([tracing.shutdown().catch(() => {}), sleep(5000)]);
    await elector?.stop();
    await publisher.close();
    await admin.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  elector?.start();
  await controller.start();
  log.info({
    admin: admin.address(), stream: publisher.address(), namespaces: opts.namespaces.length ? opts.namespaces : 'all',
    leaderElect: opts.leaderElect, version: controller.lastConfig?.version,
  }, 'operator ready');
}
