import { API_VERSION } from '@jairouter/crds';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { kubeTime, type ConditionTransition } from '../reconcile/status.ts';
import type { CustomKind } from '../reconcile/reconcile.ts';
import { httpStatus } from './status-writer.ts';

export const COMPONENT = 'jairouter-operator';

/** How many recorded Events are remembered for aggregation (client-go's EventCorrelator cache size). */
export const EVENT_CACHE_SIZE = 4096;
/** A repeat later than this after the last occurrence starts a new Event (client-go's aggregation window). */
export const EVENT_AGGREGATE_WINDOW_MS = 10 * 60_000;

export interface EventTarget {
  kind: CustomKind;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventRecorder {
  transition(target: EventTarget, t: ConditionTransition): Promise<void>;
}

/** Warning for a spec or reference problem; Programmed=False is a normal step of every rollout. */
export function eventType(t: ConditionTransition): 'Normal' | 'Warning' {
  return t.to === 'True' || t.type === 'Programmed' ? 'Normal' : 'Warning';
}

/** The two calls the recorder makes (CoreV1Api's signatures), so a test can stand in for the API server. */
export type EventsApi = Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export interface KubeEventRecorderOptions {
  /** The clock (tests). */
  now?: () => Date;
  /** Instead of a CoreV1Api made from the KubeConfig (tests). */
  api?: EventsApi;
  cacheSize?: number;
  windowMs?: number;
}

interface Recorded {
  name: string;
  count: number;
  /** When this Event last occurred, ms since the epoch. */
  last: number;
}

/**
 * core/v1 Events (what `kubectl describe` shows), one per condition transition, reason = the
 * condition's reason. Repeats aggregate like client-go's EventCorrelator: an Event with the same
 * object, type, reason and message as one recorded less than 10 minutes before is not created
 * again; the existing one gets `count + 1` and a new `lastTimestamp` (merge patch). When that
 * Event is gone (404: deleted, or expired after the API server's event TTL), a new one is created.
 */
export class KubeEventRecorder implements EventRecorder {
  readonly #api: EventsApi;
  readonly #instance: string;
  readonly #now: () => Date;
  readonly #cacheSize: number;
  readonly #windowMs: number;
  /** LRU: a Map iterates in insertion order, so the first key is the least recently used. */
  readonly #recorded = new Map<string, Recorded>();
  /** Per key, the tail of the calls in progress: one key's create/patch calls never overlap. */
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(kc: KubeConfig, instance: string, opts: KubeEventRecorderOptions = {}) {
    this.#api = opts.api ?? kc.makeApiClient(CoreV1Api);
    this.#instance = instance;
    this.#now = opts.now ?? (() => new Date());
    this.#cacheSize = opts.cacheSize ?? EVENT_CACHE_SIZE;
    this.#windowMs = opts.windowMs ?? EVENT_AGGREGATE_WINDOW_MS;
  }

  async transition(target: EventTarget, t: ConditionTransition): Promise<void> {
    const type = eventType(t);
    const message = `${t.type}=${t.to}: ${t.message}`.slice(0, 1024);
    const key = JSON.stringify([target.namespace, target.kind, target.name, target.uid ?? '', type, t.reason, message]);
    const previous = this.#inflight.get(key);
    const run = (previous ?? Promise.resolve()).then(() => this.#record(key, target, t.reason, message, type));
    const tail = run.catch(() => {});
    this.#inflight.set(key, tail);
    try {
      await run;
    } finally {
      if (this.#inflight.get(key) === tail) this.#inflight.delete(key);
    }
  }

  async #record(key: string, target: EventTarget, reason: string, message: string, type: string): Promise<void> {
    const now = this.#now();
    const seen = this.#recorded.get(key);
    if (seen !== undefined && now.getTime() - seen.last < this.#windowMs) {
      try {
        const patched = await this.#api.patchNamespacedEvent(
          { name: seen.name, namespace: target.namespace, body: { count: seen.count + 1, lastTimestamp: kubeTime(now) } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        this.#remember(key, { name: seen.name, count: patched.count ?? seen.count + 1, last: now.getTime() });
        return;
      } catch (e) {
        if (httpStatus(e) !== 404) throw e;
        this.#recorded.delete(key); // gone: record it anew below
      }
    }
    const created: CoreV1Event = await this.#api.createNamespacedEvent({
      namespace: target.namespace,
      body: {
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: {
          apiVersion: API_VERSION, kind: target.kind, namespace: target.namespace, name: target.name,
          ...(target.uid !== undefined && { uid: target.uid }),
        },
        reason,
        message,
        type,
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.#instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    const name = created.metadata?.name;
    if (name !== undefined) this.#remember(key, { name, count: created.count ?? 1, last: now.getTime() });
  }

  #remember(key: string, r: Recorded): void {
    this.#recorded.delete(key);
    this.#recorded.set(key, r);
    while (this.#recorded.size > this.#cacheSize) {
      const oldest = this.#recorded.keys().next().value;
      if (oldest === undefined) break;
      this.#recorded.delete(oldest);
    }
  }
}
