// Two operator processes (the real bin, real distribution side) on one Lease: one leads and
// writes status; SIGKILL the leader and the other takes over. The failover time is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '@jairouter/testkit/control-plane';
import { OPERATOR_BIN, startNode, type NodeProcess } from '@jairouter/testkit/processes';
import { condition, route, skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = `jr-le-${Date.now().toString(36)}`;
const SYS = `${NS}-sys`;

describe.skipIf(skip !== undefined)(`leader election between two operator processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cp: ControlPlane;
  let api: Api;
  const operators: NodeProcess[] = [];

  function startOperator(name: string): NodeProcess {
    const op = startNode(name, OPERATOR_BIN, [
      '--kubeconfig', cp.kubeconfig, '--namespace', NS, '--pod-namespace', SYS, '--pod-name', name,
      '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--proxy-service-account', `${SYS}/jairouter-proxy`,
    ]);
    operators.push(op);
    return op;
  }

  const lease = async () => api.ok('GET', `/apis/coordination.k8s.io/v1/namespaces/${SYS}/leases/jairouter-operator`);

  beforeAll(async () => {
    const c = await startCluster();
    cp = c.cp;
    api = c.api;
    await api.namespace(NS);
    await api.namespace(SYS);
  }, 120_000);

  afterAll(async () => {
    for (const op of operators) if (op.isRunning()) op.child.kill('SIGKILL');
    await cp?.stop();
  }, 60_000);

  it('one leads (Lease with MicroTime timestamps), a SIGKILLed leader is replaced within the lease duration, a stopped one at once', async () => {
    const a = startOperator('op-a');
    await waitFor('op-a ready', async () => a.logged('operator ready'), 30_000);
    await waitFor('op-a leads', async () => a.logged('became leader'), 30_000);
    const b = startOperator('op-b');
    await waitFor('op-b ready', async () => b.logged('operator ready'), 30_000);

    const l = await lease();
    expect(l.spec.holderIdentity).toBe('op-a');
    expect(l.spec.leaseDurationSeconds).toBe(10);
    expect(l.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(b.logged('became leader')).toBeUndefined();

    // The leader writes status.
    await api.create(NS, 'modelroutes', route('chat', ['gpt-4o'], { url: 'https://api.openai.com/v1' }));
    await waitFor('status by op-a', async () => condition(await api.get(NS, 'modelroutes', 'chat'), 'Accepted')?.status === 'True');

    // Let a renewal happen so that the kill lands at a random point of the renew period.
    await waitFor('a renewal', async () => (await lease()).metadata.resourceVersion !== l.metadata.resourceVersion ? true : undefined, 10_000);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await waitFor('op-b takes over', async () => b.logged('became leader'), 25_000);
    const failoverMs = b.logged('became leader')!.seenAt - killedAt;
    console.log(`leader failover after SIGKILL: ${(failoverMs / 1000).toFixed(1)} s (lease 10 s, renew 2 s)`);
    // The issue asks for a takeover within 15 s: lease 10 s + one 1 s follower retry, with margin.
    expect(failoverMs).toBeLessThan(15_000);
    expect((await lease()).spec.holderIdentity).toBe('op-b');
    expect((await lease()).spec.leaseTransitions).toBe(1);
    const adminOf = (op: NodeProcess) => (op.lines.find((x) => x.msg === 'operator ready') as unknown as { admin: { port: number } }).admin.port;
    const metricsB = await waitFor('leader gauge', async () => {
      const text = await (await fetch(`http://127.0.0.1:${adminOf(b)}/metrics`)).text();
      return /^jairouter_operator_leader 1$/m.test(text) ? text : undefined;
    }, 5_000);
    expect(metricsB).toMatch(/^jairouter_operator_reconcile_total\{result="success"\} \d+/m);
    expect(metricsB).toContain('jairouter_operator_snapshot_streams'); // the distribution side shares the registry
    expect((await fetch(`http://127.0.0.1:${adminOf(b)}/readyz`)).status).toBe(200);

    // The new leader writes status.
    await api.create(NS, 'modelroutes', route('after', ['after-model'], { url: 'https://api.openai.com/v1' }));
    await waitFor('status by op-b', async () => condition(await api.get(NS, 'modelroutes', 'after'), 'Accepted')?.status === 'True', 15_000);

    // Graceful stop releases the Lease: a third replica takes over almost at once.
    const c = startOperator('op-c');
    await waitFor('op-c ready', async () => c.logged('operator ready'), 30_000);
    const stoppedAt = Date.now();
    b.child.kill('SIGTERM');
    await waitFor('op-c takes over', async () => c.logged('became leader'), 20_000);
    const gracefulMs = c.logged('became leader')!.seenAt - stoppedAt;
    console.log(`leader failover after SIGTERM (Lease released): ${(gracefulMs / 1000).toFixed(1)} s`);
    expect(gracefulMs).toBeLessThan(5_000);
    await waitFor('op-b exits', async () => !b.isRunning(), 10_000);
    expect(b.child.exitCode).toBe(0);
  }, 120_000);
});
