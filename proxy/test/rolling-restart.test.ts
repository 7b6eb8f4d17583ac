// Rolling restart under steady load (issue 14): two proxy replicas behind a balancer that
// follows their /readyz (readiness-balancer.ts), clients sending JSON and streamed chat
// completions without pause. Each replica in turn is replaced: a new one starts, becomes ready,
// then the old one gets SIGTERM. No request may fail. That rests on the order of the proxy's
// shutdown: /readyz goes 503 while the listener still serves (--shutdown-delay), answers carry
// Connection: close, then the listener closes and the requests in flight finish.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatReply, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, waitFor } from './harness.ts';
import type { ProxyHandle } from './harness.ts';
import { startReadinessBalancer, type ReadinessBalancer } from './readiness-balancer.ts';

const KEY = 'sk-rolling-restart-0042';
const WORKERS = 12;

let backend: FakeBackend;
let balancer: ReadinessBalancer;
const proxies: ProxyHandle[] = [];

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'roll' });
  // Every answer takes a while (a reply 30 ms, a stream 10 ms per chunk), so requests are always
  // in flight when a replica is told to stop.
  backend.setMode('slowStream', { chunkDelayMs: 10 });
  balancer = await startReadinessBalancer({ pollMs: 250 });
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGKILL').catch(() => undefined)));
  await balancer?.close();
  await backend?.close();
});

async function replica(name: string): Promise<ProxyHandle> {
  const p = await startProxy({
    configs: toYaml(tenantWithKeys('t', { k: KEY }), modelRoute('roll', { models: ['roll'], backends: [{ name: 'roll', url: backend.url }] })),
    // The balancer polls every 250 ms: a second of serving while unready covers it (with 0s,
    // the requests it sends before its next poll are refused: 12 and 13 of about 460 in two runs).
    args: ['--shutdown-delay', '1s', '--drain-timeout', '10s'],
  });
  proxies.push(p);
  balancer.add({ name, baseUrl: p.baseUrl, adminUrl: p.adminUrl });
  await waitFor(`${name} in the balancer's rotation`, async () => balancer.isReady(name), 5_000, 20);
  return p;
}

/** Clients sending without pause until stopped; every answer is checked against the fake's. */
function steadyLoad() {
  const client = new OpenAI({ baseURL: `${balancer.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
  let stopped = false;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const messages = [{ role: 'user' as const, content: `worker ${w} request ${i}` }];
      try {
        let text = '';
        if (i % 2 === 0) {
          const stream = await client.chat.completions.create({ model: 'roll', messages, stream: true });
          for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
        } else {
          const r = await client.chat.completions.create({ model: 'roll', messages });
          text = r.choices[0]?.message.content ?? '';
        }
        if (text === chatReply('roll', messages)) ok++;
        else failures.push(`worker ${w} request ${i}: wrong text ${JSON.stringify(text.slice(0, 80))}`);
      } catch (e) {
        failures.push(`worker ${w} request ${i} (${i % 2 === 0 ? 'stream' : 'json'}): ${(e as Error).message}`);
      }
    }
  };
  const all = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return {
    ok: () => ok,
    async stop() {
      stopped = true;
      await all;
      return { ok, failures };
    },
  };
}

describe('rolling restart behind a balancer that follows /readyz', () => {
  it('replacing both replicas one by one under steady load fails no request; each old one exits 0', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const load = steadyLoad();
    await waitFor('traffic on both replicas', async () => balancer.sent('a') >= 20 && balancer.sent('b') >= 20, 10_000, 20);

    const takenWhileDraining: Record<string, number> = {};
    for (const [name, old, fresh] of [['a', a, 'c'], ['b', b, 'd']] as const) {
      await replica(fresh);
      const before = balancer.sent(name);
      const t0 = Date.now();
      old.proc.kill('SIGTERM');
      const exit = await old.exited;
      expect(exit, `${name} exit`).toEqual({ code: 0, signal: null });
      // What the old replica took after SIGTERM: sent before the balancer's next poll saw 503.
      takenWhileDraining[name] = balancer.sent(name) - before;
      expect(Date.now() - t0, `${name} kept serving through --shutdown-delay`).toBeGreaterThanOrEqual(1000);
      expect(old.stderr()).toBe('');
      await balancer.remove(name);
    }
    const okBefore = load.ok();
    await waitFor('traffic on the new replicas', async () => load.ok() >= okBefore + 40, 10_000, 20);
    const { ok, failures } = await load.stop();

    console.log(
      `rolling restart: ${ok} answers, ${failures.length} failed; sent per replica ${['a', 'b', 'c', 'd'].map((n) => `${n} ${balancer.sent(n)}`).join(', ')}; ` +
        `taken after SIGTERM (before the balancer saw /readyz 503): a ${takenWhileDraining['a']}, b ${takenWhileDraining['b']}`,
    );
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    expect(balancer.sent('c')).toBeGreaterThan(0);
    expect(balancer.sent('d')).toBeGreaterThan(0);
  }, 60_000);
});
