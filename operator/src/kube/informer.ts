import { ListWatch, Watch, makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { backoffDelay } from './backoff.ts';

export type CachingInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** How an informer instance is made; tests hand in fakes. */
export type InformerFactory<T extends KubernetesObject> = () => CachingInformer<T>;

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** For logs and metrics, e.g. "modelroutes". */
  name: string;
  factory: InformerFactory<T>;
  /** Any add, update, delete, or a relist: the caller enqueues. `object` is absent for a relist. */
  onChange: (object: T | undefined) => void;
  /** Full relist period against silent watch stalls (default 5 min; 0 disables). */
  relistMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  onError?: (name: string, err: unknown, retryInMs: number) => void;
  /** A restart listed and watches again after `failures` failed attempts. */
  onRecovered?: (name: string, failures: number) => void;
}

/**
 * client-node's informer (ListWatch) resumes by itself after a watch timeout, a clean close
 * and 410 Gone, but after any other error (connection refused, 403, 500, a failed list) it
 * reports the error and stops. This wrapper restarts it with exponential backoff (never a
 * tight loop: client-node#1933), and relists periodically by building a fresh informer and
 * swapping caches once it has listed, because a watch can stall silently (client-node#958).
 */
export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  readonly #opts: ResilientInformerOptions<T>;
  #current: CachingInformer<T> | undefined;
  #synced = false;
  #stopped = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #relistTimer: NodeJS.Timeout | undefined;
  #restarts = 0;

  constructor(opts: ResilientInformerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
  }

  /** True once a list has succeeded: the cache holds the cluster's state from then on. */
  get synced(): boolean {
    return this.#synced;
  }

  get restarts(): number {
    return this.#restarts;
  }

  list(): readonly T[] {
    return this.#current?.list() ?? [];
  }

  /** Starts listing and watching; resolves once the first list succeeded (retrying until then, or until stop()). */
  async start(): Promise<void> {
    const informer = this.#make();
    this.#current = informer;
    await this.#startInstance(informer);
    if (this.#opts.relistMs !== 0) {
      this.#relistTimer = setInterval(() => void this.relist(), this.#opts.relistMs ?? 5 * 60_000);
      this.#relistTimer.unref();
    }
    while (!this.#synced && !this.#stopped) await new Promise((r) => setTimeout(r, 50));
  }

  /** Builds a fresh informer, lets it list, then swaps it in; the old one's cache is dropped. */
  async relist(): Promise<void> {
    if (this.#stopped || !this.#synced) return;
    const fresh = this.#make();
    const ok = await this.#tryStart(fresh);
    if (!ok || this.#stopped) {
      void fresh.stop();
      return;
    }
    const old = this.#current;
    this.#current = fresh;
    void old?.stop();
    this.#opts.onChange(undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    if (this.#relistTimer) clearInterval(this.#relistTimer);
    await this.#current?.stop();
  }

  #make(): CachingInformer<T> {
    const informer = this.#opts.factory();
    const changed = (o: T) => {
      if (informer === this.#current) this.#opts.onChange(o);
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    informer.on('error', (err: unknown) => {
      // A stopped or replaced instance reports the abort of its own watch: not our business.
      if (informer !== this.#current || this.#stopped) return;
      this.#scheduleRestart(informer, err);
    });
    return informer;
  }

  /** Starts an instance; true when it listed and watches without an error on the way. */
  async #tryStart(informer: CachingInformer<T>): Promise<boolean> {
    let failed = false;
    const onError = () => {
      failed = true;
    };
    informer.on('error', onError);
    try {
      await informer.start();
    } catch {
      failed = true;
    }
    informer.off('error', onError);
    return !failed;
  }

  async #startInstance(informer: CachingInformer<T>): Promise<void> {
    if (await this.#tryStart(informer)) {
      if (this.#failures > 0) this.#opts.onRecovered?.(this.name, this.#failures);
      this.#failures = 0;
      if (!this.#synced) {
        this.#synced = true;
        this.#opts.onChange(undefined);
      }
    }
    // On failure the instance's error handler has already scheduled a restart.
  }

  #scheduleRestart(informer: CachingInformer<T>, err: unknown): void {
    if (this.#restartTimer || this.#stopped) return;
    this.#failures++;
    const delay = backoffDelay(this.#failures, this.#opts.restartBaseMs ?? 1000, this.#opts.restartMaxMs ?? 30_000);
    this.#opts.onError?.(this.name, err, delay);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped || informer !== this.#current) return;
      this.#restarts++;
      // start() resumes from the last resourceVersion; an expired one gets 410 and a relist.
      void this.#startInstance(informer);
    }, delay);
    this.#restartTimer.unref?.();
  }
}

/** Lists as plain JSON objects, the same shape the watch delivers (typed lists would hand back class instances with Date fields). */
export type ListFn = () => Promise<KubernetesListObject<KubernetesObject>>;

export function informerFactory(kc: KubeConfig, path: string, list: ListFn, fieldSelector?: string): InformerFactory<KubernetesObject> {
  // makeInformer takes no field selector; ListWatch is what it builds, with one.
  if (fieldSelector === undefined) return () => makeInformer(kc, path, list);
  return () => new ListWatch(path, new Watch(kc), list, false, undefined, fieldSelector);
}
