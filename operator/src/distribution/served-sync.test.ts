import { withVersion, type ProxyConfig } from '@jairouter/crds';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createPublisher, MemoryCertStore, MemoryServedStore, MemorySnapshotStore, type DistributionPublisher } from './index.ts';
import { ServedSync, type LocalServed } from './served-sync.ts';
import { client, FakeReviewer, subscribe, until } from './testing.ts';

const log = pino({ level: 'silent' });
const config: ProxyConfig = withVersion({ schemaVersion: 4, limits: [], routes: [], tenants: [] });

/** A replica's own proxies, set by hand. */
class FakeLocal implements LocalServed {
  readonly map = new Map<string, string>();
  readonly #cbs: Array<() => void> = [];
  servedVersions(): ReadonlyMap<string, string> {
    return this.map;
  }
  onServedChange(cb: () => void): void {
    this.#cbs.push(cb);
  }
  set(proxy: string, version: string | undefined): void {
    if (version === undefined) this.map.delete(proxy);
    else this.map.set(proxy, version);
    for (const cb of this.#cbs) cb();
  }
}

const timings = { debounceMs: 10, pollMs: 30, heartbeatMs: 60_000 };
const toDispose: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of toDispose.splice(0).reverse()) await d.close();
});

describe('served versions across replicas (two publishers, one store)', () => {
  it('a proxy connected to the follower shows in the leader\'s servedVersions(); removed on the follower\'s shutdown', async () => {
    const store = new MemoryServedStore();
    const certs = new MemoryCertStore();
    const make = (replica: string) => createPublisher({
      listen: '127.0.0.1:0', log, tokenReviewer: new FakeReviewer(), certStore: certs, snapshotStore: new MemorySnapshotStore(),
      shareServed: { replica, store, ...timings },
    });
    const leader: DistributionPublisher = await make('operator-a');
    const follower: DistributionPublisher = await make('operator-b');
    toDispose.push(leader);
    let changes = 0;
    leader.onServedChange(() => changes++);
    await leader.publish(config, { leader: true });
    await follower.publish(config, { leader: false });

    const agentL = client(leader.caCert());
    const agentF = client(follower.caCert());
    const onLeader = await subscribe(agentL, `https://localhost:${leader.address().port}`, 'proxy-1', 'good', 'v-1');
    const onFollower = await subscribe(agentF, `https://localhost:${follower.address().port}`, 'proxy-2', 'good', 'v-2');

    await until(() => leader.servedVersions().get('proxy-2') === 'v-2');
    expect(Object.fromEntries(leader.servedVersions())).toEqual({ 'proxy-1': 'v-1', 'proxy-2': 'v-2' });
    expect(changes).toBeGreaterThan(0);
    // Followers write status never, so they keep to their own proxies.
    expect(Object.fromEntries(follower.servedVersions())).toEqual({ 'proxy-2': 'v-2' });
    expect(JSON.parse(store.data.get('operator-b')!)).toMatchObject({ proxies: { 'proxy-2': 'v-2' } });

    // The follower's proxy disconnects: its entry is rewritten and the leader forgets it.
    onFollower.close();
    await until(() => !leader.servedVersions().has('proxy-2'));

    // On shutdown a replica removes its key.
    const again = await subscribe(agentF, `https://localhost:${follower.address().port}`, 'proxy-3', 'good', 'v-3');
    await until(() => leader.servedVersions().has('proxy-3'));
    again.close();
    await follower.close();
    expect(store.data.has('operator-b')).toBe(false);
    await until(() => !leader.servedVersions().has('proxy-3'));

    onLeader.close();
    await agentL.close();
    await agentF.close();
  });
});

describe('ServedSync', () => {
  function sync(store: MemoryServedStore, replica: string, local: FakeLocal, now: () => number): ServedSync {
    const s = new ServedSync({ local, store, replica, log, now, ...timings, pollMs: 60_000 });
    toDispose.push(s);
    return s;
  }

  it('ignores entries older than 15 s (three missed heartbeats)', async () => {
    let t = 1_000_000;
    const store = new MemoryServedStore();
    const local = new FakeLocal();
    const leader = sync(store, 'a', local, () => t);
    await store.put('b', { updatedAt: t - 14_000, proxies: { p1: 'v1' } });
    await store.put('c', { updatedAt: t - 16_000, proxies: { p2: 'v2' } });
    leader.setLeader(true);
    await leader.refresh();
    expect(Object.fromEntries(leader.servedVersions())).toEqual({ p1: 'v1' });

    // Time passes: b goes stale too, and the next read says so.
    let changes = 0;
    leader.onServedChange(() => changes++);
    t += 2_000;
    await leader.refresh();
    expect(leader.servedVersions().size).toBe(0);
    expect(changes).toBe(1);
  });

  it('the local map wins for the own proxies; the newest entry wins between replicas', async () => {
    const t = 5_000_000;
    const store = new MemoryServedStore();
    const local = new FakeLocal();
    local.set('p1', 'local');
    const leader = sync(store, 'a', local, () => t);
    await store.put('a', { updatedAt: t, proxies: { p1: 'stored-own', p9: 'gone' } }); // own key: ignored
    await store.put('b', { updatedAt: t - 10, proxies: { p1: 'remote', p2: 'old' } });
    await store.put('c', { updatedAt: t - 5, proxies: { p2: 'new' } });
    store.data.set('d', 'not json');
    leader.setLeader(true);
    await leader.refresh();
    expect(Object.fromEntries(leader.servedVersions())).toEqual({ p1: 'local', p2: 'new' });

    // Losing the lease: back to the own proxies only.
    leader.setLeader(false);
    expect(Object.fromEntries(leader.servedVersions())).toEqual({ p1: 'local' });
  });

  it('writes its own entry at start and on change (debounced), removes it on close', async () => {
    const store = new MemoryServedStore();
    const local = new FakeLocal();
    const s = new ServedSync({ local, store, replica: 'a', log, now: () => 42, ...timings });
    s.start();
    await until(() => store.data.has('a'));
    expect(JSON.parse(store.data.get('a')!)).toEqual({ updatedAt: 42, proxies: {} });
    local.set('p1', 'v1');
    local.set('p2', 'v2');
    await until(() => JSON.parse(store.data.get('a')!).proxies.p2 === 'v2');
    expect(JSON.parse(store.data.get('a')!)).toEqual({ updatedAt: 42, proxies: { p1: 'v1', p2: 'v2' } });
    await s.close();
    expect(store.data.has('a')).toBe(false);
  });
});
