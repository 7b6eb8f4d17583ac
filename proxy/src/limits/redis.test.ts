import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { freePort, startRedis, type RedisServer } from '@jairouter/testkit/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiter, type Algorithm, type Decision, type LimitSpec } from './algorithms.ts';
import { Budgets, MICRO } from './budget.ts';
import { RedisLimits, redisKey, type ClusterItem } from './redis.ts';

/** Resolves when `onStateChange` next reports `up`; records every report. */
function stateWatcher() {
  const reports: boolean[] = [];
  let waiters: { up: boolean; resolve: () => void }[] = [];
  return {
    reports,
    onStateChange(up: boolean) {
      reports.push(up);
      for (const w of waiters.filter((w) => w.up === up)) w.resolve();
      waiters = waiters.filter((w) => w.up !== up);
    },
    next(up: boolean): Promise<void> {
      return new Promise((resolve) => waiters.push({ up, resolve }));
    },
  };
}

let server: RedisServer;
let url = '';
const opened: RedisLimits[] = [];

function limits(opts: Partial<ConstructorParameters<typeof RedisLimits>[0]> = {}): RedisLimits {
  const l = new RedisLimits({ url, ...opts });
  opened.push(l);
  return l;
}

async function ready(l: RedisLimits, item: ClusterItem): Promise<void> {
  // The first takes may come before the connection is up; wait for one answered.
  for (;;) {
    if ((await l.takeAll([{ ...item, amount: 0 }])) !== null) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  server = await startRedis();
  url = server.url;
});

afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await server.stop();
});

let seq = 0;
const rule = (name: string) => `test/${name}/${++seq}`;
const tb = (limit: number, periodMs: number, burst = 0): LimitSpec => ({ algorithm: 'TokenBucket', limit, periodMs, burst });

