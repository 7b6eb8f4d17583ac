import { request, type Dispatcher } from 'undici';
import { USER_AGENT } from '../adapters/upstream-headers.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Logger } from '../telemetry/logger.ts';
import { readEngineMetrics } from './signals.ts';

/** The largest /metrics body read (vLLM's is tens of KiB; histograms per LoRA can grow it). */
const MAX_BYTES = 4 * 1024 * 1024;

interface Scrape {
  timer: NodeJS.Timeout;
  /** Set by stop(): a read in flight then records nothing. */
  stopped: boolean;
}

export interface ScrapeHooks {
  /** One read ended: ok, or failed (unreachable, not 2xx, too large, or no metric this reader knows). */
  onScrape?(route: string, backend: string, ok: boolean): void;
}

/**
 * Reads the engines' /metrics in the background, for the routes whose config asks for it
 * (RouteIR.engineMetrics): one timer per endpoint, the reading kept on the endpoint's
 * EndpointHealth (shared across config versions) for the LoadAware balancer and the metrics.
 * As with active health checks, an endpoint whose read settings are unchanged keeps its timer
 * across config swaps. A failed read leaves the last reading to age: LoadAware stops trusting it
 * after three intervals, and scores the endpoint by the gateway's own view.
 */
export class EngineScraper {
  #scrapes = new Map<string, Scrape>();
  readonly #log: Logger;
  readonly #dispatcherFor: (url: string) => Dispatcher | undefined;
  readonly #hooks: ScrapeHooks;
  readonly #now: () => number;
  /** Endpoints whose failure was logged (once per failing streak). */
  readonly #failing = new Set<string>();

  constructor(log: Logger, dispatcherFor: (url: string) => Dispatcher | undefined = () => undefined, hooks: ScrapeHooks = {}, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#dispatcherFor = dispatcherFor;
    this.#hooks = hooks;
    this.#now = now;
  }

  apply(rt: Runtime): void {
    const next = new Map<string, Scrape>();
    for (const route of rt.routes) {
      const em = route.ir.engineMetrics;
      if (em === undefined) continue;
      for (const ep of route.endpoints) {
        if (!em.backends.includes(ep.backend.name)) continue;
        const url = ep.origin + em.path;
        const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'text/plain', ...ep.backend.adapter.authHeaders(ep.backend.ir) };
        const key = JSON.stringify([ep.health.key, url, em.intervalMs, em.timeoutMs, headers]);
        const existing = this.#scrapes.get(key);
        if (existing) {
          this.#scrapes.delete(key);
          next.set(key, existing);
          continue;
        }
        const dispatcher = this.#dispatcherFor(url);
        const health = ep.health;
        const s: Scrape = { timer: undefined as unknown as NodeJS.Timeout, stopped: false };
        let running = false;
        const read = async (): Promise<void> => {
          if (running || s.stopped) return;
          running = true;
          let text: string | null = null;
          let why = '';
          try {
            const r = await request(url, {
              method: 'GET', headers, headersTimeout: em.timeoutMs, bodyTimeout: em.timeoutMs, signal: AbortSignal.timeout(em.timeoutMs),
              ...(dispatcher && { dispatcher }),
            });
            if (r.statusCode < 200 || r.statusCode >= 300) {
              why = `status ${r.statusCode}`;
              await r.body.dump();
            } else {
              text = await readCapped(r.body, MAX_BYTES);
              if (text === null) why = 'metrics larger than 4 MiB';
            }
          } catch (e) {
            why = (e as Error).message;
          }
          running = false;
          if (s.stopped) return;
          const signals = text === null ? null : readEngineMetrics(text, this.#now(), health.inflight, health.engine);
          if (text !== null && signals === null) why = `no engine metric this proxy reads at ${em.path} (vLLM, SGLang)`;
          this.#hooks.onScrape?.(route.id, ep.backend.name, signals !== null);
          if (signals !== null) {
            health.engine = signals;
            if (this.#failing.delete(key)) this.#log.info({ route: route.id, backend: ep.backend.name, endpoint: ep.url }, 'engine metrics readable again');
          } else if (!this.#failing.has(key)) {
            this.#failing.add(key);
            this.#log.warn({ route: route.id, backend: ep.backend.name, endpoint: ep.url, reason: why }, 'engine metrics unreadable: the endpoint is balanced by the gateway\'s own view until they are');
          }
        };
        s.timer = setInterval(() => void read(), em.intervalMs);
        s.timer.unref();
        next.set(key, s);
        void read();
      }
    }
    for (const [key, s] of this.#scrapes) {
      s.stopped = true;
      clearInterval(s.timer);
      this.#failing.delete(key);
    }
    this.#scrapes = next;
  }

  /** Endpoints read now (for tests). */
  get size(): number {
    return this.#scrapes.size;
  }

  stop(): void {
    for (const s of this.#scrapes.values()) {
      s.stopped = true;
      clearInterval(s.timer);
    }
    this.#scrapes = new Map();
  }
}

/** The body as text, or null (the rest discarded) once it passes `max` bytes. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) {
      body.destroy();
      return null;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
