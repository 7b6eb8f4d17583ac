import { request } from 'undici';
import type { Logger } from '../telemetry/logger.ts';
import type { Runtime } from '../runtime/runtime.ts';

/**
 * Probes every endpoint of routes that configure `healthCheck.active`, one timer per endpoint.
 * Re-armed on each config swap; health state lives in EndpointHealth, so it survives swaps.
 */
export class ActiveChecker {
  private timers: NodeJS.Timeout[] = [];

  private readonly log: Logger;
  private readonly onChange: (routeId: string, backend: string, url: string, up: boolean) => void;

  constructor(log: Logger, onChange: (routeId: string, backend: string, url: string, up: boolean) => void) {
    this.log = log;
    this.onChange = onChange;
  }

  apply(rt: Runtime): void {
    this.stop();
    for (const route of rt.routes) {
      const active = route.ir.healthCheck.active;
      if (!active) continue;
      for (const ep of route.endpoints) {
        const url = ep.url.replace(/\/+$/, '') + (active.path.startsWith('/') ? active.path : '/' + active.path);
        const headers: Record<string, string> = {};
        if (ep.backend.ir.credential !== undefined) headers.authorization = 'Bearer ' + ep.backend.ir.credential;
        let running = false;
        const probe = async (): Promise<void> => {
          if (running) return;
          running = true;
          let ok = false;
          try {
            const r = await request(url, { method: 'GET', headers, headersTimeout: active.timeoutMs, bodyTimeout: active.timeoutMs, signal: AbortSignal.timeout(active.timeoutMs) });
            await r.body.dump();
            ok = r.statusCode >= 200 && r.statusCode < 300;
          } catch {
            ok = false;
          }
          running = false;
          if (ep.health.recordProbe(ok, active.unhealthyThreshold, active.healthyThreshold)) {
            this.log.warn({ route: route.id, backend: ep.backend.name, endpoint: ep.url, up: ep.health.activeUp }, 'active health changed');
            this.onChange(route.id, ep.backend.name, ep.url, ep.health.activeUp);
          }
        };
        const t = setInterval(() => void probe(), active.intervalMs);
        t.unref();
        this.timers.push(t);
        void probe();
      }
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
