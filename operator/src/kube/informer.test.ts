import type { KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FakeCluster, FakeInformer } from './fake-informer.test-support.ts';
import { ResilientInformer } from './informer.ts';

const obj = (name: string): KubernetesObject => ({ metadata: { name, namespace: 'ai' } });

describe('ResilientInformer', () => {
  it('retries a failing first list with backoff until it syncs', async () => {
    const cluster = new FakeCluster();
    cluster.put(obj('a'));
    cluster.failNextStarts = 3;
    const errors: number[] = [];
    const inf = new ResilientInformer({
      name: 't', factory: cluster.factory, onChange: () => {}, relistMs: 0, restartBaseMs: 20,
      onError: (_n, _e, delay) => errors.push(delay),
    });
    const t = Date.now();
    await inf.start();
    expect(inf.synced).toBe(true);
    expect(errors).toEqual([20, 40, 80]);
    expect(Date.now() - t).toBeGreaterThanOrEqual(130);
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a']);
    await inf.stop();
  });

  it('restarts after a watch error, with backoff and not in a tight loop', async () => {
    const cluster = new FakeCluster();
    let current: FakeInformer | undefined;
    const changes: (string | undefined)[] = [];
    const inf = new ResilientInformer({
      name: 't', relistMs: 0, restartBaseMs: 50,
      factory: () => (current = new FakeInformer(cluster)) as never,
      onChange: (o) => changes.push(o?.metadata?.name),
    });
    await inf.start();
    const startsBefore = cluster.starts;
    current!.breakWatch();
    cluster.put(obj('missed-while-down'));
    await sleep(20);
    expect(cluster.starts).toBe(startsBefore); // waits for the backoff
    await sleep(80);
    expect(cluster.starts).toBe(startsBefore + 1);
    expect(inf.restarts).toBe(1);
    expect(inf.list().map((o) => o.metadata?.name)).toContain('missed-while-down');
    cluster.put(obj('after'));
    expect(changes).toContain('after');
    await inf.stop();
  });

  it('a periodic relist recovers from a silently stalled watch and reports the change', async () => {
    const cluster = new FakeCluster();
    let current: FakeInformer | undefined;
    let relists = 0;
    const inf = new ResilientInformer({
      name: 't', relistMs: 100,
      factory: () => (current = new FakeInformer(cluster)) as never,
      onChange: (o) => {
        if (!o) relists++;
      },
    });
    await inf.start();
    const first = current!;
    first.stalled = true;
    cluster.put(obj('during-stall'));
    expect(inf.list()).toHaveLength(0);
    await sleep(250);
    expect(current).not.toBe(first);
    expect(first.watching).toBe(false); // the old one is stopped
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['during-stall']);
    expect(relists).toBeGreaterThanOrEqual(2); // initial sync + relist
    await inf.stop();
  });
});
