// Process lifecycle: config hot reload (valid edits served within 2 s, invalid ones keep
// the last good config and are reported once) and SIGTERM draining (in-flight streams finish,
// exit code 0).
import { renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chatReply, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { NS, modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import type { Doc } from './config.ts';
import { logAfter, startProxy, waitFor } from './harness.ts';
import type { LogLine, ProxyHandle } from './harness.ts';

const KEY = 'sk-lifecycle-tenant-8899';
/** The contract: a valid edit is served within 2 s. */
const RELOAD_DEADLINE_MS = 2_000;
const user = (content: string) => [{ role: 'user' as const, content }];

let backend: FakeBackend;
const proxies: ProxyHandle[] = [];

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'life' });
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop('SIGKILL').catch(() => undefined)));
});
afterAll(async () => {
  await backend?.close();
});

async function start(opts: Parameters<typeof startProxy>[0]): Promise<ProxyHandle> {
  const p = await startProxy(opts);
  proxies.push(p);
  return p;
}

const tenantDocs = () => tenantWithKeys('t', { k: KEY });
const route = (models: string[], extra: Partial<Parameters<typeof modelRoute>[1]> = {}): Doc =>
  modelRoute('reload', { models, backends: [{ name: 'life', url: backend.url }], ...extra });

async function version(p: ProxyHandle): Promise<string> {
  const r = await p.readyz();
  expect(r.status).toBe(200);
  return String(r.body.configVersion);
}

/** Polls /readyz until the config version differs from `from`; fails after the 2 s contract. */
async function waitForNewVersion(p: ProxyHandle, from: string): Promise<string> {
  return waitFor(
    'a new configVersion on /readyz',
    async () => {
      const v = (await p.readyz()).body.configVersion;
      return typeof v === 'string' && v !== from ? v : undefined;
    },
    RELOAD_DEADLINE_MS,
    25,
  );
}

async function status(p: ProxyHandle, model: string): Promise<number> {
  const res = await p.postChat(KEY, { model, messages: user('hi') });
  await res.arrayBuffer();
  return res.status;
}

const REJECTED = 'config change rejected: keeping the last good config';

/** pino writes the level as a number (40 = warn) or, with a formatter, as its label. */
const isWarnOrWorse = (l: LogLine) =>
  typeof l.level === 'number' ? l.level >= 40 : ['warn', 'error', 'fatal'].includes(String(l.level));

