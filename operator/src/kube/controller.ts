import { type KubeObject, type ProxyConfig, type Resources } from '@jairouter/crds';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SnapshotPublisher } from '../distribution/types.ts';
import { CONTROLLER_NAME, type OperatorMetrics } from '../metrics.ts';
import { FailureStreaks } from '../log-streak.ts';
import { ConfigLedger, objectKey } from '../reconcile/programmed.ts';
import { reconcile, type ObjectUpdate } from '../reconcile/reconcile.ts';
import { isReferenced, record, type References } from '../reconcile/references.ts';
import { kubeTime, type ObjectStatusBody } from '../reconcile/status.ts';
import { sameUsage, sumUsage, type UsageView } from '../reconcile/usage.ts';
import type { EventRecorder } from './events.ts';
import { ResilientInformer, type InformerFactory } from './informer.ts';
import { CUSTOM_KIND, WATCHED, type Watched } from './sources.ts';
import { httpStatus, type StatusWriter } from './status-writer.ts';
import { CoalescingQueue } from './work-queue.ts';

export interface ControllerOptions {
  /** One set of informer factories per namespace scope (one set for the whole cluster when no --namespace is given). */
  scopes: readonly Record<Watched, InformerFactory<KubernetesObject>>[];
  publisher: SnapshotPublisher;
  /** Whether this replica leads right now (only the leader writes status). */
  isLeader: () => boolean;
  statusWriter: StatusWriter;
  events: EventRecorder;
  log: Logger;
  metrics?: OperatorMetrics;
  now?: () => Date;
  relistMs?: number;
  informerRestartBaseMs?: number;
  queueBaseDelayMs?: number;
  queueMaxDelayMs?: number;
  ledgerSize?: number;
  /** How often the proxies' usage reports are summed into status (default 10 s: at most one usage write per object per interval). */
  usageIntervalMs?: number;
  /** The audit trail (`--audit-log`): one record per config version published and per object whose outcome changed. */
  audit?: { write(record: OperatorAuditRecord): void };
  /** A trace per reconcile (OTEL_* environment, ../tracing.ts); absent = none. */
  tracer?: Tracer;
}

/** Changed objects named by an event each on a reconcile span, at most (the rest are counted). */
const MAX_OBJECT_EVENTS = 64;

/** One change the operator applied (docs/audit.md). */
export interface OperatorAuditRecord {
  time: string;
  /** config: a new version compiled and published; object: an object's outcome (generation or a condition) changed. */
  event: 'config' | 'object';
  kind: string;
  namespace: string;
  name: string;
  generation: number;
  /** The conditions as written: Accepted, ResolvedRefs, Programmed -> True/False/Unknown, with the Accepted reason. */
  accepted: string;
  reason: string;
  programmed: string;
  /** The config version published (config) or current when the status was written (object). */
  configVersion: string;
  /** config: what the version holds. */
  routes: number;
  tenants: number;
  limits: number;
}

const STATUS_WRITE_CONCURRENCY = 8;

const REFERENCED_KIND = { secrets: 'Secret', services: 'Service', endpointSlices: 'EndpointSlice' } as const;

/**
 * Informers -> one coalescing queue -> reconcile (compile everything) -> publish to the
 * proxies (every replica) -> status writes and Events (leader only, and only what changed).
 */
export class Controller {
  readonly #o: ControllerOptions;
  readonly #informers: { kind: Watched; informer: ResilientInformer<KubernetesObject> }[] = [];
  readonly #queue: CoalescingQueue;
  readonly #ledger: ConfigLedger;
  #references: References = { secrets: new Set(), services: new Set() };
  /** Statuses written whose watch event has not arrived yet: key -> the resourceVersion the write was based on. */
  readonly #written = new Map<string, { fromVersion: string | undefined; status: ObjectStatusBody }>();
  #lastConfig: ProxyConfig | undefined;
  #started = false;
  /** The proxies' consumption as last summed; changes only every usageIntervalMs. */
  #usage: UsageView | null = null;
  #usageTimer: NodeJS.Timeout | undefined;

