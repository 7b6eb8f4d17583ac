// Failover, retries, passive ejection, priority tiers and stream failure handling,
// driven through the proxy process with the openai SDK against fake backends.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatReply, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend, FakeMode } from '@jairouter/testkit/fake-openai';
import { chunkKind, parseSse } from '@jairouter/testkit/openai-shape';
import { FAST_RETRY, modelRoute, tenantWithKeys, toYaml } from './config.ts';
import type { Doc } from './config.ts';
import { startProxy, waitFor } from './harness.ts';
import type { ProxyHandle } from './harness.ts';

const KEY = 'sk-failover-tenant-123456';
const user = (content: string) => [{ role: 'user' as const, content }];

let proxy: ProxyHandle;
let client: OpenAI;
const fakes: FakeBackend[] = [];
const routes: Doc[] = [];

async function fake(name: string, mode: FakeMode = 'ok', opts: Parameters<FakeBackend['setMode']>[1] = {}): Promise<FakeBackend> {
  const f = await startFakeOpenAI({ name });
  f.setMode(mode, opts);
  fakes.push(f);
  return f;
}

/** A bad backend and a good one behind one route: what each retry test needs. */
interface Pair {
  bad: FakeBackend;
  good: FakeBackend;
}
const pairs: Record<string, Pair> = {};

async function pair(route: string, mode: FakeMode, extra: Partial<Parameters<typeof modelRoute>[1]> = {}): Promise<void> {
  const bad = await fake(`${route}-bad`, mode);
  const good = await fake(`${route}-good`);
  pairs[route] = { bad, good };
  routes.push(
    modelRoute(route, {
      models: [route],
      backends: [
        { name: bad.name, url: bad.url },
        { name: good.name, url: good.url },
      ],
      loadBalancer: { strategy: 'RoundRobin' },
      retry: { attempts: 2, ...FAST_RETRY },
      ...extra,
    }),
  );
}

let killed: FakeBackend;
let broken: FakeBackend;
let truncating: FakeBackend;
let hanging: FakeBackend;
let abortable: FakeBackend;
let tier0: FakeBackend;
let tier1: FakeBackend;

