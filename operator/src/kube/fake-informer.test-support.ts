// An in-memory stand-in for client-node's ListWatch, for unit tests of the informer wrapper
// and the controller: objects are put and deleted by the test, errors injected on demand.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { CachingInformer } from './informer.ts';

type Cb = (o?: unknown) => void;

export class FakeCluster {
  readonly objects = new Map<string, KubernetesObject>();
  readonly informers = new Set<FakeInformer>();
  rv = 0;
  /** When set, the next start() of any informer fails with this. */
  failNextStarts = 0;
  starts = 0;

  put(o: KubernetesObject): KubernetesObject {
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    const stored = JSON.parse(JSON.stringify(o)) as KubernetesObject;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.rv) };
    const existed = this.objects.has(key);
    this.objects.set(key, stored);
    for (const i of this.informers) i.deliver(existed ? 'update' : 'add', stored);
    return stored;
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const o = this.objects.get(key);
    if (!o) return;
    this.objects.delete(key);
    for (const i of this.informers) i.deliver('delete', o);
  }

  factory = (): CachingInformer<KubernetesObject> => new FakeInformer(this) as unknown as CachingInformer<KubernetesObject>;
}

export class FakeInformer {
  readonly #cluster: FakeCluster;
  readonly #cbs: Record<string, Cb[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  #cache = new Map<string, KubernetesObject>();
  watching = false;
  /** Simulates a silently stalled watch: events stop arriving. */
  stalled = false;

  constructor(cluster: FakeCluster) {
    this.#cluster = cluster;
  }

  on(verb: string, cb: Cb): void {
    this.#cbs[verb]!.push(cb);
  }

  off(verb: string, cb: Cb): void {
    const list = this.#cbs[verb]!;
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  }

  async start(): Promise<void> {
    this.#cluster.starts++;
    if (this.#cluster.failNextStarts > 0) {
      this.#cluster.failNextStarts--;
      for (const cb of [...this.#cbs['error']!]) cb(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      return;
    }
    this.#cache = new Map();
    for (const [k, o] of this.#cluster.objects) {
      this.#cache.set(k, o);
      for (const cb of this.#cbs['add']!) cb(o);
    }
    this.watching = true;
    this.#cluster.informers.add(this);
  }

  async stop(): Promise<void> {
    this.watching = false;
    this.#cluster.informers.delete(this);
  }

  /** The watch breaks with an error (not 410): client-node reports it and stops. */
  breakWatch(): void {
    this.watching = false;
    this.#cluster.informers.delete(this);
    for (const cb of [...this.#cbs['error']!]) cb(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
  }

  deliver(verb: 'add' | 'update' | 'delete', o: KubernetesObject): void {
    if (!this.watching || this.stalled) return;
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    if (verb === 'delete') this.#cache.delete(key);
    else this.#cache.set(key, o);
    for (const cb of this.#cbs[verb]!) cb(o);
  }

  list(): KubernetesObject[] {
    return [...this.#cache.values()];
  }

  get(name: string, namespace?: string): KubernetesObject | undefined {
    return this.#cache.get(`${namespace}/${name}`);
  }
}
