import { Counter, Gauge, type Registry } from 'prom-client';
import { saturation, type EngineSignals } from '../engine/signals.ts';

/** One endpoint of the config being served, as the capacity metrics read it at scrape time. */
export interface CapacityRow {
  route: string;
  backend: string;
  endpoint: string;
  /** Taking traffic (not ejected, not cooling down, passing active checks). */
  up: boolean;
  inflight: number;
  awaitingHeaders: number;
  maxConcurrency: number | undefined;
  /** The engine's last reading, and how old it may be and still count (three read intervals); null when not read. */
  engine: EngineSignals | null;
  staleAfterMs: number;
}

/** An endpoint at or above this saturation counts as saturated (status, jairouter_backend_endpoints). */
export const SATURATED = 0.9;

const ENDPOINT = ['route', 'backend', 'endpoint'] as const;
const BACKEND = ['route', 'backend'] as const;

/**
 * The engines' load and the autoscaling signals (docs/autoscaling.md), computed when scraped from
 * the config being served: endpoints that left it leave the metrics. Per endpoint, what its
 * engine last reported; per backend, the sums and the saturation an HPA or KEDA scales on.
 */
export class CapacityMetrics {
  /** The endpoints of the config being served (RuntimeSwap.capacity). */
  rows: () => Iterable<CapacityRow> = () => [];
  /** The scraper's clock (performance.now), for the readings' age. */
  now: () => number = () => performance.now();

  readonly scrapes: Counter<'route' | 'backend' | 'result'>;
  #snapshot: { at: number; rows: CapacityRow[] } | null = null;