describe('RedisLimits against a real redis-server', () => {
  it('budgets: two replicas reserving at once never spend more than the budget between them, and refunds come back', async () => {
    const [a, b] = [limits(), limits()];
    for (const l of [a, b]) await ready(l, { rule: rule('warm'), key: 'k', spec: tb(1, 1000), amount: 0 });
    const replicas = [a, b].map((l) => new Budgets({ shared: l.budgetStore(), replicas: () => 2 }));
    const tenant = `ns/budget-${++seq}`;
    const budget = { limit: 1, period: 'day' as const };
    // 20 reservations of 0.1 at once, spread over both replicas: exactly 10 fit in 1.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.admit(tenant, budget, 0.1 * MICRO)));
    const held = results.filter((r) => r.ok);
    expect(held.length).toBe(10);
    // Each cost 0.05 in the end: half of the budget comes back. A settlement travels on the
    // connection of the replica that reserved; Redis runs one connection's commands in order,
    // so a reservation of 0 answered on each connection means both have arrived.
    for (const r of held) replicas[0]!.settle((r as { hold: NonNullable<Parameters<Budgets['settle']>[0]> }).hold, 0.05 * MICRO);
    await Promise.all(replicas.map((r) => r.admit(tenant, budget, 0)));
    const more = await Promise.all(Array.from({ length: 8 }, () => replicas[1]!.admit(tenant, budget, 0.1 * MICRO)));
    expect(more.filter((r) => r.ok).length).toBe(5);
  });

  it('limit 5 per minute: 5 allowed, the 6th refused with the remaining time, the key expires when full again', async () => {
    const l = limits();
    const item: ClusterItem = { rule: rule('five'), key: 'tenant-a:user:1', spec: tb(5, 60_000), amount: 1 };
    await ready(l, item);
    const t0 = Date.now();
    const first = await l.takeAll([item]);
    expect(first!.at).toBeGreaterThan(t0 - 5000); // Redis's clock: Unix ms
    expect(first!.decisions[0]).toMatchObject({ allowed: true, remaining: 4, limit: 5 });
    for (let i = 3; i >= 0; i--) expect((await l.takeAll([item]))!.decisions[0]).toMatchObject({ allowed: true, remaining: i });
    const sixth = (await l.takeAll([item]))!.decisions[0]!;
    const elapsed = Date.now() - t0;
    expect(sixth).toMatchObject({ allowed: false, remaining: 0, delayMs: 0 });
    expect(sixth.retryAfterMs).toBeLessThanOrEqual(12_000);
    expect(sixth.retryAfterMs).toBeGreaterThanOrEqual(12_000 - elapsed - 1);
    const admin = new Redis(url);
    const ttl = await admin.pttl(redisKey(item.rule, item.key, item.spec));
    await admin.quit();
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });

  it('all or nothing: when one rule refuses, no rule of the call is charged', async () => {
    const l = limits();
    const one: ClusterItem = { rule: rule('one'), key: 'k', spec: tb(1, 60_000), amount: 1 };
    const five: ClusterItem = { rule: rule('five'), key: 'k', spec: tb(5, 60_000), amount: 1 };
    await ready(l, one);
    expect((await l.takeAll([one, five]))!.decisions.map((d) => d.allowed)).toEqual([true, true]);
    expect((await l.takeAll([one, five]))!.decisions.map((d) => d.allowed)).toEqual([false, true]);
    // `five` was charged once, not twice: 4 left.
    const alone = [];
    for (let i = 0; i < 5; i++) alone.push((await l.takeAll([five]))!.decisions[0]!.allowed);
    expect(alone).toEqual([true, true, true, true, false]);
  });

  it('two replicas share one limit exactly, even when their takes race', async () => {
    const a = limits();
    const b = limits();
    for (const algorithm of ['TokenBucket', 'FixedWindow', 'SlidingWindow', 'LeakyBucket', 'WarmUp', 'Adaptive'] as const) {
      const spec: LimitSpec = {
        algorithm,
        limit: 10,
        periodMs: 3_600_000,
        burst: 0,
        warmUp: { periodMs: 1000, coldFactor: 1 },
        adaptive: { latencyTargetMs: 1000, min: 1, max: 100 },
      };
      const item: ClusterItem = { rule: rule(`shared-${algorithm}`), key: 'k', spec, amount: 1 };
      await ready(a, item);
      await ready(b, item);
      const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).takeAll([item])));
      const admitted = replies.filter((r) => r!.decisions[0]!.allowed).length;
      // LeakyBucket with burst 0 admits one and refuses the rest until it drains.
      expect([algorithm, admitted]).toEqual([algorithm, algorithm === 'LeakyBucket' ? 1 : 10]);
    }
  });

  it('Redis killed: takeAll answers null at once and onStateChange(false) is called once; restarted: back without a new instance', async () => {
    const states = stateWatcher();
    const l = limits({ onStateChange: (up) => states.onStateChange(up) });
    const item: ClusterItem = { rule: rule('outage'), key: 'k', spec: tb(100, 60_000), amount: 1 };
    await ready(l, item);
    expect(states.reports).toEqual([]);

    const down = states.next(false);
    await server.kill();
    const started = Date.now();
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await l.takeAll([item]));
    expect(replies).toEqual([null, null, null, null, null]);
    expect(Date.now() - started).toBeLessThan(5 * 250 + 500); // each within its 250 ms at most
    await down;
    l.adjust([{ rule: item.rule, key: item.key, spec: item.spec, at: 0, delta: -1 }]); // dropped, does not throw
    l.observe(item.rule, item.key, item.spec, 10, false);

    const up = states.next(true);
    await server.restart();
    await up;
    expect(states.reports).toEqual([false, true]);
    const back = await l.takeAll([item]);
    expect(back!.decisions[0]).toMatchObject({ allowed: true, remaining: 99 }); // a fresh server: a fresh state
  });
});

describe('the Lua script decides as algorithms.ts does', () => {
  const ALGORITHMS: Algorithm[] = ['TokenBucket', 'LeakyBucket', 'SlidingWindow', 'FixedWindow', 'WarmUp', 'Adaptive'];
  const specArb = fc
    .record({
      algorithm: fc.constantFrom(...ALGORITHMS),
      limit: fc.integer({ min: 1, max: 20 }),
      periodMs: fc.integer({ min: 100, max: 60_000 }),
      burst: fc.integer({ min: 0, max: 5 }),
      coldFactor: fc.double({ min: 1, max: 5, noNaN: true }),
      // Short warm-ups too, so that sequences reach the warm region below Guava's threshold.
      warmMs: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 100, max: 600_000 })),
      target: fc.integer({ min: 10, max: 3000 }),
      min: fc.integer({ min: 1, max: 10 }),
      span: fc.integer({ min: 0, max: 30 }),
    })
    .map((r): LimitSpec => ({
      algorithm: r.algorithm,
      limit: r.limit,
      periodMs: r.periodMs,
      burst: r.burst,
      ...(r.algorithm === 'WarmUp' ? { warmUp: { periodMs: r.warmMs, coldFactor: r.coldFactor } } : {}),
      ...(r.algorithm === 'Adaptive' ? { adaptive: { latencyTargetMs: r.target, min: r.min, max: r.min + r.span } } : {}),
    }));
  const opArb = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('take' as const), gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 })), amount: fc.integer({ min: 0, max: 6 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('adjust' as const), gap: fc.integer({ min: 0, max: 5000 }), delta: fc.integer({ min: -6, max: 6 }), take: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('observe' as const), gap: fc.integer({ min: 0, max: 5000 }), latency: fc.integer({ min: 0, max: 4000 }), throttled: fc.boolean() }) },
  );

  it('every decision of a random sequence of takes, adjustments and observations is the same', async () => {
    let now = 0;
    const l = limits({ clock: () => now });
    await ready(l, { rule: rule('probe'), key: 'k', spec: tb(1, 1000), amount: 0 });
    await fc.assert(
      fc.asyncProperty(specArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 10 ** 12 }), async (spec, ops, start) => {
        now = start;
        const local = createLimiter(spec, now);
        const item: ClusterItem = { rule: rule('diff'), key: 'k', spec, amount: 0 };
        const ats = [now];
        const got: Decision[] = [];
        const want: Decision[] = [];
        for (const op of ops) {
          now += op.gap;
          if (op.op === 'take') {
            want.push(local.take(now, op.amount));
            const reply = await l.takeAll([{ ...item, amount: op.amount }]);
            got.push(reply!.decisions[0]!);
            ats.push(reply!.at);
          } else if (op.op === 'adjust') {
            const at = ats[op.take % ats.length]!; // the settled take may be any earlier one
            local.adjust(now, at, op.delta);
            l.adjust([{ rule: item.rule, key: item.key, spec, at, delta: op.delta }]);
          } else {
            local.observe(now, op.latency, op.throttled);
            l.observe(item.rule, item.key, spec, op.latency, op.throttled);
          }
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });
});