  constructor(opts: ControllerOptions) {
    this.#o = opts;
    this.#ledger = new ConfigLedger(opts.ledgerSize);
    const m = opts.metrics;
    // controller-runtime's and client-go's series, fed by the queue itself: one controller, one
    // queue named after it, one key, one worker (runs never overlap).
    const controller = { controller: CONTROLLER_NAME };
    const queue = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
    this.#queue = new CoalescingQueue(() => this.#reconcile(), {
      ...(opts.queueBaseDelayMs !== undefined && { baseDelayMs: opts.queueBaseDelayMs }),
      ...(opts.queueMaxDelayMs !== undefined && { maxDelayMs: opts.queueMaxDelayMs }),
      onAdd: () => {
        m?.workqueueAdds.inc(queue);
        m?.workqueueDepth.set(queue, 1);
        m?.queueDepth.set(1);
      },
      onRunStart: (queuedMs) => {
        m?.workqueueDepth.set(queue, 0);
        m?.queueDepth.set(0);
        m?.workqueueQueueDuration.observe(queue, queuedMs / 1000);
        m?.controllerActiveWorkers.set(controller, 1);
      },
      onRunEnd: (ok, ms, err) => {
        m?.controllerActiveWorkers.set(controller, 0);
        m?.workqueueWorkDuration.observe(queue, ms / 1000);
        m?.controllerReconcileTime.observe(controller, ms / 1000);
        m?.controllerReconciles.inc({ ...controller, result: ok ? 'success' : 'error' });
        m?.reconciles.inc({ result: ok ? 'success' : 'error' });
        m?.reconcileDuration.observe(ms / 1000);
        if (!ok) {
          m?.controllerReconcileErrors.inc(controller);
          m?.errors.inc({ stage: 'reconcile' });
          opts.log.warn({ err: errorText(err) }, 'reconcile failed; retrying with backoff');
        }
      },
      onRetryScheduled: (delayMs, attempt) => {
        m?.workqueueRetries.inc(queue);
        m?.retries.inc();
        opts.log.debug({ delayMs, attempt }, 'reconcile retry scheduled');
      },
    });
    m?.registerController(CONTROLLER_NAME, this.#queue, 1);
    // One warning per failing watch, not one per restart (an API server outage would repeat it).
    const streaks = new FailureStreaks(opts.log);
    for (const scope of opts.scopes) {
      for (const kind of WATCHED) {
        const informer = new ResilientInformer<KubernetesObject>({
          name: kind,
          factory: scope[kind],
          onChange: (o) => this.#changed(kind, o),
          ...(opts.relistMs !== undefined && { relistMs: opts.relistMs }),
          ...(opts.informerRestartBaseMs !== undefined && { restartBaseMs: opts.informerRestartBaseMs }),
          onError: (name, err, retryInMs) => {
            m?.errors.inc({ stage: 'informer' });
            m?.informerRestarts.inc({ resource: name });
            // A 404 on the custom kinds almost always means the CRDs are not installed (yet).
            const hint = httpStatus(err) === 404 && CUSTOM_KIND[name as keyof typeof CUSTOM_KIND] ? 'are the jairouter.io CRDs installed?' : undefined;
            streaks.failed(`watch ${name}`, 'watch failed; restarting with backoff', { resource: name, err: errorText(err), retryInMs, ...(hint && { hint }) });
          },
          onRecovered: (name) => streaks.recovered(`watch ${name}`, 'watching again', { resource: name }),
        });
        this.#informers.push({ kind, informer });
      }
    }
    opts.publisher.onServedChange(() => this.enqueue());
  }

  /** Starts every informer; resolves once all of them have listed and the first reconcile ran. */
  async start(): Promise<void> {
    await Promise.all(this.#informers.map(({ informer }) => informer.start()));
    this.#started = true;
    this.enqueue();
    if (this.#o.publisher.usageReports) {
      this.#usageTimer = setInterval(() => this.#refreshUsage(), this.#o.usageIntervalMs ?? 10_000);
      this.#usageTimer.unref();
    }
    await this.#queue.idle();
  }

  /** Sums the proxies' latest reports; a changed sum is reconciled into Tenant and RateLimitPolicy status. */
  #refreshUsage(): void {
    const reports = this.#o.publisher.usageReports?.();
    if (!reports) return;
    const view = sumUsage([...reports.values()].map((r) => r.report), kubeTime(this.#o.now?.() ?? new Date()));
    if (sameUsage(this.#usage, view)) return;
    this.#usage = view;
    this.enqueue();
  }

  /** True once every informer has synced and a config was compiled and handed to the publisher. */
  get ready(): boolean {
    return this.#started && this.#lastConfig !== undefined;
  }

  get lastConfig(): ProxyConfig | undefined {
    return this.#lastConfig;
  }

  /**
   * Asks for a reconcile. Before start() nothing is queued: the informers are still listing, and
   * start() queues one reconcile once they all have (controller-runtime's workers, too, wait for
   * the caches), so no run, and no reconcile counted, sees a half-listed cluster.
   */
  enqueue(): void {
    if (!this.#started) return;
    this.#queue.enqueue();
  }

  /** Resolves when no reconcile is pending or running (tests). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Forces a full relist of every informer (the periodic relist, on demand). */
  async relist(): Promise<void> {
    await Promise.all(this.#informers.map(({ informer }) => informer.relist()));
  }

  async stop(): Promise<void> {
    clearInterval(this.#usageTimer);
    await this.#queue.stop();
    this.#o.metrics?.workqueueDepth.set({ name: CONTROLLER_NAME, controller: CONTROLLER_NAME }, 0);
    this.#o.metrics?.queueDepth.set(0);
    await Promise.all(this.#informers.map(({ informer }) => informer.stop()));
  }

  #changed(kind: Watched, object: KubernetesObject | undefined): void {
    if (object && kind in REFERENCED_KIND) {
      const k = REFERENCED_KIND[kind as keyof typeof REFERENCED_KIND];
      if (!isReferenced(k, object as KubeObject, this.#references)) return;
    }
    this.enqueue();
  }

  #snapshot(): Resources {
    const out: Record<Watched, KubeObject[]> = { modelRoutes: [], tenants: [], rateLimitPolicies: [], secrets: [], services: [], endpointSlices: [] };
    const seen = new Set<string>();
    for (const { kind, informer } of this.#informers) {
      for (const o of informer.list()) out[kind].push(this.#withWrittenStatus(kind, o as KubeObject, seen));
    }
    // Objects deleted before the watch showed our write: forget them.
    for (const key of this.#written.keys()) if (!seen.has(key)) this.#written.delete(key);
    return out;
  }

  /** The cache may not have seen our last status write yet; reconciling against the old status would write again. */
  #withWrittenStatus(kind: Watched, o: KubeObject, seen: Set<string>): KubeObject {
    if (!(kind in CUSTOM_KIND)) return o;
    const meta = record(o['metadata']);
    const key = objectKey(CUSTOM_KIND[kind as keyof typeof CUSTOM_KIND], String(meta?.['namespace']), String(meta?.['name']));
    seen.add(key);
    const written = this.#written.get(key);
    if (!written) return o;
    if (meta?.['resourceVersion'] === written.fromVersion) return { ...o, status: written.status };
    this.#written.delete(key);
    return o;
  }

  async #reconcile(): Promise<void> {
    if (!this.#started) return;
    const tracer = this.#o.tracer;
    if (tracer === undefined) return this.#reconcileOnce(null);
    // One trace per reconcile: the root span, with compile, publish and the status writes under it.
    const span = tracer.startSpan('reconcile', { kind: SpanKind.INTERNAL, attributes: { 'jairouter.leader': this.#o.isLeader() } }, ROOT_CONTEXT);
    try {
      await this.#reconcileOnce({ tracer, span, ctx: trace.setSpan(ROOT_CONTEXT, span) });
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(e) });
      throw e;
    } finally {
      span.end();
    }
  }

  async #reconcileOnce(t: ReconcileTrace | null): Promise<void> {
    const { log, metrics: m } = this.#o;
    const compiling = t && t.tracer.startSpan('compile', { kind: SpanKind.INTERNAL }, t.ctx);
    const cluster = this.#snapshot();
    const served = this.#o.publisher.servedVersions();
    const result = reconcile({ cluster, served, ledger: this.#ledger, now: this.#o.now?.() ?? new Date(), usage: this.#usage });
    if (compiling) {
      compiling.setAttributes({ 'jairouter.config_version': result.config.version, ...objectCounts(cluster) });
      compiling.end();
    }
    // Every change of what the proxies serve queues a reconcile (onServedChange), so these follow the reports.
    m?.connectedProxies.set(served.size);
    let behind = 0;
    for (const version of served.values()) if (version !== result.config.version) behind++;
    m?.proxiesVersionsBehind.set(behind);
    this.#references = result.references;
    const changed = this.#lastConfig?.version !== result.config.version;
    this.#lastConfig = result.config;
    if (changed) log.info({ version: result.config.version, routes: result.config.routes.length, tenants: result.config.tenants.length }, 'config compiled');
    if (changed && this.#o.audit && this.#o.isLeader()) {
      const c = result.config;
      this.#o.audit.write({
        time: (this.#o.now?.() ?? new Date()).toISOString(), event: 'config', kind: '', namespace: '', name: '', generation: 0,
        accepted: '', reason: '', programmed: '', configVersion: c.version, routes: c.routes.length, tenants: c.tenants.length, limits: c.limits.length,
      });
    }
    if (m) {
      m.objects.reset();
      for (const u of result.updates) {
        const accepted = u.status.conditions.find((c) => c.type === 'Accepted')?.status === 'True';
        m.objects.inc({ kind: u.kind, accepted: String(accepted) });
      }
    }

    if (t && t.span.isRecording()) traceResult(t.span, cluster, result, changed, served.size, behind);

    let failure: unknown;
    const leader = this.#o.isLeader();
    const publishing = t && t.tracer.startSpan('publish', { kind: SpanKind.INTERNAL, attributes: { 'jairouter.config_version': result.config.version, 'jairouter.leader': leader } }, t.ctx);
    try {
      await this.#o.publisher.publish(result.config, { leader });
    } catch (e) {
      m?.errors.inc({ stage: 'publish' });
      log.warn({ err: errorText(e) }, 'publishing the config failed');
      failure = e;
      publishing?.setStatus({ code: SpanStatusCode.ERROR, message: errorText(e) });
    }
    publishing?.end();
    if (!leader) {
      this.#written.clear();
      if (failure) throw failure;
      return;
    }

    // A few writes in flight at once: the first pass after a start or a failover may have to
    // write every object, and one round trip each in sequence would take long on a big cluster.
    const pending = result.updates.filter((u) => u.patchNeeded);
    const writing = t && pending.length > 0 ? t.tracer.startSpan('write status', { kind: SpanKind.INTERNAL, attributes: { 'jairouter.status_writes': pending.length } }, t.ctx) : null;
    let failed = 0;
    const worker = async () => {
      for (let u = pending.shift(); u; u = pending.shift()) {
        if (!this.#o.isLeader()) return; // lost the lease mid-way: the new leader takes over
        const error = await this.#writeStatus(u);
        if (error) failed++;
        failure ??= error;
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATUS_WRITE_CONCURRENCY, pending.length) }, worker));
    if (writing) {
      writing.setAttribute('jairouter.status_write_failures', failed);
      if (failed > 0) writing.setStatus({ code: SpanStatusCode.ERROR, message: errorText(failure) });
      writing.end();
    }
    if (failure) throw failure;
  }

  /** Writes one object's status, then its Events; resolves to the error, if the write failed. */
  async #writeStatus(u: ObjectUpdate): Promise<unknown> {
    const { log, metrics: m } = this.#o;
    const meta = record(u.object['metadata']);
    try {
      const newVersion = await this.#o.statusWriter.write(u, u.status);
      m?.statusWrites.inc({ kind: u.kind, result: 'ok' });
      if (newVersion === undefined) return undefined; // object deleted meanwhile
      const fromVersion = typeof meta?.['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined;
      this.#written.set(u.key, { fromVersion, status: u.status });
      log.debug({ object: u.key, generation: u.status.observedGeneration }, 'status written');
      const before = record(u.object['status'])?.['observedGeneration'];
      if (this.#o.audit && (u.transitions.length > 0 || before !== u.status.observedGeneration)) {
        const cond = (type: string) => u.status.conditions.find((c) => c.type === type);
        this.#o.audit.write({
          time: (this.#o.now?.() ?? new Date()).toISOString(), event: 'object', kind: u.kind, namespace: u.namespace, name: u.name,
          generation: u.status.observedGeneration, accepted: cond('Accepted')?.status ?? '', reason: cond('Accepted')?.reason ?? '',
          programmed: cond('Programmed')?.status ?? '', configVersion: this.#lastConfig?.version ?? '', routes: 0, tenants: 0, limits: 0,
        });
      }
    } catch (e) {
      m?.statusWrites.inc({ kind: u.kind, result: 'error' });
      m?.errors.inc({ stage: 'status' });
      log.warn({ object: u.key, err: errorText(e) }, 'status write failed');
      return e;
    }
    const uid = typeof meta?.['uid'] === 'string' ? meta['uid'] : undefined;
    for (const t of u.transitions) {
      try {
        await this.#o.events.transition({ kind: u.kind, namespace: u.namespace, name: u.name, ...(uid !== undefined && { uid }) }, t);
        m?.events.inc({ result: 'ok' });
      } catch (e) {
        // Events are best effort: retrying would record the transition twice.
        m?.events.inc({ result: 'error' });
        m?.errors.inc({ stage: 'event' });
        log.warn({ object: u.key, err: errorText(e) }, 'recording an Event failed');
      }
    }
    return undefined;
  }
}

interface ReconcileTrace {
  tracer: Tracer;
  span: Span;
  ctx: ReturnType<typeof trace.setSpan>;
}

/** How many objects of each kind the informers hold (a compile's input). */
function objectCounts(cluster: Resources): Attributes {
  return {
    'jairouter.objects.model_routes': cluster.modelRoutes.length,
    'jairouter.objects.tenants': cluster.tenants.length,
    'jairouter.objects.rate_limit_policies': cluster.rateLimitPolicies.length,
    'jairouter.objects.secrets': cluster.secrets.length,
    'jairouter.objects.services': cluster.services.length,
    'jairouter.objects.endpoint_slices': cluster.endpointSlices.length,
  };
}

/**
 * A reconcile's outcome on its span: counts and the config version (bounded), and one event per
 * object whose status changes (kind, name, generation, Accepted), the first MAX_OBJECT_EVENTS.
 */
function traceResult(span: Span, cluster: Resources, result: ReturnType<typeof reconcile>, changed: boolean, connected: number, behind: number): void {
  let accepted = 0;
  let changedObjects = 0;
  for (const u of result.updates) {
    const cond = u.status.conditions.find((c) => c.type === 'Accepted');
    if (cond?.status === 'True') accepted++;
    if (!u.patchNeeded) continue;
    if (changedObjects++ < MAX_OBJECT_EVENTS) {
      span.addEvent('jairouter.object', {
        'jairouter.kind': u.kind,
        'jairouter.namespace': u.namespace,
        'jairouter.name': u.name,
        'jairouter.generation': u.status.observedGeneration,
        'jairouter.accepted': cond?.status ?? '',
        'jairouter.reason': cond?.reason ?? '',
      });
    }
  }
  span.setAttributes({
    'jairouter.config_version': result.config.version,
    'jairouter.config_changed': changed,
    'jairouter.config.routes': result.config.routes.length,
    'jairouter.config.tenants': result.config.tenants.length,
    'jairouter.config.limits': result.config.limits.length,
    ...objectCounts(cluster),
    'jairouter.objects.accepted': accepted,
    'jairouter.objects.not_accepted': result.updates.length - accepted,
    'jairouter.objects.changed': changedObjects,
    'jairouter.proxies.connected': connected,
    'jairouter.proxies.behind': behind,
  });
}

/** A log-safe description of an error: message and HTTP status, never a response body (it may echo a Secret). */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const status = (e as { code?: unknown }).code;
  return typeof status === 'number' ? `HTTP ${status}: ${e.message.split('\n')[0]?.slice(0, 200)}` : e.message.slice(0, 300);
}
