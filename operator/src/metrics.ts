import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The operator's one controller, as the `controller` label of the controller-runtime series and
 * the `name` and `controller` labels of the workqueue series (controller-runtime names a
 * controller's queue after it). One controller reconciles every kind at once (compile() looks at
 * everything), so there is one value.
 */
export const CONTROLLER_NAME = 'jairouter';

/** controller-runtime's buckets for controller_runtime_reconcile_time_seconds. */
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
  1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue buckets, ExponentialBuckets(10e-9, 10, 12): 10 ns to 1000 s. */
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

/** What the workqueue gauges read at scrape time: how long the run in flight has been running. */
export interface RunningProbe {
  runningForMs: number | undefined;
}

/** The operator's Prometheus metrics, on a registry of its own (served at /metrics). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly #running = new Map<string, RunningProbe>();

  // --- controller-runtime's controller series (sigs.k8s.io/controller-runtime/pkg/internal/controller/metrics)
  readonly controllerReconciles = new Counter({
    name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const, registers: [this.registry],
  });
  readonly controllerReconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const, registers: [this.registry],
  });
  readonly controllerReconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const, buckets: RECONCILE_TIME_BUCKETS, registers: [this.registry],
  });
  readonly controllerMaxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const, registers: [this.registry],
  });
  readonly controllerActiveWorkers = new Gauge({
    name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const, registers: [this.registry],
  });

  // --- client-go's workqueue series, as controller-runtime registers them (pkg/metrics/workqueue.go)
  readonly workqueueDepth = new Gauge({
    name: 'workqueue_depth', help: 'Current depth of workqueue',
    labelNames: ['name', 'controller'] as const, registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'] as const, registers: [this.registry],
  });
  readonly workqueueQueueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'] as const, buckets: WORKQUEUE_BUCKETS, registers: [this.registry],
  });
  readonly workqueueWorkDuration = new Histogram({
    name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'] as const, buckets: WORKQUEUE_BUCKETS, registers: [this.registry],
  });
  readonly workqueueUnfinishedWork: Gauge<'name' | 'controller'>;
  readonly workqueueLongestRunningProcessor: Gauge<'name' | 'controller'>;
  readonly workqueueRetries = new Counter({
    name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'] as const, registers: [this.registry],
  });

  // --- the operator's own series
  readonly reconciles = new Counter({
    name: 'jairouter_operator_reconcile_total',
    help: 'Reconcile passes, by result (success, error). Same count as controller_runtime_reconcile_total{controller="jairouter"}; kept for existing dashboards.',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'jairouter_operator_reconcile_duration_seconds',
    help: 'Duration of a reconcile pass (compile, publish, status writes). Same observations as controller_runtime_reconcile_time_seconds{controller="jairouter"} (other buckets); kept for existing dashboards.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'jairouter_operator_queue_depth',
    help: 'Reconciles waiting to run (the queue coalesces to one key: 0 or 1). Same as workqueue_depth{name="jairouter"}; kept for existing dashboards.',
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'jairouter_operator_reconcile_retries_total',
    help: 'Failed reconciles scheduled for a retry with backoff. Same count as workqueue_retries_total{name="jairouter"}; kept for existing dashboards.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'jairouter_operator_leader', help: '1 while this replica holds the leader Lease.', registers: [this.registry],
  });
  readonly statusWrites = new Counter({
    name: 'jairouter_operator_status_writes_total', help: 'Status subresource writes, by kind and result (ok, error).',
    labelNames: ['kind', 'result'] as const, registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'jairouter_operator_events_total', help: 'Kubernetes Events recorded for condition transitions, by result.',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'jairouter_operator_errors_total',
    help: 'Errors by stage: informer, reconcile, publish, status, event, lease.',
    labelNames: ['stage'] as const, registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: 'jairouter_operator_informer_restarts_total', help: 'Informer restarts after a watch or list error, by resource.',
    labelNames: ['resource'] as const, registers: [this.registry],
  });
  readonly objects = new Gauge({
    name: 'jairouter_operator_objects', help: 'Custom objects in the last reconcile, by kind and whether Accepted is True.',
    labelNames: ['kind', 'accepted'] as const, registers: [this.registry],
  });
  readonly connectedProxies = new Gauge({
    name: 'jairouter_operator_connected_proxies',
    help: 'Proxies that reported the version they serve (on the leader: to any replica; on a follower: to this one).',
    registers: [this.registry],
  });
  readonly proxiesVersionsBehind = new Gauge({
    name: 'jairouter_operator_proxies_versions_behind',
    help: 'Of jairouter_operator_connected_proxies, those serving a config version other than the newest this replica compiled.',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'jairouter_operator_' });
    const running = this.#running;
    // Read at scrape time (client-go refreshes them every 500 ms): one queue key, so at most one run per queue.
    this.workqueueUnfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name', 'controller'] as const, registers: [this.registry],
      collect() {
        for (const [name, probe] of running) this.set({ name, controller: name }, (probe.runningForMs ?? 0) / 1000);
      },
    });
    this.workqueueLongestRunningProcessor = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'] as const, registers: [this.registry],
      collect() {
        for (const [name, probe] of running) this.set({ name, controller: name }, (probe.runningForMs ?? 0) / 1000);
      },
    });
  }

  /**
   * Creates every series of `controller` at its starting value, as controller-runtime does when
   * a controller starts (so rate() and absent() work before the first error), and makes the
   * unfinished-work gauges read `probe`.
   */
  registerController(controller: string, probe: RunningProbe, maxConcurrentReconciles: number): void {
    this.#running.set(controller, probe);
    const q = { name: controller, controller };
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) this.controllerReconciles.inc({ controller, result }, 0);
    this.controllerReconcileErrors.inc({ controller }, 0);
    this.controllerMaxConcurrentReconciles.set({ controller }, maxConcurrentReconciles);
    this.controllerActiveWorkers.set({ controller }, 0);
    this.workqueueDepth.set(q, 0);
    this.workqueueAdds.inc(q, 0);
    this.workqueueRetries.inc(q, 0);
    this.reconciles.inc({ result: 'success' }, 0);
    this.reconciles.inc({ result: 'error' }, 0);
  }
}
