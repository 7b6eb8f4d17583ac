import type { V1Lease } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { until } from '../distribution/testing.ts';
import { LeaderElector, type LeaseClient } from './leader-election.ts';

/** An API server's Lease semantics in memory: resourceVersion-checked replace, 409 on conflict. */
class FakeLeases implements LeaseClient {
  lease: V1Lease | undefined;
  rv = 0;
  bodies: string[] = [];
  conflict(): Error {
    return Object.assign(new Error('Conflict'), { code: 409 });
  }
  async get() {
    return this.lease && (JSON.parse(JSON.stringify(this.lease)) as V1Lease);
  }
  async create(l: V1Lease) {
    if (this.lease) throw this.conflict();
    return this.#store(l);
  }
  async replace(l: V1Lease) {
    if (l.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw this.conflict();
    return this.#store(l);
  }
  #store(l: V1Lease) {
    const json = JSON.stringify(l);
    this.bodies.push(json);
    this.lease = JSON.parse(json) as V1Lease;
    this.lease.metadata = { ...this.lease.metadata, resourceVersion: String(++this.rv) };
    return this.lease;
  }
}

// The Lease holds whole seconds, so the shortest lease is 1 s.
const FAST = { leaseDurationMs: 1000, renewPeriodMs: 200, renewDeadlineMs: 700, retryPeriodMs: 50 };

function elector(leases: FakeLeases, identity: string, log: string[]) {
  return new LeaderElector({
    client: leases, name: 'jairouter-operator', namespace: 'jairouter-system', identity, ...FAST,
    onStartedLeading: () => log.push(`${identity}+`), onStoppedLeading: () => log.push(`${identity}-`),
  });
}

/** A fresh Lease with replica a leading; b (if asked for) started after a took the lease. */
async function aLeads(withB: boolean) {
  const leases = new FakeLeases();
  const log: string[] = [];
  const a = elector(leases, 'a', log);
  const b = elector(leases, 'b', log);
  a.start();
  await until(() => a.isLeader, 3000);
  if (withB) b.start();
  return { leases, log, a, b };
}

describe('LeaderElector', () => {
  it('one of two replicas leads; timestamps are MicroTime with six fractional digits', async () => {
    const { leases, log, a, b } = await aLeads(true);
    await sleep(1200);
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(log).toEqual(['a+']);
    const body = JSON.parse(leases.bodies.at(-1)!) as { spec: { renewTime: string; acquireTime: string; leaseDurationSeconds: number } };
    expect(body.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(body.spec.acquireTime).toMatch(/\.\d{6}Z$/);
    expect(leases.bodies.length).toBeGreaterThan(3); // renewals
    await a.stop();
    await b.stop();
  });

  it('a crashed leader (no release) is replaced after the lease expires, not before', async () => {
    const { leases, log, a, b } = await aLeads(true);
    await sleep(200);
    // Crash: a stops renewing without releasing.
    (a as unknown as { stop: () => void }).stop = () => {};
    const renewedAt = Date.now();
    const realReplace = leases.replace.bind(leases);
    leases.replace = async (l) => {
      if (l.spec?.holderIdentity === 'a') throw new Error('a is dead');
      return realReplace(l);
    };
    await until(() => b.isLeader, 3000);
    const took = Date.now() - renewedAt;
    expect(took).toBeGreaterThanOrEqual(FAST.leaseDurationMs - FAST.renewPeriodMs);
    expect(took).toBeLessThan(FAST.leaseDurationMs + 2 * FAST.renewPeriodMs);
    // a gave up by itself after renewDeadline, before b took over.
    await until(() => !a.isLeader);
    expect(log.indexOf('a-')).toBeLessThan(log.indexOf('b+'));
    expect(leases.lease?.spec?.leaseTransitions).toBe(1);
    await b.stop();
  });

  it('a stopped leader releases the lease and the other takes over at once', async () => {
    const { a, b } = await aLeads(true);
    await sleep(100);
    const t = Date.now();
    await a.stop();
    await until(() => b.isLeader);
    expect(Date.now() - t).toBeLessThan(FAST.leaseDurationMs / 2);
    await b.stop();
  });

  it('a 409 on renew (someone else wrote) means leadership is lost', async () => {
    const { leases, log, a } = await aLeads(false);
    // Another writer takes the lease behind a's back.
    leases.lease = { ...leases.lease!, spec: { ...leases.lease!.spec, holderIdentity: 'intruder', renewTime: new Date() as never } };
    leases.lease.metadata = { ...leases.lease.metadata, resourceVersion: String(++leases.rv) };
    await until(() => !a.isLeader);
    expect(log).toEqual(['a+', 'a-']);
    await a.stop();
  });

  it('a leader whose renew request hangs steps down by itself at the renew deadline', async () => {
    const { leases, log, a } = await aLeads(false);
    leases.replace = () => new Promise(() => {}); // the API server stops answering
    const t = Date.now();
    await until(() => !a.isLeader, 3000);
    expect(Date.now() - t).toBeLessThan(FAST.renewDeadlineMs + 100);
    expect(log).toEqual(['a+', 'a-']);
    void a.stop();
  });
});
