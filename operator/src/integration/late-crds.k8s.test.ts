// Informers that fail for real (404: the CRDs are not installed yet) restart with backoff and
// sync once the CRDs appear; the operator becomes ready without a restart.
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '@jairouter/testkit/control-plane';
import { Controller } from '../kube/controller.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { sourceFactories } from '../kube/sources.ts';
import { MemoryPublisher } from '../kube/memory-publisher.test-support.ts';
import { KubeStatusWriter } from '../kube/status-writer.ts';
import { OperatorMetrics } from '../metrics.ts';
import { condition, route, skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = `jr-late-${Date.now().toString(36)}`;

describe.skipIf(skip !== undefined)(`informers before the CRDs exist${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cp: ControlPlane;
  let api: Api;
  let controller: Controller | undefined;
  const metrics = new OperatorMetrics();

  beforeAll(async () => {
    const c = await startCluster({ crds: false });
    cp = c.cp;
    api = c.api;
    await api.namespace(NS);
    controller = new Controller({
      scopes: [sourceFactories(c.kc, NS)], publisher: new MemoryPublisher(), isLeader: () => true,
      statusWriter: new KubeStatusWriter(c.kc), events: new KubeEventRecorder(c.kc, 'op-late'),
      log: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }), metrics, relistMs: 0, informerRestartBaseMs: 200,
    });
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await cp?.stop();
  }, 60_000);

  it('keeps retrying with growing delays, then syncs and reconciles once the CRDs are applied', async () => {
    let started = false;
    const starting = controller!.start().then(() => (started = true));
    await sleep(2000);
    expect(started).toBe(false);
    expect(controller!.ready).toBe(false);
    const restarts = (await metrics.informerRestarts.get()).values;
    const perKind = Math.max(...restarts.map((v) => v.value));
    // 200, 400, 800 ms ... within 2 s: a handful per kind, not a tight loop.
    expect(perKind).toBeGreaterThanOrEqual(2);
    expect(perKind).toBeLessThanOrEqual(5);

    await api.applyCrds();
    await waitFor('controller started', async () => started, 30_000);
    await starting;
    expect(controller!.ready).toBe(true);
    await api.create(NS, 'modelroutes', route('chat', ['gpt-4o'], { url: 'https://api.openai.com/v1' }));
    await waitFor('status', async () => condition(await api.get(NS, 'modelroutes', 'chat'), 'Accepted')?.status === 'True');
  }, 60_000);
});
