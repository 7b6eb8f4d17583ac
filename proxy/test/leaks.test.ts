// Long-running proxies must not leak (LESSONS.md #8). Every request arms timers (request
// deadline, first-byte timeout) and listeners; every path that ends a request must release
// them: success, stream, failover, upstream errors, first-byte timeouts, client disconnects,
// rejected requests. After a mixed run of ~1,000 requests, the proxy's own count of active
// timers (/metrics, jairouter_process_nodejs_active_resources{type="Timeout"}) is back to what
// it was at rest, and no request is still counted in flight.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, waitFor, type ProxyHandle } from './harness.ts';

const KEY = 'sk-leaks-000000000001';
let proxy: ProxyHandle;
let good: FakeBackend;
let bad: FakeBackend;
let slow: FakeBackend;
let hang: FakeBackend;

beforeAll(async () => {
  good = await startFakeOpenAI({ name: 'good' });
  bad = await startFakeOpenAI({ name: 'bad' });
  slow = await startFakeOpenAI({ name: 'slow' });
  hang = await startFakeOpenAI({ name: 'hang' });
  bad.setMode('error500');
  slow.setMode('slowStream', { chunkDelayMs: 20 });
  hang.setMode('hangBeforeFirstByte');
  proxy = await startProxy({
    configs: toYaml(
      modelRoute('ok', { models: ['ok'], backends: [{ name: 'good', url: good.url }] }),
      // Half the requests hit the failing backend first and fail over.
      modelRoute('flaky', {
        models: ['flaky'],
        backends: [{ name: 'bad', url: bad.url }, { name: 'good', url: good.url }],
        loadBalancer: { strategy: 'RoundRobin' },
        healthCheck: { passive: { consecutiveFailures: 1000, ejectionTime: '1s' } },
      }),
      modelRoute('slow', { models: ['slow'], backends: [{ name: 'slow', url: slow.url }] }),
      modelRoute('hang', {
        models: ['hang'],
        backends: [{ name: 'hang', url: hang.url }],
        retry: { attempts: 0 },
        timeouts: { firstByte: '50ms' },
        healthCheck: { passive: { consecutiveFailures: 1000, ejectionTime: '1s' } },
      }),
      tenantWithKeys('t', { k: KEY }),
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([good, bad, slow, hang].map((b) => b?.close()));
});

/** The proxy's own view of itself, from its /metrics. */
async function gauges(): Promise<{ timeouts: number; inflight: number }> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    timeouts: value(/^jairouter_process_nodejs_active_resources\{type="Timeout"\} (\d+)$/m),
    inflight: value(/^jairouter_inflight_requests (\d+)$/m),
  };
}

/** Runs `n` calls of `f`, `width` at a time. */
async function pool(n: number, width: number, f: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await f(next++);
  }));
}

describe('no leaks over a mixed run', () => {
  it('timers and in-flight counts return to their resting values after ~1,000 requests of every kind', async () => {
    const client = proxy.client(KEY, { timeout: 10_000 });
    const user = (s: string) => [{ role: 'user' as const, content: s }];
    const rest = await gauges();
    expect(rest.inflight).toBe(0);

    await pool(300, 10, (i) => client.chat.completions.create({ model: 'ok', messages: user(`json ${i}`) }));
    await pool(200, 10, async (i) => {
      const s = await client.chat.completions.create({ model: 'ok', messages: user(`stream ${i}`), stream: true });
      for await (const _ of s) void _;
    });
    await pool(200, 10, (i) => client.chat.completions.create({ model: 'flaky', messages: user(`flaky ${i}`) }));
    // Client disconnects: mid-stream, and while waiting for the first byte.
    await pool(50, 10, async (i) => {
      const ac = new AbortController();
      const s = await client.chat.completions.create({ model: 'slow', messages: user(`abort ${i}`), stream: true }, { signal: ac.signal });
      await (async () => {
        for await (const c of s) if (c.choices[0]?.delta.content) return ac.abort();
      })().catch((e: unknown) => (e instanceof OpenAI.APIUserAbortError ? undefined : Promise.reject(e)));
    });
    await pool(50, 10, (i) =>
      client.chat.completions.create({ model: 'slow', messages: user(`give up ${i}`) }, { timeout: 20, maxRetries: 0 }).catch(() => undefined),
    );
    // First-byte timeouts (504), and requests refused before they reach a backend.
    await pool(50, 10, (i) => client.chat.completions.create({ model: 'hang', messages: user(`hang ${i}`) }, { maxRetries: 0 }).catch((e: unknown) => {
      if (!(e instanceof OpenAI.APIError) || e.status !== 504) throw e;
    }));
    await pool(150, 10, (i) => {
      const c = i % 3 === 0 ? proxy.client('sk-wrong-key-0000000') : client;
      return c.chat.completions.create({ model: i % 3 === 1 ? 'no-such-model' : 'ok', messages: i % 3 === 2 ? [] : user('x') }, { maxRetries: 0 }).catch(() => undefined);
    });

    // Once the proxy has finished the requests whose clients left, everything is released.
    const after = await waitFor('no request in flight', async () => {
      const g = await gauges();
      return g.inflight === 0 ? g : undefined;
    });
    expect(after.timeouts, `active timers at rest ${rest.timeouts}, after the run ${after.timeouts}`).toBeLessThanOrEqual(rest.timeouts + 2);
  });
});
