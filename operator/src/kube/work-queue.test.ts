import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@jairouter/testkit/wait-for';
import { backoffDelay } from './backoff.ts';
import { CoalescingQueue } from './work-queue.ts';

describe('CoalescingQueue', () => {
  it('collapses a burst of changes into one run, and changes during a run into one more', async () => {
    let runs = 0;
    let release: () => void = () => {};
    const q = new CoalescingQueue(async () => {
      runs++;
      if (runs === 1) await new Promise<void>((r) => (release = r));
    });
    for (let i = 0; i < 100; i++) q.enqueue();
    expect(q.depth).toBe(1);
    await sleep(5);
    expect(runs).toBe(1);
    for (let i = 0; i < 50; i++) q.enqueue(); // while running
    release();
    await q.idle();
    expect(runs).toBe(2);
    expect(q.depth).toBe(0);
  });

  it('retries a failing run with growing delays and resets after a success', async () => {
    const times: number[] = [];
    const delays: number[] = [];
    const q = new CoalescingQueue(async () => {
      times.push(performance.now());
      if (times.length < 4) throw new Error('boom');
    }, { baseDelayMs: 20, maxDelayMs: 1000, onRetryScheduled: (d) => delays.push(d) });
    q.enqueue();
    await q.idle();
    expect(times).toHaveLength(4);
    expect(delays).toEqual([20, 40, 80]);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(135);
    expect(q.failures).toBe(0);
  });

  it('a fresh change runs at once even while a retry waits', async () => {
    let runs = 0;
    const q = new CoalescingQueue(async () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    }, { baseDelayMs: 10_000 });
    q.enqueue();
    await sleep(20);
    expect(runs).toBe(1);
    q.enqueue();
    await q.idle();
    expect(runs).toBe(2);
  });

  it('reports adds, queue time and the run in flight as client-go counts them: a coalesced enqueue is no add', async () => {
    const events: string[] = [];
    let release: () => void = () => {};
    let runs = 0;
    const during: (number | undefined)[] = [];
    const q: CoalescingQueue = new CoalescingQueue(async () => {
      runs++;
      during.push(q.runningForMs);
      if (runs === 1) await new Promise<void>((r) => (release = r));
    }, {
      onAdd: () => events.push('add'),
      onRunStart: (queuedMs) => events.push(queuedMs >= 0 ? 'start' : 'bad'),
      onRunEnd: (ok) => events.push(ok ? 'done' : 'failed'),
    });
    expect(q.runningForMs).toBeUndefined();
    for (let i = 0; i < 10; i++) q.enqueue();
    expect(events).toEqual(['add']);
    await waitFor('first run', () => runs === 1);
    expect(q.depth).toBe(0);
    expect(q.runningForMs).toBeGreaterThanOrEqual(0);
    q.enqueue(); // while running: queued again (one add), runs after this one
    q.enqueue();
    expect(q.depth).toBe(1);
    release();
    await q.idle();
    expect(events).toEqual(['add', 'start', 'add', 'done', 'start', 'done']);
    expect(during.every((ms) => ms !== undefined && ms >= 0)).toBe(true);
    expect(q.runningForMs).toBeUndefined();
  });

  it('a failed run is no add; the end of its retry delay is, and the key is not queued while it waits', async () => {
    const events: string[] = [];
    let runs = 0;
    const q = new CoalescingQueue(async () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    }, {
      baseDelayMs: 30,
      onAdd: () => events.push('add'),
      onRunStart: () => events.push('start'),
      onRunEnd: (ok) => events.push(ok ? 'done' : 'failed'),
      onRetryScheduled: () => events.push('retry'),
    });
    q.enqueue();
    await waitFor('the failed run', () => events.includes('retry'));
    expect(q.depth).toBe(0);
    await q.idle();
    expect(events).toEqual(['add', 'start', 'failed', 'retry', 'add', 'start', 'done']);
  });

  it('stop() cancels a pending retry', async () => {
    let runs = 0;
    const q = new CoalescingQueue(async () => {
      runs++;
      throw new Error('boom');
    }, { baseDelayMs: 20 });
    q.enqueue();
    await sleep(5);
    await q.stop();
    await sleep(60);
    expect(runs).toBe(1);
  });
});

describe('backoffDelay', () => {
  it('doubles from base and caps', () => {
    expect([1, 2, 3, 4, 10, 100].map((a) => backoffDelay(a, 1000, 30_000))).toEqual([1000, 2000, 4000, 8000, 30_000, 30_000]);
  });
});
