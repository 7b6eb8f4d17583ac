// Guards against abuse of the API surface, through real sockets: key guessing from one address,
// parser bombs, and one tenant holding every request slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';
import { waitFor } from './harness.ts';

const A = 'sk-abuse-tenant-a-0001';
const B = 'sk-abuse-tenant-b-0002';
let fast: FakeBackend;
let slow: FakeBackend;

beforeAll(async () => {
  fast = await startFakeOpenAI({ name: 'fast' });
  slow = await startFakeOpenAI({ name: 'slow' });
  slow.setMode('slowStream', { chunkDelayMs: 300 });
});
afterAll(async () => {
  await fast?.close();
  await slow?.close();
});

const yaml = () => toYaml(
  modelRoute('chat', { models: ['chat'], backends: [{ name: 'fast', url: fast.url }] }),
  modelRoute('slow', { models: ['slow'], backends: [{ name: 'slow', url: slow.url }] }),
  tenantWithKeys('a', { k: A }),
  tenantWithKeys('b', { k: B }),
);
const body = (model = 'chat', extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
async function answer(p: InProcessProxy, key: string, b: unknown) {
  const r = await p.post('/v1/chat/completions', key, b);
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { error?: { code: string; message: string } } };
}

describe('failed authentications', () => {
  let p: InProcessProxy;
  beforeAll(async () => (p = await startInProcess(yaml())));
  afterAll(() => p.stop());

  it('after 10 wrong keys from one address, even a right key from it waits (429, Retry-After), and no key is looked at', async () => {
    for (let i = 0; i < 10; i++) expect((await answer(p, `sk-guess-${i}`, body())).status).toBe(401);
    const locked = await answer(p, A, body());
    expect(locked.status).toBe(429);
    expect(locked.body.error!.code).toBe('too_many_authentication_failures');
    expect(Number(locked.retryAfter)).toBe(1);
  });
});

describe('parser bombs', () => {
  let p: InProcessProxy;
  beforeAll(async () => (p = await startInProcess(yaml())));
  afterAll(() => p.stop());

  it('a body nested 100 levels deep is refused before parsing (400 json_too_deep); 20 levels are fine', async () => {
    const deep = (n: number) => ({ ...body(), metadata_blob: JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown });
    const r = await answer(p, A, deep(100));
    expect([r.status, r.body.error?.code]).toEqual([400, 'json_too_deep']);
    expect((await answer(p, A, deep(20))).status).toBe(200);
  });

  it('more than 10,000 messages or 1,024 tools get 400 naming the field', async () => {
    const many = await answer(p, A, { model: 'chat', messages: Array.from({ length: 10_001 }, () => ({ role: 'user', content: 'x' })) });
    expect([many.status, many.body.error?.code]).toEqual([400, 'too_many_items']);
    expect(many.body.error!.message).toContain('messages');
    const tools = await answer(p, A, body('chat', { tools: Array.from({ length: 1_025 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })) }));
    expect(tools.body.error!.message).toContain('tools');
  });

  it('the Anthropic ingress refuses the same bombs', async () => {
    const r = await fetch(`${p.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': A, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], x: JSON.parse('['.repeat(100) + ']'.repeat(100)) as unknown }),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('--max-inflight-per-tenant', () => {
  let p: InProcessProxy;
  beforeAll(async () => (p = await startInProcess(yaml(), { maxInflightPerTenant: 2 })));
  afterAll(() => p.stop());

  it('a tenant with 2 requests in flight gets 503 with Retry-After for a third; another tenant is served; a finished request frees its slot', async () => {
    const before = slow.inferenceRequests().length;
    const running = [answer(p, A, body('slow')), answer(p, A, body('slow'))];
    await waitFor('both slow requests reached the backend', () => slow.inferenceRequests().length >= before + 2, 5000);
    const third = await answer(p, A, body('chat'));
    expect([third.status, third.body.error?.code, third.retryAfter]).toEqual([503, 'tenant_concurrency_exceeded', '1']);
    expect((await answer(p, B, body('chat'))).status).toBe(200);
    expect((await Promise.all(running)).map((r) => r.status)).toEqual([200, 200]);
    expect((await answer(p, A, body('chat'))).status).toBe(200);
  });
});