  constructor(registry: Registry) {
    const rows = (): CapacityRow[] => {
      // One read of the endpoints per scrape, shared by every gauge below.
      const t = this.now();
      if (this.#snapshot === null || t - this.#snapshot.at > 50) this.#snapshot = { at: t, rows: [...this.rows()] };
      return this.#snapshot.rows;
    };
    const fresh = (r: CapacityRow, t: number): EngineSignals | null => (r.engine !== null && t - r.engine.at <= r.staleAfterMs ? r.engine : null);
    const endpointGauge = (name: string, help: string, value: (s: EngineSignals, r: CapacityRow, t: number) => number): Gauge => {
      const g: Gauge<(typeof ENDPOINT)[number]> = new Gauge({
        name, help, labelNames: ENDPOINT, registers: [registry],
        collect: (): void => {
          g.reset();
          const t = this.now();
          for (const r of rows()) {
            if (r.engine === null) continue;
            const v = value(r.engine, r, t);
            if (!Number.isNaN(v)) g.labels(r.route, r.backend, r.endpoint).set(v);
          }
        },
      });
      return g;
    };
    endpointGauge('jairouter_engine_requests_waiting', 'Requests waiting in the engine (vLLM num_requests_waiting, SGLang num_queue_reqs), as last read from its metrics.', (s) => s.waiting);
    endpointGauge('jairouter_engine_requests_running', 'Requests the engine is running (vLLM num_requests_running, SGLang num_running_reqs), as last read.', (s) => s.running);
    endpointGauge('jairouter_engine_kv_cache_usage_ratio', 'KV-cache usage of the engine, 0-1, as last read.', (s) => s.kvUsage);
    endpointGauge('jairouter_engine_prefix_cache_hit_ratio', 'Share of prompt tokens the engine found in its prefix cache, between its last two readings (vLLM v1 counters) or as it reports it.', (s) => s.prefixHitRatio);
    endpointGauge('jairouter_engine_signal_age_seconds', 'Age of the engine\'s last reading. LoadAware stops trusting a reading older than three read intervals.', (s, _r, t) => (t - s.at) / 1000);

    const backendGauge = <L extends string>(name: string, help: string, labels: readonly L[], fill: (g: Gauge<L>, t: number) => void): void => {
      const g: Gauge<L> = new Gauge({
        name, help, labelNames: labels, registers: [registry],
        collect: (): void => {
          g.reset();
          fill(g, this.now());
        },
      });
    };
    const byBackend = <T>(t: number, init: () => T, add: (acc: T, r: CapacityRow, s: EngineSignals | null) => void): Map<string, { route: string; backend: string; acc: T }> => {
      const out = new Map<string, { route: string; backend: string; acc: T }>();
      for (const r of rows()) {
        const k = `${r.route}\u0000${r.backend}`;
        let e = out.get(k);
        if (e === undefined) out.set(k, (e = { route: r.route, backend: r.backend, acc: init() }));
        add(e.acc, r, fresh(r, t));
      }
      return out;
    };
    backendGauge('jairouter_backend_queue_depth', 'Requests queued for the backend: source="engine" what its engines report waiting (fresh readings only; the same on every proxy replica, so aggregate with max), source="gateway" the requests this replica sent that await their response headers (sum over replicas).', [...BACKEND, 'source'], (g, t) => {
      for (const b of byBackend(t, () => ({ engine: 0, engines: 0, gateway: 0 }), (a, r, s) => {
        a.gateway += r.awaitingHeaders;
        if (s !== null && !Number.isNaN(s.waiting)) {
          a.engine += s.waiting;
          a.engines++;
        }
      }).values()) {
        g.labels(b.route, b.backend, 'gateway').set(b.acc.gateway);
        if (b.acc.engines > 0) g.labels(b.route, b.backend, 'engine').set(b.acc.engine);
      }
    });
    backendGauge('jairouter_backend_inflight', 'Requests this replica has in flight to the backend.', BACKEND, (g, t) => {
      for (const b of byBackend(t, () => ({ n: 0 }), (a, r) => (a.n += r.inflight)).values()) g.labels(b.route, b.backend).set(b.acc.n);
    });
    backendGauge('jairouter_backend_saturation', 'How close the backend is to its capacity, 0-1: the mean over its endpoints of max(KV-cache usage, waiting / (waiting + running)) from fresh engine readings, or in-flight / maxConcurrency without them (docs/autoscaling.md). No series when no endpoint has either.', BACKEND, (g, t) => {
      for (const b of byBackend(t, () => ({ sum: 0, n: 0 }), (a, r, s) => {
        const v = saturation(s, r.inflight, r.maxConcurrency);
        if (Number.isNaN(v)) return;
        a.sum += v;
        a.n++;
      }).values()) if (b.acc.n > 0) g.labels(b.route, b.backend).set(b.acc.sum / b.acc.n);
    });
    backendGauge('jairouter_backend_endpoints', `The backend's endpoints in the config being served, by state: ready (taking traffic), ejected (out of rotation: passive or active health, or a 429 cooldown), saturated (saturation ${SATURATED} or more).`, [...BACKEND, 'state'], (g, t) => {
      for (const b of byBackend(t, () => ({ ready: 0, ejected: 0, saturated: 0 }), (a, r, s) => {
        if (r.up) a.ready++;
        else a.ejected++;
        if (saturation(s, r.inflight, r.maxConcurrency) >= SATURATED) a.saturated++;
      }).values()) {
        g.labels(b.route, b.backend, 'ready').set(b.acc.ready);
        g.labels(b.route, b.backend, 'ejected').set(b.acc.ejected);
        g.labels(b.route, b.backend, 'saturated').set(b.acc.saturated);
      }
    });
    this.scrapes = new Counter({
      name: 'jairouter_engine_scrapes_total',
      help: 'Reads of the engines\' metrics, by route, backend and result (ok; error: unreachable, not 2xx, too large, or no metric the proxy reads).',
      labelNames: ['route', 'backend', 'result'] as const,
      registers: [registry],
    });
  }
}

/**
 * Ejected and saturated endpoints by route and backend, for the operator's ModelRoute status
 * (UsageReport.endpoints). Saturation counts only fresh engine readings, or maxConcurrency.
 */
export function capacitySummary(rows: Iterable<CapacityRow>, now: number): Record<string, Record<string, { ejected: number; saturated: number }>> {
  const out: Record<string, Record<string, { ejected: number; saturated: number }>> = {};
  for (const r of rows) {
    const b = ((out[r.route] ??= {})[r.backend] ??= { ejected: 0, saturated: 0 });
    if (!r.up) b.ejected++;
    const s = r.engine !== null && now - r.engine.at <= r.staleAfterMs ? r.engine : null;
    if (saturation(s, r.inflight, r.maxConcurrency) >= SATURATED) b.saturated++;
  }
  return out;
}
