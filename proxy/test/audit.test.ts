// The audit trail (--audit-log): one record per request with who, what, which decision and what
// it cost, never content or secrets; its field set is the contract docs/audit.md describes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { AUDIT_FIELDS } from '../src/telemetry/audit.ts';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, waitFor, type ProxyHandle } from './harness.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-audit-acme-key-000111';
const PROMPT = 'my secret prompt text 4f9a';
let backend: FakeBackend;
let dead: FakeBackend;
let proxy: InProcessProxy;
const records: Record<string, unknown>[] = [];

const yaml = () => toYaml(
  modelRoute('chat', { models: ['chat'], backends: [{ name: 'main', url: backend.url, pricing: { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 } }] }),
  modelRoute('broken', { models: ['broken'], backends: [{ name: 'gone', url: dead.url }], retry: { attempts: 1 } }),
  tenantWithKeys('acme', { ci: KEY }, { access: { models: ['chat', 'broken'] } }),
  {
    apiVersion: 'jairouter.io/v1alpha1', kind: 'RateLimitPolicy', metadata: { name: 'cap', namespace: 'ai' },
    spec: { targetRefs: [{ kind: 'ModelRoute', name: 'chat' }], rules: [{ name: 'two', limit: { requests: 2, per: '1h' } }] },
  },
);

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'audited' });
  dead = await startFakeOpenAI({ name: 'dead' });
  await dead.kill();
  proxy = await startInProcess(yaml(), { audit: records });
});
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

const last = () => records[records.length - 1]!;
const chat = (key: string, model: string) =>
  proxy.post('/v1/chat/completions', key, { model, messages: [{ role: 'user', content: PROMPT }] }).then(async (r) => (await r.text(), r.status));
const settled = (n: number) => new Promise<void>((resolve) => {
  const poll = () => (records.length >= n ? resolve() : setImmediate(poll));
  poll();
});

describe('audit records', () => {
  it('an allowed request: tenant, key id, model, route, backend, tokens, cost at the backend\'s prices, duration; fields in the documented order', async () => {
    expect(await chat(KEY, 'chat')).toBe(200);
    await settled(1);
    const r = last();
    expect(Object.keys(r)).toEqual([...AUDIT_FIELDS]);
    expect(r).toMatchObject({
      tenant: 'ai/acme', keyId: 'acme-keys/ci', subject: '', clientIp: '127.0.0.1', method: 'POST', path: '/v1/chat/completions',
      model: 'chat', route: 'ai/chat', backend: 'main', decision: 'allowed', reason: '', detail: '', status: 200, stream: false, masks: {},
    });
    const tin = r.tokensIn as number;
    const tout = r.tokensOut as number;
    expect(tin).toBeGreaterThan(0);
    expect(r.cost).toBeCloseTo(tin * 1 + tout * 2, 6);
    expect(typeof r.time).toBe('string');
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('refusals say which check or limit: a wrong key, a limit, a model the tenant may not use', async () => {
    expect(await chat('sk-wrong-key-000', 'chat')).toBe(401);
    await settled(2);
    expect(last()).toMatchObject({ tenant: '', keyId: '', decision: 'refused', reason: 'invalid_api_key', status: 401 });
    await chat(KEY, 'chat');
    expect(await chat(KEY, 'chat')).toBe(429);
    await settled(4);
    expect(last()).toMatchObject({ tenant: 'ai/acme', decision: 'refused', reason: 'rate_limit_exceeded', detail: 'limited by RateLimitPolicy ai/cap rule two', backend: '' });
  });

  it('a request the upstream could not serve is a failure, with its route', async () => {
    expect(await chat(KEY, 'broken')).toBe(502);
    await settled(5);
    expect(last()).toMatchObject({ decision: 'failed', route: 'ai/broken', status: 502 });
  });

  it('never holds the prompt, the API key or a wrong key that was tried', () => {
    const all = JSON.stringify(records);
    for (const s of [PROMPT, KEY, 'sk-wrong-key-000']) expect(all).not.toContain(s);
  });
});

describe('--audit-log FILE', () => {
  let bin: ProxyHandle;
  it('appends one JSON line per request to the file, apart from the operational log', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'jr-audit-')), 'audit', 'requests.jsonl');
    bin = await startProxy({ configs: yaml(), args: ['--audit-log', file] });
    try {
      for (let i = 0; i < 2; i++) expect((await bin.client(KEY).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).choices.length).toBe(1);
      const lines = await waitFor('two audit lines in the file', async () => {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          return undefined;
        }
        const l = text.split('\n').filter(Boolean);
        return l.length >= 2 ? l : undefined;
      }, 5000);
      expect(lines.map((l) => (JSON.parse(l) as { decision: string }).decision)).toEqual(['allowed', 'allowed']);
      expect(bin.logs.some((l) => 'decision' in l)).toBe(false);
    } finally {
      await bin.stop();
    }
  });
});