describe('connecting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jr-redis-'));
  const servers: RedisServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const item = (): ClusterItem => ({ rule: rule('connect'), key: 'k', spec: tb(3, 60_000), amount: 1 });

  it('a password in the URL authenticates; a wrong one is reported without the password in the message', async () => {
    const r = await startRedis({ args: ['--requirepass', 'right-pass-1'] });
    servers.push(r);
    const p = r.port;
    const good = limits({ url: `redis://:right-pass-1@127.0.0.1:${p}` });
    await ready(good, item());
    const errors: string[] = [];
    const down = new Promise<void>((resolve) => {
      limits({
        url: `redis://default:wrong-pass-2@127.0.0.1:${p}`,
        onStateChange: (up, err) => {
          if (!up) errors.push(err ?? '');
          resolve();
        },
      });
    });
    await down;
    expect(errors[0]).toMatch(/WRONGPASS|invalid/i);
    expect(errors.join()).not.toContain('wrong-pass-2');
  });

  it('rediss:// speaks TLS and verifies the server against the given CA', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const p = await freePort();
    const cert = join(dir, 'cert.pem');
    servers.push(await startRedis({ args: ['--port', '0', '--tls-port', String(p), '--tls-cert-file', cert, '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'] }));
    const trusted = limits({ url: `rediss://127.0.0.1:${p}`, tls: { ca: readFileSync(cert) } });
    await ready(trusted, item());
    expect((await trusted.takeAll([item()]))!.decisions[0]!.allowed).toBe(true);
    // Without the CA the self-signed certificate is refused: TLS is really on, and verified.
    const refused = new Promise<string>((resolve) => {
      limits({ url: `rediss://127.0.0.1:${p}`, onStateChange: (up, err) => !up && resolve(err ?? '') });
    });
    expect(await refused).toMatch(/certificate/i);
  });

  it('redis+cluster:// runs the script on Redis Cluster: every key of a call in the {jr} slot', async () => {
    const r = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'] });
    servers.push(r);
    const p = r.port;
    const admin = new Redis(p, '127.0.0.1');
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    // A lone node announces no address unless told (above), and turns ok a moment after it owns every slot.
    while (!((await admin.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) await new Promise((r) => setTimeout(r, 50));
    await admin.quit();
    const l = limits({ url: `redis+cluster://127.0.0.1:${p}` });
    const one: ClusterItem = { rule: rule('c-one'), key: 'tenant-x', spec: tb(1, 60_000), amount: 1 };
    const two: ClusterItem = { rule: rule('c-two'), key: 'user-y', spec: { algorithm: 'FixedWindow', limit: 5, periodMs: 60_000, burst: 0 }, amount: 1 };
    await ready(l, one);
    expect((await l.takeAll([one, two]))!.decisions.map((d) => d.allowed)).toEqual([true, true]);
    expect((await l.takeAll([one, two]))!.decisions.map((d) => [d.allowed, d.remaining])).toEqual([[false, 0], [true, 3]]);
    expect((await l.takeAll([two]))!.decisions[0]).toMatchObject({ allowed: true, remaining: 3 }); // the refused call charged nothing
  });
});
