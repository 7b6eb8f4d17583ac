import { request, type Dispatcher } from 'undici';
import { USER_AGENT } from '../adapters/upstream-headers.ts';
import type { Logger } from '../telemetry/logger.ts';
import { modelListUrl, modelNames } from './model-lists.ts';
import type { Runtime } from './runtime.ts';

/** How often each backend's model list is asked for again. */
const REFRESH_MS = 60_000;
const TIMEOUT_MS = 5_000;

interface Lister {
  timer: NodeJS.Timeout;
  stopped: boolean;
  names: readonly string[];
}

/**
 * The model names the backends of prefix routes (`qwen*`) actually serve, for `GET /v1/models`:
 * each such endpoint's model list is fetched in the background when a config is applied and
 * every minute after, never on the request path. A list that cannot be fetched keeps the last
 * one. `version` changes whenever a list does, so the per-tenant answers are rebuilt.
 */
export class ModelDiscovery {
  version = 0;
  private listers = new Map<string, Lister>();
  private readonly log: Logger;
  private readonly dispatcherFor: (url: string) => Dispatcher | undefined;

  constructor(log: Logger, dispatcherFor: (url: string) => Dispatcher | undefined = () => undefined) {
    this.log = log;
    this.dispatcherFor = dispatcherFor;
  }

  apply(rt: Runtime): void {
    const next = new Map<string, Lister>();
    for (const route of rt.routes) {
      if (!route.ir.models.some((m) => m.endsWith('*'))) continue;
      for (const ep of route.endpoints) {
        const url = modelListUrl(ep.backend.ir, ep.url, ep.origin);
        if (url === null) continue;
        const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', ...ep.backend.adapter.authHeaders(ep.backend.ir) };
        const key = JSON.stringify([route.id, url, headers]);
        const existing = this.listers.get(key);
        if (existing) {
          this.listers.delete(key);
          next.set(key, existing);
          continue;
        }
        const lister: Lister = { timer: undefined as unknown as NodeJS.Timeout, stopped: false, names: [] };
        const dispatcher = this.dispatcherFor(url);
        const fetchList = async (): Promise<void> => {
          try {
            const r = await request(url, { method: 'GET', headers, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS, signal: AbortSignal.timeout(TIMEOUT_MS), ...(dispatcher && { dispatcher }) });
            if (r.statusCode < 200 || r.statusCode >= 300) {
              await r.body.dump();
              throw new Error(`status ${r.statusCode}`);
            }
            const names = modelNames(await r.body.json()).sort();
            if (lister.stopped || names.join('\n') === lister.names.join('\n')) return;
            lister.names = names;
            this.version++;
          } catch (e) {
            if (!lister.stopped) this.log.debug({ route: route.id, backend: ep.backend.name, endpoint: ep.url, err: (e as Error).message }, 'model list not fetched');
          }
        };
        lister.timer = setInterval(() => void fetchList(), REFRESH_MS);
        lister.timer.unref();
        next.set(key, lister);
        void fetchList();
      }
    }
    for (const l of this.listers.values()) {
      l.stopped = true;
      clearInterval(l.timer);
      if (l.names.length > 0) this.version++;
    }
    this.listers = next;
  }

  /** Every name some backend of a prefix route reported (the caller checks routes and access). */
  *names(): Iterable<string> {
    for (const l of this.listers.values()) yield* l.names;
  }

  stop(): void {
    for (const l of this.listers.values()) {
      l.stopped = true;
      clearInterval(l.timer);
    }
    this.listers = new Map();
  }
}