beforeAll(async () => {
  await pair('fo-refused', 'ok');
  killed = pairs['fo-refused']!.bad;
  await killed.kill();
  await pair('fo-reset', 'reset');
  await pair('fo-500', 'error500');
  await pair('fo-429', 'error429');
  await pair('fo-stream-reset', 'reset');
  await pair('fo-stream-500', 'error500');
  await pair('fo-eject', 'error500', {
    retry: { attempts: 1, ...FAST_RETRY },
    healthCheck: { passive: { consecutiveFailures: 2, ejectionTime: '5m' } },
  });

  const allBad = [await fake('all-bad-1', 'reset'), await fake('all-bad-2', 'error500')];
  routes.push(
    modelRoute('fo-stream-all-bad', {
      models: ['fo-stream-all-bad'],
      backends: allBad.map((f) => ({ name: f.name, url: f.url })),
      retry: { attempts: 2, ...FAST_RETRY },
    }),
  );

  broken = await fake('broken', 'streamBreak', { breakAfterChunks: 2 });
  routes.push(modelRoute('fo-break', { models: ['fo-break'], backends: [{ name: broken.name, url: broken.url }] }));

  truncating = await fake('truncating', 'streamTruncate', { breakAfterChunks: 2 });
  routes.push(modelRoute('fo-truncate', { models: ['fo-truncate'], backends: [{ name: truncating.name, url: truncating.url }] }));

  hanging = await fake('hanging', 'hang');
  routes.push(modelRoute('fo-hang', { models: ['fo-hang'], backends: [{ name: hanging.name, url: hanging.url }] }));

  abortable = await fake('abortable', 'slowStream', { chunkDelayMs: 200 });
  routes.push(modelRoute('fo-abort', { models: ['fo-abort'], backends: [{ name: abortable.name, url: abortable.url }] }));

  tier0 = await fake('tier-0');
  tier1 = await fake('tier-1');
  routes.push(
    modelRoute('fo-tier', {
      models: ['fo-tier'],
      backends: [
        { name: tier1.name, url: tier1.url, priority: 1 },
        { name: tier0.name, url: tier0.url, priority: 0 },
      ],
      retry: { attempts: 2, ...FAST_RETRY },
      healthCheck: { passive: { consecutiveFailures: 1, ejectionTime: '1s' } },
    }),
  );

  proxy = await startProxy({ configs: toYaml(...routes, tenantWithKeys('t', { k: KEY })) });
  client = proxy.client(KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(fakes.map((f) => f.close()));
});

async function chat(model: string, content = 'ping') {
  const { data, response } = await client.chat.completions.create({ model, messages: user(content) }).withResponse();
  return { text: data.choices[0]?.message.content, backend: response.headers.get('x-jairouter-backend') };
}

async function rawStream(model: string, content = 'stream me') {
  const res = await proxy.postChat(KEY, { model, messages: user(content), stream: true });
  let text = '';
  let readError: unknown;
  try {
    text = await res.text();
  } catch (e) {
    readError = e;
  }
  return { status: res.status, headers: res.headers, text, events: parseSse(text), readError };
}

describe('failover between backends', () => {
  it('one backend refuses connections: 100 sequential requests all succeed', async () => {
    const { good } = pairs['fo-refused']!;
    for (let i = 0; i < 100; i++) {
      const r = await chat('fo-refused', `request ${i}`);
      expect(r.backend).toBe(good.name);
      expect(r.text).toBe(chatReply(good.name, user(`request ${i}`)));
    }
    expect(good.inferenceRequests()).toHaveLength(100);
  });

  for (const [route, what] of [
    ['fo-reset', 'a connection reset'],
    ['fo-500', 'a 500'],
    ['fo-429', 'a 429'],
  ] as const) {
    it(`${what} is retried on the other backend`, async () => {
      const { bad, good } = pairs[route]!;
      for (let i = 0; i < 6; i++) {
        const r = await chat(route, `try ${i}`);
        expect(r.backend).toBe(good.name);
        expect(r.text).toBe(chatReply(good.name, user(`try ${i}`)));
      }
      // The bad backend was really tried (round robin), and the client never saw its failure.
      expect(bad.inferenceRequests().length).toBeGreaterThan(0);
      expect(good.inferenceRequests()).toHaveLength(6);
    });
  }
});

describe('streams', () => {
  for (const [route, what] of [
    ['fo-stream-reset', 'reset'],
    ['fo-stream-500', '500'],
  ] as const) {
    it(`a stream whose backend fails before the first byte (${what}) fails over transparently`, async () => {
      const { bad, good } = pairs[route]!;
      for (let i = 0; i < 4; i++) {
        const r = await rawStream(route, `stream ${i}`);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-jairouter-backend')).toBe(good.name);
        expect(r.events.at(-1)).toBe('[DONE]');
        const text = r.events
          .filter((e) => chunkKind(e) === 'content' || chunkKind(e) === 'role')
          .map((e) => (e as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
          .join('');
        expect(text).toBe(chatReply(good.name, user(`stream ${i}`)));
        expect(r.events.some((e) => chunkKind(e) === 'error')).toBe(false);
      }
      expect(bad.inferenceRequests().filter((q) => q.stream).length).toBeGreaterThan(0);
    });
  }

  it('a stream for which every backend fails before the first byte gets a JSON error, not an SSE 200', async () => {
    const r = await rawStream('fo-stream-all-bad', 'nobody home');
    expect(r.status).toBe(502);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(r.text) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('a stream that breaks after bytes were sent ends with an SSE error event, not a silent truncation', async () => {
    const r = await rawStream('fo-break', 'one two three four five six seven');
    expect(r.status).toBe(200);
    expect(r.readError).toBeUndefined();
    const kinds = r.events.map(chunkKind);
    expect(kinds.slice(0, 3)).toEqual(['role', 'content', 'content']);
    expect(kinds).not.toContain('done');
    expect(kinds.at(-1)).toBe('error');
    const err = (r.events.at(-1) as { error: Record<string, unknown> }).error;
    expect(typeof err['message']).toBe('string');
    expect(typeof err['type']).toBe('string');
    expect(r.text).not.toMatch(/\n\s+at |node:internal/);
  });

  it('a stream whose upstream ends cleanly but early (no finish_reason, no [DONE]) ends with an SSE error event', async () => {
    const r = await rawStream('fo-truncate', 'one two three four five six seven');
    expect(r.status).toBe(200);
    const kinds = r.events.map(chunkKind);
    expect(kinds.slice(0, 3)).toEqual(['role', 'content', 'content']);
    expect(kinds).not.toContain('done');
    expect(kinds.at(-1)).toBe('error');
  });

  it('the SDK surfaces the mid-stream failure as an APIError', async () => {
    const stream = await client.chat.completions.create({ model: 'fo-break', messages: user('a b c d e f'), stream: true });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    abortable.clearRequests();
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'fo-abort', messages: user('a long answer please with many many words in it'), stream: true },
      { signal: ac.signal },
    );
    const got = await (async () => {
      for await (const c of stream) {
        if (c.choices[0]?.delta.content) {
          ac.abort();
          return true;
        }
      }
      return false;
    })().catch((e: unknown) => (e instanceof OpenAI.APIUserAbortError ? true : Promise.reject(e)));
    expect(got).toBe(true);
    const done = await abortable.waitForDone(() => true, 5_000);
    expect(done.outcome).toBe('aborted');
  });
});

describe('client aborts', () => {
  it('a client that gives up on a non-streaming request aborts the upstream request', async () => {
    const err = await proxy
      .client(KEY, { timeout: 500 })
      .chat.completions.create({ model: 'fo-hang', messages: user('are you there') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const done = await hanging.waitForDone(() => true, 5_000);
    expect(done.outcome).toBe('aborted');
  });
});

describe('health', () => {
  it('passive ejection: after consecutiveFailures the bad backend is skipped', async () => {
    const { bad, good } = pairs['fo-eject']!;
    for (let i = 0; i < 10; i++) expect((await chat('fo-eject')).backend).toBe(good.name);
    const afterTen = bad.inferenceRequests().length;
    expect(afterTen).toBeGreaterThan(0);
    expect(afterTen).toBeLessThanOrEqual(2);
    for (let i = 0; i < 20; i++) expect((await chat('fo-eject')).backend).toBe(good.name);
    expect(bad.inferenceRequests()).toHaveLength(afterTen);
    // The ejection shows on /metrics: 0 for the ejected endpoint, 1 for the one taking traffic.
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    const gauge = (backend: string) => metrics.split('\n').find((l) => l.startsWith('jairouter_endpoint_healthy{') && l.includes('route="') && l.includes('fo-eject"') && l.includes(`backend="${backend}"`));
    expect(gauge(bad.name), metrics).toMatch(/ 0$/);
    expect(gauge(good.name)).toMatch(/ 1$/);
  });

  it('priority tiers: tier 1 only serves while tier 0 is down', async () => {
    for (let i = 0; i < 10; i++) expect((await chat('fo-tier')).backend).toBe(tier0.name);
    expect(tier1.inferenceRequests()).toHaveLength(0);

    await tier0.kill();
    for (let i = 0; i < 10; i++) expect((await chat('fo-tier')).backend).toBe(tier1.name);

    await tier0.restart();
    // After the 1 s ejection, traffic goes back to tier 0.
    await waitFor('tier 0 to serve again', async () => (await chat('fo-tier')).backend === tier0.name, 15_000, 200);
    const before = tier1.inferenceRequests().length;
    for (let i = 0; i < 5; i++) expect((await chat('fo-tier')).backend).toBe(tier0.name);
    expect(tier1.inferenceRequests()).toHaveLength(before);
  });
});
