import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './series-metrics.ts';
import { GenAiMetrics } from './gen-ai.ts';
import { CapacityMetrics } from './capacity.ts';

/** The proxy's Prometheus metrics. Label values come from the config (route ids, backend names) and status codes only. */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests = new SeriesCounter({
    name: 'jairouter_requests_total',
    help: 'Requests answered, by route, backend and HTTP status code.',
    labelNames: ['route', 'backend', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new SeriesHistogram({
    name: 'jairouter_request_duration_seconds',
    help: 'Time from request received to response finished (streams included), by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'jairouter_upstream_errors_total',
    help: 'Failed upstream attempts, by route, backend and reason (connect-failure, reset, timeout, 5xx, 429).',
    labelNames: ['route', 'backend', 'reason'] as const,
    registers: [this.registry],
  });
  readonly tokens = new SeriesCounter({
    name: 'jairouter_tokens_total',
    help: 'Tokens reported by upstream usage, by route, backend and direction (in = prompt, out = completion).',
    labelNames: ['route', 'backend', 'direction'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'jairouter_rate_limited_total',
    help: 'Requests refused with 429 by the gateway\'s own limits, by the limit (RateLimitPolicy rule `namespace/policy/rule`, or tenant quota `namespace/tenant/quota:<field>`; budget: `namespace/tenant/budget`).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly masks = new Counter({
    name: 'jairouter_masks_total',
    help: 'Matches masked, by tenant, rule and direction: `request` before it left the gateway (Tenant.spec.masking.requests), `response` before the client received it (spec.masking.responses). Counts only, never the text.',
    labelNames: ['tenant', 'rule', 'direction'] as const,
    registers: [this.registry],
  });
  /** 1 while the Redis of Cluster limits answers, 0 while they fall back to per-replica shares; absent without --redis-url. */
  readonly redisUp = new Gauge({
    name: 'jairouter_ratelimit_redis_up',
    help: '1 while the Redis holding Cluster-scope limits answers; 0 while each replica enforces its share of them (the limit divided by the replicas).',
    registers: [this.registry],
  });
  /** The proxy replicas the operator reports (1 standalone), read at scrape time. */
  replicas: () => number = () => 1;
  readonly replicaCount: Gauge = new Gauge({
    name: 'jairouter_proxy_replicas',
    help: 'Proxy replicas the operator reports running (1 standalone): Cluster-scope limits are divided by it while they have no Redis.',
    registers: [this.registry],
    collect: (): void => this.replicaCount.set(this.replicas()),
  });
  /** What this replica keeps in memory of the Responses API answers it served through chat (responses/store.ts). */
  keptResponses: () => { bytes: number; entries: number } = () => ({ bytes: 0, entries: 0 });
  readonly keptResponseBytes: Gauge = new Gauge({
    name: 'jairouter_responses_kept_bytes',
    help: 'Size of the Responses API answers this replica keeps in memory for previous_response_id and retrieval (the JSON, bounded by --response-store-max-bytes).',
    registers: [this.registry],
    collect: (): void => this.keptResponseBytes.set(this.keptResponses().bytes),
  });
  readonly keptResponseCount: Gauge = new Gauge({
    name: 'jairouter_responses_kept',
    help: 'Responses API answers this replica keeps in memory for previous_response_id and retrieval (those of backends served through chat).',
    registers: [this.registry],
    collect: (): void => this.keptResponseCount.set(this.keptResponses().entries),
  });
  readonly redisTransitions = new Counter({
    name: 'jairouter_ratelimit_redis_transitions_total',
    help: 'Times the Redis of Cluster-scope limits became unreachable (to="down") or reachable again (to="up").',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });
  /** Requests being handled now; a plain number on the hot path, read by the gauge at scrape time. */
  inflightCount = 0;
  readonly inflight: Gauge = new Gauge({
    name: 'jairouter_inflight_requests',
    help: 'Requests being handled right now.',
    registers: [this.registry],
    collect: (): void => this.inflight.set(this.inflightCount),
  });
  readonly configReloads = new Counter({
    name: 'jairouter_config_reloads_total',
    help: 'Config loads by result (applied, rejected).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly attempts = new SeriesCounter({
    name: 'jairouter_upstream_attempts_total',
    help: 'Upstream attempts started, by route and backend (a request that is retried or fails over makes several).',
    labelNames: ['route', 'backend'] as const,
    registers: [this.registry],
  });
  readonly retries = new SeriesCounter({
    name: 'jairouter_retries_total',
    help: 'Upstream attempts that were not a request\'s first (retries on the same route, or on a fallback route), by the route and backend tried.',
    labelNames: ['route', 'backend'] as const,
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: 'jairouter_fallbacks_total',
    help: 'Requests moved on to a route of `fallback.models` after their route failed, by the route and the fallback route.',
    labelNames: ['route', 'fallback'] as const,
    registers: [this.registry],
  });
  /** The version and apply time of the config served, read at scrape time. */
  config: () => { version: string; appliedAt: number } | null = () => null;
  readonly configInfo: Gauge<'version'> = new Gauge({
    name: 'jairouter_config_info',
    help: 'Always 1, labelled with the version (content hash) of the config being served: compare across proxies and with the operator\'s.',
    labelNames: ['version'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.configInfo.reset();
      const c = this.config();
      if (c) this.configInfo.labels(c.version).set(1);
    },
  });
  readonly configApplied: Gauge = new Gauge({
    name: 'jairouter_config_applied_timestamp_seconds',
    help: 'When the config being served was applied (Unix time): `time() - jairouter_config_applied_timestamp_seconds` is its age.',
    registers: [this.registry],
    collect: (): void => {
      const c = this.config();
      if (c) this.configApplied.set(c.appliedAt / 1000);
    },
  });
  /** The endpoints of the config being served now, read at scrape time (see endpointHealthy). */
  endpoints: () => Iterable<{ route: string; backend: string; endpoint: string; up: boolean }> = () => [];
  /**
   * Computed when scraped, from the config being served: an endpoint that left the config
   * (a Pod gone, a backend removed) leaves the metric too, so churn never piles up series.
   */
  readonly endpointHealthy: Gauge<'route' | 'backend' | 'endpoint'> = new Gauge({
    name: 'jairouter_endpoint_healthy',
    help: '1 when an endpoint is taking traffic, 0 while it is ejected (passive health), cooling down after a 429, or failing active checks. Only endpoints of the config being served.',
    labelNames: ['route', 'backend', 'endpoint'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.endpointHealthy.reset();
      for (const e of this.endpoints()) this.endpointHealthy.labels(e.route, e.backend, e.endpoint).set(e.up ? 1 : 0);
    },
  });

  /** The OpenTelemetry gen_ai series and spend (gen-ai.ts). */
  readonly genAi = new GenAiMetrics(this.registry);
  /** Engine readings and the autoscaling signals (capacity.ts). */
  readonly capacity = new CapacityMetrics(this.registry);

  // Children resolved once per label set (series-metrics.ts: labels() is where the series is found).
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly tokenChildren = new Map<string, [{ inc(v: number): void }, { inc(v: number): void }]>();
  private readonly durationChildren = new Map<string, { observe(v: number): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'jairouter_process_' });
  }

  countRequest(route: string, backend: string, status: number, seconds: number): void {
    const key = route + '\0' + backend + '\0' + status;
    let c = this.requestChildren.get(key);
    if (!c) {
      c = this.requests.labels(route, backend, String(status));
      this.requestChildren.set(key, c);
    }
    c.inc();
    let h = this.durationChildren.get(route);
    if (!h) {
      h = this.duration.labels(route);
      this.durationChildren.set(route, h);
    }
    h.observe(seconds);
  }

  private readonly attemptChildren = new Map<string, [{ inc(): void }, { inc(): void }]>();

  countAttempt(route: string, backend: string, retry: boolean): void {
    const key = route + '\0' + backend;
    let c = this.attemptChildren.get(key);
    if (!c) {
      c = [this.attempts.labels(route, backend), this.retries.labels(route, backend)];
      this.attemptChildren.set(key, c);
    }
    c[0].inc();
    if (retry) c[1].inc();
  }

  countTokens(route: string, backend: string, tokensIn: number, tokensOut: number): void {
    const key = route + '\0' + backend;
    let c = this.tokenChildren.get(key);
    if (!c) {
      c = [this.tokens.labels(route, backend, 'in'), this.tokens.labels(route, backend, 'out')];
      this.tokenChildren.set(key, c);
    }
    if (tokensIn > 0) c[0].inc(tokensIn);
    if (tokensOut > 0) c[1].inc(tokensOut);
  }
}
