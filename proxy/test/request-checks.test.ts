// What the proxy checks on a request before routing it, and what it sends upstream: the model's
// type, the Content-Type, CORS for browser clients, GET /v1/models/{id}, a body passed byte for
// byte when the model is rewritten, and the user-agent. In-process, against a fake backend.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import pkg from '../package.json' with { type: 'json' };
import { PROVIDER_KEY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-request-checks-0123456789';
const ORIGIN = 'https://console.example.com';
let backend: FakeBackend;
let proxy: InProcessProxy;
let withCors: InProcessProxy;
let probed: FakeBackend;

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'checks' });
  probed = await startFakeOpenAI({ name: 'probed' });
  const yaml = toYaml(
    providerSecret(),
    modelRoute('probed', {
      models: ['probed'],
      backends: [{ name: 'probed', url: probed.url, credentialsRef: PROVIDER_REF, options: { authHeader: 'api-key', 'header.X-Team': 'ml' } }],
      healthCheck: { active: { interval: '1h' } },
    }),
    modelRoute('chat', { models: ['chat'], backends: [{ name: 'checks', url: backend.url }] }),
    modelRoute('renamed', { models: ['renamed'], backends: [{ name: 'checks', url: backend.url, model: 'upstream/model-id' }] }),
    tenantWithKeys('t', { k: KEY }),
  );
  proxy = await startInProcess(yaml);
  withCors = await startInProcess(yaml, { corsOrigins: [ORIGIN] });
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), withCors?.stop()]);
  await Promise.all([backend?.close(), probed?.close()]);
});

beforeEach(() => backend.clearRequests());

async function errorOf(r: Response): Promise<{ status: number; code: string; message: string; param: unknown }> {
  const body = (await r.json()) as { error: { code: string; message: string; param: unknown } };
  return { status: r.status, ...body.error };
}

describe('request checks', () => {
  it('a model that is not a string says it must be a string, not that it is missing', async () => {
    const e = await errorOf(await proxy.post('/v1/chat/completions', KEY, { model: 5, messages: [] }));
    expect(e).toMatchObject({ status: 400, code: 'invalid_type', param: 'model' });
    expect(e.message).toContain('must be a string');
    expect(e.message).toContain('a number');
    const missing = await errorOf(await proxy.post('/v1/chat/completions', KEY, { messages: [] }));
    expect(missing).toMatchObject({ status: 400, code: 'missing_model' });
  });

  it('a body that is not declared as JSON gets 415 with what to send; JSON with a charset is fine', async () => {
    const form = await proxy.post('/v1/chat/completions', KEY, 'model=chat', { 'content-type': 'application/x-www-form-urlencoded' });
    const e = await errorOf(form);
    expect(e).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(e.message).toContain('Content-Type: application/json');
    const ok = await proxy.post('/v1/chat/completions', KEY, { model: 'chat', messages: [{ role: 'user', content: 'x' }] }, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    expect(backend.inferenceRequests()).toHaveLength(1);
  });

  it('GET /v1/models/{id} answers what the SDK\'s models.retrieve expects', async () => {
    const model = await proxy.client(KEY).models.retrieve('chat');
    expect(model).toMatchObject({ id: 'chat', object: 'model' });
    const missing = await proxy.client(KEY).models.retrieve('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('what goes upstream', () => {
  it('a rewritten model changes only the model bytes: big integers and long decimals arrive as sent', async () => {
    const raw = '{"model":"renamed","seed":12345678901234567890123,"temperature":1.0000000000000000001,"messages":[{"role":"user","content":"hi"}]}';
    const r = await proxy.post('/v1/chat/completions', KEY, raw);
    expect(r.status).toBe(200);
    await r.body?.cancel();
    expect(backend.inferenceRequests()[0]!.rawBody).toBe(raw.replace('"renamed"', '"upstream/model-id"'));
  });

  it('a stream gets include_usage spliced in, the rest of the body untouched', async () => {
    const raw = '{"stream":true,"model":"chat","seed":12345678901234567890123,"messages":[{"role":"user","content":"hi"}]}';
    const r = await proxy.post('/v1/chat/completions', KEY, raw);
    await r.text();
    expect(backend.inferenceRequests()[0]!.rawBody).toBe(raw.slice(0, -1) + ',"stream_options":{"include_usage":true}}');
  });

  it('upstream requests say they come from jairouter/<version>', async () => {
    await proxy.client(KEY).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] });
    expect(backend.inferenceRequests()[0]!.headers['user-agent']).toBe(`jairouter/${pkg.version}`);
  });
});

describe('health probes', () => {
  it('authenticate as requests do: the adapter\'s credential header and static headers, and the user-agent', async () => {
    const probe = await probed.waitForRequest((r) => r.method === 'GET' && r.path === '/v1/models', 5_000);
    expect(probe.headers['api-key']).toBe(PROVIDER_KEY);
    expect(probe.headers.authorization).toBeUndefined();
    expect(probe.headers['x-team']).toBe('ml');
    expect(probe.headers['user-agent']).toBe(`jairouter/${pkg.version}`);
  });
});

describe('CORS', () => {
  const preflight = (p: InProcessProxy, origin: string) =>
    fetch(`${p.baseUrl}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  it('is off by default: OPTIONS gets 405 saying how to turn it on, and no CORS header is sent', async () => {
    const r = await preflight(proxy, ORIGIN);
    const e = await errorOf(r);
    expect(e.status).toBe(405);
    expect(e.message).toContain('--cors-allow-origin');
    const post = await proxy.post('/v1/chat/completions', KEY, { model: 'chat', messages: [] }, { origin: ORIGIN });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    await post.body?.cancel();
  });

  it('answers the preflight of an allowed origin and marks every answer for it', async () => {
    const r = await preflight(withCors, ORIGIN);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(r.headers.get('access-control-allow-methods')).toContain('POST');
    expect(r.headers.get('access-control-allow-headers')).toContain('authorization');
    const post = await withCors.post('/v1/chat/completions', KEY, { model: 'chat', messages: [{ role: 'user', content: 'x' }] }, { origin: ORIGIN });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(post.headers.get('access-control-expose-headers')).toContain('x-request-id');
    await post.body?.cancel();
    const unauthorized = await withCors.post('/v1/chat/completions', 'sk-wrong', { model: 'chat' }, { origin: ORIGIN });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    await unauthorized.body?.cancel();
  });

  it('refuses the preflight of another origin and leaves its answers unmarked', async () => {
    const r = await preflight(withCors, 'https://evil.example.com');
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const post = await withCors.post('/v1/chat/completions', KEY, { model: 'chat', messages: [] }, { origin: 'https://evil.example.com' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    await post.body?.cancel();
  });
});