describe('config hot reload', () => {
  it('valid edits are served within 2 s; invalid ones keep the last good config and are logged', async () => {
    const p = await start({ configs: toYaml(tenantDocs(), route(['reload-a'])), args: ['--log-level', 'debug'] });
    const file = p.configFile();
    const v0 = await version(p);
    expect(await status(p, 'reload-a')).toBe(200);
    expect(await status(p, 'reload-b')).toBe(404);

    // 1. A valid in-place edit adds a model.
    const applied = logAfter(p, (l) => l.msg === 'config applied');
    writeFileSync(file, toYaml(tenantDocs(), route(['reload-a', 'reload-b'])));
    const v1 = await waitForNewVersion(p, v0);
    expect(v1).toMatch(/^sha256:/);
    expect((await applied(1_000))['version']).toBe(v1);
    expect(await status(p, 'reload-b')).toBe(200);

    // 2. An edit that would degrade the served route (a second backend whose Secret is missing:
    // compiled, the route would be served by one of its two backends) is rejected, reported once,
    // and the last good config stays.
    const editAt = p.logs.length;
    const rejected = logAfter(p, (l) => l.msg === REJECTED);
    writeFileSync(file, toYaml(tenantDocs(), route(['reload-a', 'reload-b', 'reload-c'], {
      backends: [{ name: 'life', url: backend.url }, { name: 'second', url: backend.url, credentialsRef: { name: 'missing', key: 'apiKey' } }],
    })));
    expect(await rejected(RELOAD_DEADLINE_MS)).toMatchObject({ level: 'error', serving: v1, problems: 1 });
    // The same files read again (touched: a watch event and a reload, same bytes) are the same edit.
    const seenAgain = logAfter(p, (l) => l.msg === 'config change already rejected');
    const now = new Date();
    utimesSync(file, now, now);
    expect(await seenAgain(RELOAD_DEADLINE_MS)).toMatchObject({ serving: v1 });
    const since = p.logs.slice(editAt);
    expect(since.filter((l) => l.msg === REJECTED)).toHaveLength(1);
    const reasons = since.filter((l) => l.msg === 'object rejected');
    expect(reasons).toEqual([expect.objectContaining({ kind: 'ModelRoute', namespace: NS, name: 'reload', reason: 'SecretNotFound' })]);
    expect(reasons[0]!['message']).toBe('backend "second": Secret "missing" not found in namespace ai.');
    // Nothing says the rejected config is served: no "Serving with 1 of 2 backends", no "config applied".
    expect(JSON.stringify(since)).not.toMatch(/Serving with|not served|config applied/);
    expect(since.findIndex((l) => l.msg === REJECTED)).toBeLessThan(since.findIndex((l) => l.msg === 'object rejected'));
    expect(await version(p)).toBe(v1);
    expect(await status(p, 'reload-a')).toBe(200);
    expect(await status(p, 'reload-b')).toBe(200);
    expect(await status(p, 'reload-c')).toBe(404);

    // 3. A file that is not even YAML: logged at warn or above, last good config stays.
    const complaint = logAfter(p, isWarnOrWorse);
    writeFileSync(file, 'apiVersion: jairouter.io/v1alpha1\nkind: ModelRoute\nmetadata: {name: [unclosed\n');
    await complaint(RELOAD_DEADLINE_MS);
    expect(await version(p)).toBe(v1);
    expect(await status(p, 'reload-b')).toBe(200);

    // 4. Recovery by an atomic replace (write a temp file, rename it over: editors and ConfigMaps do this).
    const tmp = join(p.configDir, '.config.yaml.tmp');
    writeFileSync(tmp, toYaml(tenantDocs(), route(['reload-a', 'reload-d'])));
    renameSync(tmp, file);
    const v2 = await waitForNewVersion(p, v1);
    expect(v2).not.toBe(v0);
    expect(await status(p, 'reload-d')).toBe(200);
    expect(await status(p, 'reload-b')).toBe(404);

    // 5. And the watch still works after the rename.
    writeFileSync(file, toYaml(tenantDocs(), route(['reload-a', 'reload-e'])));
    await waitForNewVersion(p, v2);
    expect(await status(p, 'reload-e')).toBe(200);
  });

  it('a watched directory picks up added and removed files', async () => {
    const p = await start({ yamlFiles: { 'base.yaml': toYaml(tenantDocs(), route(['dir-a'])) } });
    const v0 = await version(p);
    const extra = join(p.configDir, 'extra.yaml');
    writeFileSync(extra, toYaml(modelRoute('extra', { models: ['dir-b'], backends: [{ name: 'life', url: backend.url }] })));
    const v1 = await waitForNewVersion(p, v0);
    expect(await status(p, 'dir-b')).toBe(200);
    unlinkSync(extra);
    await waitForNewVersion(p, v1);
    expect(await status(p, 'dir-b')).toBe(404);
    expect(await status(p, 'dir-a')).toBe(200);
  });

  it('a tenant key added to the Secret is accepted after the reload', async () => {
    const p = await start({ configs: toYaml(tenantDocs(), route(['key-a'])) });
    const v0 = await version(p);
    const NEW_KEY = 'sk-rotated-in-3344';
    const err = await p.client(NEW_KEY).chat.completions.create({ model: 'key-a', messages: user('x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    writeFileSync(p.configFile(), toYaml(tenantWithKeys('t', { k: KEY, k2: NEW_KEY }), route(['key-a'])));
    await waitForNewVersion(p, v0);
    const r = await p.client(NEW_KEY).chat.completions.create({ model: 'key-a', messages: user('x') });
    expect(r.choices[0]?.message.content).toBe(chatReply('life', user('x')));
  });
});

describe('config changes and traffic', () => {
  it('a rotated provider credential is sent upstream after the reload', async () => {
    const creds = (apiKey: string) => secret('provider', { stringData: { apiKey } });
    const r = (): Doc =>
      modelRoute('creds', { models: ['creds'], backends: [{ name: 'life', url: backend.url, credentialsRef: { name: 'provider', key: 'apiKey' } }] });
    const p = await start({ configs: toYaml(tenantDocs(), creds('sk-old-provider-1'), r()) });
    const c = p.client(KEY);
    backend.clearRequests();
    await c.chat.completions.create({ model: 'creds', messages: user('a') });
    expect(backend.inferenceRequests().at(-1)?.authorization).toBe('Bearer sk-old-provider-1');
    const v0 = await version(p);
    writeFileSync(p.configFile(), toYaml(tenantDocs(), creds('sk-new-provider-2'), r()));
    await waitForNewVersion(p, v0);
    await c.chat.completions.create({ model: 'creds', messages: user('b') });
    expect(backend.inferenceRequests().at(-1)?.authorization).toBe('Bearer sk-new-provider-2');
  });

  it('a stream in flight when its route is removed completes; new requests get 404', async () => {
    const slow = await startFakeOpenAI({ name: 'reload-slow' });
    try {
      slow.setMode('slowStream', { chunkDelayMs: 150 });
      const slowRoute = modelRoute('going', { models: ['going'], backends: [{ name: 'reload-slow', url: slow.url }] });
      const p = await start({ configs: toYaml(tenantDocs(), route(['stays']), slowRoute) });
      const v0 = await version(p);
      const messages = user('this answer keeps streaming while the config changes under it');
      const stream = await p.client(KEY).chat.completions.create({ model: 'going', messages, stream: true });
      const iter = stream[Symbol.asyncIterator]();
      let text = '';
      const first = await iter.next();
      text += first.done ? '' : (first.value.choices[0]?.delta.content ?? '');
      writeFileSync(p.configFile(), toYaml(tenantDocs(), route(['stays'])));
      await waitForNewVersion(p, v0);
      expect(await status(p, 'going')).toBe(404);
      // The reload really happened mid-stream.
      expect(slow.inferenceRequests()[0]?.outcome).toBe('pending');
      for (;;) {
        const { value, done } = await iter.next();
        if (done) break;
        text += value.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe(chatReply('reload-slow', messages));
      expect(await status(p, 'stays')).toBe(200);
    } finally {
      await slow.close();
    }
  });
});

describe('--upstream-max-connections', () => {
  /** The most requests the backend had open at once while `n` concurrent ones went through `p`. */
  async function peakAtBackend(p: ProxyHandle, slow: FakeBackend, n: number): Promise<number> {
    let open = 0;
    let peak = 0;
    const up = () => (peak = Math.max(peak, ++open));
    const down = () => open--;
    slow.events.on('request', up);
    slow.events.on('done', down);
    try {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => p.client(KEY).chat.completions.create({ model: 'capped', messages: user(`n${i}`) })));
      expect(answers.map((a) => a.choices[0]?.message.content)).toEqual(answers.map((_, i) => chatReply('capped', user(`n${i}`))));
    } finally {
      slow.events.off('request', up);
      slow.events.off('done', down);
    }
    return peak;
  }

  it('caps the connections to one backend origin: the requests beyond wait for one and all succeed', async () => {
    const slow = await startFakeOpenAI({ name: 'capped' });
    try {
      // Each answer takes 150 ms, so 6 concurrent requests overlap at the backend unless held back.
      slow.setMode('slowStream', { chunkDelayMs: 50 });
      const configs = toYaml(tenantDocs(), modelRoute('capped', { models: ['capped'], backends: [{ name: 'capped', url: slow.url }] }));
      const capped = await start({ args: ['--upstream-max-connections', '2'], configs });
      expect(await peakAtBackend(capped, slow, 6)).toBe(2);
      const uncapped = await start({ configs });
      expect(await peakAtBackend(uncapped, slow, 6)).toBe(6);
    } finally {
      await slow.close();
    }
  });
});

describe('SIGTERM', () => {
  it('drains: /readyz goes 503, the in-flight stream completes, exit code 0', async () => {
    const slow = await startFakeOpenAI({ name: 'drain-slow' });
    try {
      slow.setMode('slowStream', { chunkDelayMs: 100 });
      const p = await start({
        args: ['--drain-timeout', '10s'],
        configs: toYaml(tenantDocs(), modelRoute('drain', { models: ['drain'], backends: [{ name: 'drain-slow', url: slow.url }] })),
      });
      const messages = user('please give me a long and slow answer with quite a lot of words in it so it takes a while');
      const stream = await p.client(KEY).chat.completions.create({ model: 'drain', messages, stream: true });
      const it = stream[Symbol.asyncIterator]();
      let text = '';
      // Wait for the first content so the stream is really in flight.
      for (;;) {
        const { value, done } = await it.next();
        if (done) throw new Error('stream ended before any content');
        text += value.choices[0]?.delta.content ?? '';
        if (text !== '') break;
      }
      let finishReason: string | null | undefined;
      let streamEndedAt = 0;
      const rest = (async () => {
        for (;;) {
          const { value, done } = await it.next();
          if (done) break;
          text += value.choices[0]?.delta.content ?? '';
          finishReason = value.choices[0]?.finish_reason ?? finishReason;
        }
        streamEndedAt = Date.now();
      })();

      p.proc.kill('SIGTERM');
      await waitFor('/readyz 503 while draining', async () => (await p.readyz()).status === 503, 2_000, 25);
      const notReadyAt = Date.now();

      await rest;
      expect(text).toBe(chatReply('drain-slow', messages));
      expect(finishReason).toBe('stop');
      expect(notReadyAt).toBeLessThan(streamEndedAt);

      const exit = await Promise.race([
        p.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('proxy did not exit after draining')), 10_000)),
      ]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect((await slow.waitForDone()).outcome).toBe('completed');
    } finally {
      await slow.close();
    }
  });

  it('--shutdown-delay: /readyz 503 at once, new connections still served (Connection: close) until the delay ends, then exit 0', async () => {
    const p = await start({ args: ['--shutdown-delay', '2s'], configs: toYaml(tenantDocs(), route(['delayed'])) });
    const t0 = Date.now();
    p.proc.kill('SIGTERM');
    await waitFor('/readyz 503 while draining', async () => (await p.readyz()).status === 503, 1_000, 10);
    expect(await p.waitForLog((l) => l.msg === 'draining', 1_000)).toMatchObject({ shutdownDelayMs: 2000 });
    // A client (or balancer) that has not seen the 503 yet: a fresh connection is answered and
    // told to close, so its next request opens one elsewhere.
    const res = await p.postChat(KEY, { model: 'delayed', messages: user('still there?') });
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    await res.arrayBuffer();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
  });

  it('gives up on requests still running at --drain-timeout and exits', async () => {
    const hang = await startFakeOpenAI({ name: 'drain-hang' });
    try {
      hang.setMode('hang');
      const p = await start({
        args: ['--drain-timeout', '1s'],
        configs: toYaml(tenantDocs(), modelRoute('hang', { models: ['hang'], backends: [{ name: 'drain-hang', url: hang.url }] })),
      });
      const pending = p
        .client(KEY)
        .chat.completions.create({ model: 'hang', messages: user('x') })
        .catch((e: unknown) => e);
      await hang.waitForRequest();
      const t0 = Date.now();
      p.proc.kill('SIGTERM');
      const exit = await Promise.race([
        p.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('proxy did not exit within drain timeout + 4 s')), 5_000)),
      ]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(exit.signal).toBeNull();
      expect(exit.code).toBe(0);
      await pending;
    } finally {
      await hang.close();
    }
  });
});
