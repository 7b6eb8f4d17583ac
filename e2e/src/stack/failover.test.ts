// Two operator processes with leader election, each proxy reaching them through a Service
// stand-in (balancer.ts), two proxy processes. First a proxy behind a per-connection Service
// (its reports can reach the replica without its stream) must still count for Programmed.
// Then failures of the control side with the data side running: SIGKILL the leader: the other
// takes over (the time is printed), status writes resume, the proxies never stop serving.
// SIGKILL the last operator: the proxies keep serving, and a proxy restarted meanwhile serves
// the snapshot the leader wrote to its Secret. A new operator brings changes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import type { OperatorProcess, ProxyProcess } from '@jairouter/testkit/processes';
import { condition, startChatStack, Stack, waitFor, type ChatStack } from './stack.ts';
import { chat, keepTalking, models, readyz } from './traffic.ts';

const KEY = 'sk-e2e-failover-0123456789';
const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };

describe.skipIf(skipK8s)('the stack on the local control plane: operator failures', () => {
  const cp = useControlPlane();
  let stack: Stack;
  let chatRoute: ChatStack['chatRoute'];
  let all: ChatStack | undefined;

  beforeAll(async () => {
    all = await startChatStack(cp(), 'failover', KEY);
    ({ stack, chatRoute } = all);
    for (const p of stack.proxies) expect(await chat(p, KEY, 'e2e-chat')).toMatch(/^Hello from alpha:/);
  }, setupTimeoutMs());

  afterAll(async () => {
    await all?.stop();
  }, 30_000);

  // The chart's proxies reach the operator through a plain Service, which balances per TCP
  // connection. A proxy's snapshot stream holds one HTTP/1.1 connection, so its
  // POST /v1/served report opens another, which can land on the other replica. The report must
  // still count (docs/distribution.md): Programmed=True once the proxy serves the change.
  it('behind a per-connection Service, a proxy whose report reaches the other replica still counts (Programmed=True)', async () => {
    const holder = await stack.leaseHolder();
    const slot = stack.operators.filter((o) => o.isRunning()).findIndex((o) => o.label === `operator ${holder}`);
    // Round-robin from the leader: the stream goes to the leader, the first report to the other replica.
    const rr = await stack.startProxy('proxy-rr', { slot, policy: 'round-robin' });
    stack.proxies.push(rr);
    const connections = () => stack.balancers.at(-1)!.balancer.connections.map((port) => stack.operators.find((o) => o.isRunning() && o.streamPort === port)?.label.replace('operator ', '') ?? port);
    try {
      await stack.apply(chatRoute(['e2e-chat', 'rr-1']));
      await waitFor('proxy-rr lists rr-1', async () => (await models(rr, KEY)).includes('rr-1'));
      await stack.waitForConditions('ModelRoute', 'chat', TRUE3, 20_000);
      console.log(`proxy-rr's connections (stream first, then reports): ${connections().join(', ')}; leader ${holder}`);
      expect(new Set(connections()).size, 'the balancer spread proxy-rr over both replicas').toBe(2);
    } catch (e) {
      console.log(`chat has ${JSON.stringify(condition(await stack.get('ModelRoute', 'chat'), 'Programmed'))}; proxy-rr's connections: ${connections().join(', ')}; leader ${holder}`);
      throw e;
    } finally {
      await rr.stop('SIGKILL');
      stack.proxies.pop();
    }
    // Gone from every replica's served entry (docs/distribution.md), so that no replica killed
    // below leaves it behind as a proxy that still seems connected.
    await waitFor('proxy-rr gone from ConfigMap jairouter-served', async () => {
      const cm = await stack.core.readNamespacedConfigMap({ namespace: stack.sys, name: 'jairouter-served' });
      return !Object.values(cm.data ?? {}).some((v) => v.includes('"proxy-rr"'));
    });
  }, 60_000);

  it('SIGKILL the leader: the other replica takes over within 15 s, status writes resume, the proxies serve throughout', async () => {
    const holder = await stack.leaseHolder();
    const leader = stack.operators.find((o) => o.label === `operator ${holder}`);
    const follower = stack.operators.find((o) => o !== leader);
    expect(leader, `Lease holder ${holder}`).toBeDefined();
    expect(follower!.logged('became leader')).toBeUndefined();

    const talk = keepTalking(() => stack.proxies, KEY, () => 'e2e-chat');
    // A crash at whatever point of the 5 s renew period this happens to be, as a real one.
    const lease = (await stack.coordination.readNamespacedLease({ namespace: stack.sys, name: 'jairouter-operator' })).spec!;
    const renewedAt = new Date(lease.renewTime!).getTime();
    const killedAt = Date.now();
    leader!.child.kill('SIGKILL');
    const took = await follower!.waitForLog((l) => l.msg === 'became leader', 30_000);
    const failoverMs = took.seenAt - killedAt;
    console.log(
      `leader failover ${failoverMs}ms (SIGKILL of ${holder} ${((killedAt - renewedAt) / 1000).toFixed(1)} s after its last renewal -> ` +
        `${follower!.label.replace('operator ', '')} leads ${((took.seenAt - renewedAt) / 1000).toFixed(1)} s after that renewal; Lease duration ${lease.leaseDurationSeconds} s)`,
    );
    expect(await stack.leaseHolder()).toBe(follower!.label.replace('operator ', ''));

    // The new leader writes status: a change gets observedGeneration and Programmed=True
    // (the proxies that streamed from the dead replica reconnected to this one).
    const gen = (await stack.get('ModelRoute', 'chat')).metadata!.generation!;
    await stack.apply(chatRoute(['e2e-chat', 'after-failover']));
    const r = await stack.waitForConditions('ModelRoute', 'chat', TRUE3, 20_000);
    expect(r.metadata!.generation).toBe(gen + 1);
    for (const p of stack.proxies) await waitFor(`${p.name} lists after-failover`, async () => (await models(p, KEY)).includes('after-failover'));
    // ...and the snapshot Secret.
    const version = (await readyz(stack.proxies[0]!)).configVersion;
    await waitFor('the snapshot Secret holds the served version', async () => (await stack.snapshotSecret()).version === version);

    const { ok, failures } = await talk.stop();
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    // Issue 3: within 15 s. A crash costs the rest of the Lease duration after the last renewal
    // plus the follower's look at it (docs/operator.md), whatever point of the renew period the
    // kill lands on.
    expect(failoverMs).toBeLessThan(15_000);
  }, 90_000);

  it('SIGKILL the last operator: the proxies keep serving; a proxy restarted meanwhile serves the snapshot file; a new operator takes over', async () => {
    const last = stack.operators.find((o) => o.isRunning()) as OperatorProcess;
    // A last change before the outage.
    await stack.apply(chatRoute(['e2e-chat', 'after-failover', 'before-outage']));
    for (const p of stack.proxies) await waitFor(`${p.name} lists before-outage`, async () => (await models(p, KEY)).includes('before-outage'));
    const version = (await readyz(stack.proxies[0]!)).configVersion!;
    await waitFor('the snapshot Secret holds the served version', async () => (await stack.snapshotSecret()).version === version);
    const killedAt = Date.now();
    last.child.kill('SIGKILL');
    for (const p of stack.proxies) {
      await p.waitForLog((l) => l.seenAt >= killedAt && (l.msg === 'operator stream ended' || l.msg === 'cannot stream from the operator'), 40_000);
    }
    for (const p of stack.proxies) {
      expect(await readyz(p)).toEqual({ status: 200, ready: true, configVersion: version });
      expect(await chat(p, KEY, 'after-failover')).toMatch(/^Hello from alpha:/);
    }

    // A proxy restarts while no operator answers: it starts from the snapshot Secret's content.
    expect(await stack.writeSnapshotFile()).toBe(version);
    const old = stack.proxies[0]!;
    await old.stop('SIGTERM');
    // A replaced Pod: a new --proxy-name. The old name stays in the dead replica's entry of
    // jairouter-served until that entry is stale (15 s), then stops holding Programmed back.
    const restarted = await stack.startProxy('proxy-0-replaced');
    stack.proxies[0] = restarted;
    expect(restarted.logged('serving the snapshot file until the operator answers')).toMatchObject({ version });
    expect(await readyz(restarted)).toEqual({ status: 200, ready: true, configVersion: version });
    expect(await chat(restarted, KEY, 'after-failover', 'cold start')).toBe('Hello from alpha: you said "cold start"');
    expect(await chat(stack.proxies[1]!, KEY, 'e2e-chat')).toMatch(/^Hello from alpha:/);

    // An operator comes back: both proxies subscribe again and serve the next change.
    await stack.startOperator('op-c');
    const appliedAt = Date.now();
    await stack.apply(chatRoute(['e2e-chat', 'after-failover', 'before-outage', 'after-restart']));
    for (const p of stack.proxies) {
      await waitFor(`${p.name} lists after-restart`, async () => (await models(p, KEY)).includes('after-restart'), 45_000, 200);
    }
    const servedMs = Date.now() - appliedAt;
    await stack.waitForConditions('ModelRoute', 'chat', TRUE3, 30_000);
    console.log(`after the operator restart: served by both proxies ${servedMs}ms, Programmed=True ${Date.now() - appliedAt}ms after the apply`);
  }, 120_000);
});
