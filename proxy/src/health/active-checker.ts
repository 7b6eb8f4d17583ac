import { request, type Dispatcher } from 'undici';
import type { Logger } from '../telemetry/logger.ts';
import { USER_AGENT } from '../adapters/upstream-headers.ts';
import { probeUrl } from './probe-url.ts';
import type { Runtime } from '../runtime/runtime.ts';

interface Prober {
  timer: NodeJS.Timeout;
  /** Set by stop(): a probe in flight then records nothing. */
  stopped: boolean;
}

/**
 * Probes every endpoint of routes that configure `healthCheck.active`, one timer per endpoint.
 * On a config swap, an endpoint whose probe (URL, path, timing, thresholds, credential) is
 * unchanged keeps its timer: config changes elsewhere cause no burst of probes. Health state
 * lives in EndpointHealth, shared across config versions.
 */
export class ActiveChecker {
  private probers = new Map<string, Prober>();

  private readonly log: Logger;
  /** Probes take the same way out as requests (PoolRegistry.oneOff: the egress proxy, or direct). */
  private readonly dispatcherFor: (url: string) => Dispatcher | undefined;

  constructor(log: Logger, dispatcherFor: (url: string) => Dispatcher | undefined = () => undefined) {
    this.log = log;
    this.dispatcherFor = dispatcherFor;
  }

  apply(rt: Runtime): void {
    const next = new Map<string, Prober>();
    const skipped = new Set<string>();
    for (const route of rt.routes) {
      const active = route.ir.healthCheck.active;
      if (!active) continue;
      for (const ep of route.endpoints) {
        const url = probeUrl(ep.backend.ir, ep.url, ep.origin, active.path);
        if (url === null) {
          skipped.add(`${route.id}/${ep.backend.name}`);
          continue;
        }
        // Probes authenticate as requests do (the adapter's credential header and static options).
        const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...ep.backend.adapter.authHeaders(ep.backend.ir) };
        // The health object is keyed by route, backend and URL: a probe with the same key
        // and the same settings records into the same place.
        const key = JSON.stringify([ep.health.key, url, active, headers]);
        const existing = this.probers.get(key);
        if (existing) {
          this.probers.delete(key);
          next.set(key, existing);
          continue;
        }
        const dispatcher = this.dispatcherFor(url);
        let running = false;
        const prober: Prober = { timer: undefined as unknown as NodeJS.Timeout, stopped: false };
        const probe = async (): Promise<void> => {
          if (running || prober.stopped) return;
          running = true;
          let ok = false;
          try {
            const r = await request(url, {
              method: 'GET', headers, headersTimeout: active.timeoutMs, bodyTimeout: active.timeoutMs, signal: AbortSignal.timeout(active.timeoutMs),
              ...(dispatcher && { dispatcher }),
            });
            await r.body.dump();
            ok = r.statusCode >= 200 && r.statusCode < 300;
          } catch {
            ok = false;
          }
          running = false;
          if (prober.stopped) return;
          if (ep.health.recordProbe(ok, active.unhealthyThreshold, active.healthyThreshold)) {
            this.log.warn({ route: route.id, backend: ep.backend.name, endpoint: ep.url, up: ep.health.activeUp }, 'active health changed');
          }
        };
        prober.timer = setInterval(() => void probe(), active.intervalMs);
        prober.timer.unref();
        next.set(key, prober);
        void probe();
      }
    }
    for (const b of skipped) this.log.warn({ backend: b }, 'active health check skipped: this adapter has no unsigned probe (set healthCheck.active.path to probe it anyway)');
    this.stop();
    this.probers = next;
  }

  /** Endpoints probed now (for tests and the log). */
  get size(): number {
    return this.probers.size;
  }

  stop(): void {
    for (const p of this.probers.values()) {
      p.stopped = true;
      clearInterval(p.timer);
    }
    this.probers = new Map();
  }
}
