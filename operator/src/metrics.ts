import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics, on a registry of its own (served at /metrics). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'jairouter_operator_reconcile_total', help: 'Reconcile passes, by result (success, error).',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'jairouter_operator_reconcile_duration_seconds', help: 'Duration of a reconcile pass (compile, publish, status writes).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'jairouter_operator_queue_depth', help: 'Reconciles waiting to run (the queue coalesces to one key: 0 or 1).',
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'jairouter_operator_reconcile_retries_total', help: 'Failed reconciles scheduled for a retry with backoff.',
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
    name: 'jairouter_operator_connected_proxies', help: 'Proxies subscribed to this replica.', registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'jairouter_operator_' });
  }
}
