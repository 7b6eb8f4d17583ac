// Every error status of the proxy's HTTP surface, with OpenAI's error body shape, no
// stack traces, and (for the client's own mistakes) no traffic to any backend.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { embeddingVector, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { FAST_RETRY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml } from './config.ts';
import { STACK_TRACE, startProxy } from './harness.ts';
import type { ProxyHandle } from './harness.ts';

const ACME_KEY = 'sk-acme-err-11223344';
const MAX_BODY = 65_536;

let proxy: ProxyHandle;
let ok: FakeBackend;
let bad1: FakeBackend;
let bad2: FakeBackend;
let ejected: FakeBackend;
let hang: FakeBackend;
let busy: FakeBackend;
let okA: FakeBackend;
let okB: FakeBackend;
let acme: OpenAI;
const all = () => [ok, bad1, bad2, ejected, hang, okA, okB, busy];

beforeAll(async () => {
  [ok, bad1, bad2, ejected, hang] = await Promise.all([
    startFakeOpenAI({ name: 'ok' }),
    startFakeOpenAI({ name: 'bad-1' }),
    startFakeOpenAI({ name: 'bad-2' }),
    startFakeOpenAI({ name: 'ejected' }),
    startFakeOpenAI({ name: 'hang' }),
  ]);
  [okA, okB, busy] = await Promise.all([startFakeOpenAI({ name: 'ok-a' }), startFakeOpenAI({ name: 'ok-b' }), startFakeOpenAI({ name: 'busy' })]);
  busy.setMode('hang');
  bad1.setMode('error500');
  bad2.setMode('error500');
  ejected.setMode('error500');
  hang.setMode('hang');
  proxy = await startProxy({
    args: ['--max-body-size', String(MAX_BODY)],
    configs: toYaml(
      providerSecret(),
      modelRoute('chat', { models: ['chat-a'], backends: [{ name: 'ok', url: ok.url, credentialsRef: PROVIDER_REF }] }),
      modelRoute('secret', { models: ['secret-model'], backends: [{ name: 'ok', url: ok.url }] }),
      modelRoute('all-bad', {
        models: ['chat-all-bad'],
        backends: [
          { name: 'bad-1', url: bad1.url },
          { name: 'bad-2', url: bad2.url },
        ],
        retry: { attempts: 2, ...FAST_RETRY },
      }),
      modelRoute('two-ok', {
        models: ['chat-two-ok'],
        backends: [
          { name: 'ok-a', url: okA.url },
          { name: 'ok-b', url: okB.url },
        ],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 2, ...FAST_RETRY },
        healthCheck: { passive: { consecutiveFailures: 2, ejectionTime: '5m' } },
      }),
      modelRoute('ejecting', {
        models: ['chat-ejecting'],
        backends: [{ name: 'ejected', url: ejected.url }],
        retry: { attempts: 0 },
        healthCheck: { passive: { consecutiveFailures: 1, ejectionTime: '5m' } },
      }),
      modelRoute('busy', {
        models: ['chat-busy'],
        backends: [{ name: 'busy', url: busy.url, maxConcurrency: 1 }],
        retry: { attempts: 0 },
        timeouts: { firstByte: '1s' },
      }),
      modelRoute('hanging', {
        models: ['chat-hang'],
        backends: [{ name: 'hang', url: hang.url }],
        retry: { attempts: 0 },
        timeouts: { firstByte: '300ms' },
      }),
      tenantWithKeys('acme', { k: ACME_KEY }, { access: { models: ['chat-*'] } }),
    ),
  });
  acme = proxy.client(ACME_KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(all().map((f) => f?.close()));
});

beforeEach(() => {
  for (const f of all()) f.clearRequests();
});

interface RawReply {
  status: number;
  headers: Headers;
  text: string;
  body: { error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } };
}

async function raw(path: string, init: RequestInit & { key?: string | null } = {}): Promise<RawReply> {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? ACME_KEY}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(`${proxy.baseUrl}${path}`, { ...init, headers });
  const text = await res.text();
  let body: RawReply['body'] = {};
  try {
    body = JSON.parse(text) as RawReply['body'];
  } catch {
    /* asserted below */
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** OpenAI's error shape: {"error": {"message", "type", "param", "code"}}, and nothing that leaks internals. */
function expectOpenAIError(r: RawReply, status: number, match: { type?: string; code?: string | null; param?: string | null } = {}) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(r.body)).toEqual(['error']);
  const e = r.body.error!;
  expect(Object.keys(e).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof e.message).toBe('string');
  expect((e.message as string).length).toBeGreaterThan(0);
  expect(typeof e.type).toBe('string');
  expect(e.param === null || typeof e.param === 'string').toBe(true);
  expect(e.code === null || typeof e.code === 'string').toBe(true);
  if (match.type !== undefined) expect(e.type).toBe(match.type);
  if (match.code !== undefined) expect(e.code).toBe(match.code);
  if (match.param !== undefined) expect(e.param).toBe(match.param);
  expect(r.text).not.toMatch(STACK_TRACE);
  expect(r.text).not.toContain(ACME_KEY);
}

const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] });

describe('client errors (never reach a backend)', () => {
  it('400 on malformed JSON, code invalid_json', async () => {
    const r = await raw('/v1/chat/completions', { method: 'POST', body: '{"model": "chat-a", "messages": [' });
    expectOpenAIError(r, 400, { type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('400 when the model is missing, param model (SDK)', async () => {
    const err = await acme.chat.completions
      .create({ messages: [{ role: 'user', content: 'x' }] } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model');
    const r = await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [] }) });
    expectOpenAIError(r, 400, { type: 'invalid_request_error', param: 'model' });
  });

  it('400 for bodies that are JSON but not a request object, or a non-string model', async () => {
    for (const body of ['[]', 'null', '"text"', '{"model": 42, "messages": []}']) {
      const r = await raw('/v1/chat/completions', { method: 'POST', body });
      expectOpenAIError(r, 400, { type: 'invalid_request_error' });
    }
  });

  it('401 without a key and with an unknown key, type authentication_error', async () => {
    expectOpenAIError(await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-a'), key: null }), 401, {
      type: 'authentication_error',
    });
    const bogus = 'sk-unknown-key-do-not-echo-5566';
    const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-a'), key: bogus });
    expectOpenAIError(r, 401, { type: 'authentication_error' });
    expect(r.text).not.toContain(bogus);
    const err = await proxy.client(bogus).chat.completions.create({ model: 'chat-a', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expectOpenAIError(await raw('/v1/models', { key: null }), 401, { type: 'authentication_error' });
  });

  it('a model outside the tenant access list answers exactly as one that does not exist (no enumeration), and the log says why', async () => {
    const hidden = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('secret-model') });
    const absent = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('secret-modex') });
    expect(hidden.status).toBe(404);
    expect(absent.status).toBe(404);
    const [h, a] = [hidden.body.error!, absent.body.error!];
    expect({ ...h, message: String(h.message).replace('secret-model', 'M') }).toEqual({ ...a, message: String(a.message).replace('secret-modex', 'M') });
    expect(h.code).toBe('model_not_found');
    const err = await acme.chat.completions.create({ model: 'secret-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const line = await proxy.waitForLog((l) => l.msg === 'request' && l['model'] === 'secret-model');
    expect(line['error']).toBe('model_not_allowed');
    expect(line['status']).toBe(404);
    // models.retrieve answers the same way: the SDK cannot tell a hidden model from an absent one.
    const retrieved = await acme.models.retrieve('secret-model').catch((e: unknown) => e);
    expect(retrieved).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await acme.models.retrieve('chat-a')).id).toBe('chat-a');
  });

  it('404 for an unknown model, code model_not_found', async () => {
    expectOpenAIError(await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-does-not-exist') }), 404, {
      code: 'model_not_found',
    });
    const err = await acme.embeddings.create({ model: 'chat-nope', input: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('413 for a body over --max-body-size (with Content-Length), code request_too_large', async () => {
    const big = JSON.stringify({ model: 'chat-a', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY * 2) }] });
    expectOpenAIError(await raw('/v1/chat/completions', { method: 'POST', body: big }), 413, { code: 'request_too_large' });
  });

  it('413 for a large body (8 MiB, Content-Length): the client gets the 413, not a broken pipe', async () => {
    const big = JSON.stringify({ model: 'chat-a', messages: [{ role: 'user', content: 'x'.repeat(8 * 1024 * 1024) }] });
    expectOpenAIError(await raw('/v1/chat/completions', { method: 'POST', body: big }), 413, { code: 'request_too_large' });
  });

  it('413 for a chunked body over the limit (no Content-Length)', async () => {
    const piece = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"model":"chat-a","messages":[{"role":"user","content":"'));
      },
      pull(c) {
        if (sent >= MAX_BODY * 2) {
          c.enqueue(new TextEncoder().encode('"}]}'));
          c.close();
          return;
        }
        sent += piece.length;
        c.enqueue(piece);
      },
    });
    const r = await raw('/v1/chat/completions', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expectOpenAIError(r, 413, { code: 'request_too_large' });
  });

  it('a body just under the limit is accepted', async () => {
    const content = 'y'.repeat(MAX_BODY - 200);
    const r = await raw('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'chat-a', messages: [{ role: 'user', content }] }),
    });
    expect(r.status).toBe(200);
    ok.clearRequests();
  });

  it('the body limit applies to requests only: a large response (embeddings) passes intact', async () => {
    const input = Array.from({ length: 64 }, (_, i) => `text number ${i}`);
    const r = await acme.embeddings.create({ model: 'chat-a', input, dimensions: 1536, encoding_format: 'float' });
    expect(JSON.stringify(r).length).toBeGreaterThan(MAX_BODY * 4);
    expect(r.data).toHaveLength(64);
    expect(r.data[63]?.embedding).toEqual(embeddingVector('text number 63', 1536));
    ok.clearRequests();
  });

  it('none of the above reached a backend', async () => {
    await raw('/v1/chat/completions', { method: 'POST', body: '{oops' });
    await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-a'), key: null });
    await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-a'), key: 'sk-nope' });
    await raw('/v1/chat/completions', { method: 'POST', body: chatBody('secret-model') });
    await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-unknown') });
    await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'chat-a', pad: 'z'.repeat(MAX_BODY) }) });
    for (const f of all()) expect(f.inferenceRequests(), f.name).toHaveLength(0);
  });

  it('a tenant key sent as x-api-key is not forwarded upstream', async () => {
    const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-a'), key: null, headers: { 'x-api-key': ACME_KEY } });
    if (r.status === 200) {
      const rec = ok.inferenceRequests().at(-1)!;
      expect(JSON.stringify(rec.headers)).not.toContain(ACME_KEY);
    } else {
      expectOpenAIError(r, 401);
    }
    ok.clearRequests();
  });

  it('error responses carry x-request-id too', async () => {
    const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-unknown') });
    expect(r.headers.get('x-request-id')).toMatch(/\S{6,}/);
  });
});

describe('upstream errors', () => {
  it("an upstream 400 (the client's mistake) is passed through, not retried and not turned into a 502", async () => {
    const r = await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'chat-two-ok', messages: [] }) });
    expectOpenAIError(r, 400, { param: 'messages' });
    expect(okA.inferenceRequests().length + okB.inferenceRequests().length).toBe(1);
    // ...and it does not count against the backend's health.
    for (let i = 0; i < 6; i++) {
      await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'chat-two-ok', messages: [] }) });
    }
    expect(okA.inferenceRequests().length).toBeGreaterThan(0);
    expect(okB.inferenceRequests().length).toBeGreaterThan(0);
  });

  it('502 after every attempt failed', async () => {
    const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-all-bad') });
    expectOpenAIError(r, 502);
    // 1 try + 2 retries, spread over both backends.
    expect(bad1.inferenceRequests().length + bad2.inferenceRequests().length).toBe(3);
    expect(bad1.inferenceRequests().length).toBeGreaterThan(0);
    expect(bad2.inferenceRequests().length).toBeGreaterThan(0);
    const err = await acme.chat.completions.create({ model: 'chat-all-bad', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('the only endpoint of a route is never ejected: every request still tries it (502, not 503 untried)', async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-ejecting') });
      expectOpenAIError(r, 502);
      expect(ejected.inferenceRequests()).toHaveLength(i);
    }
  });

  it('503 when every endpoint is at maxConcurrency', async () => {
    const first = raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-busy') });
    await busy.waitForRequest((r) => r.path === '/v1/chat/completions');
    const second = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-busy') });
    expectOpenAIError(second, 503, { code: 'no_healthy_backend' });
    expect(busy.inferenceRequests()).toHaveLength(1);
    expect((await first).status).toBe(504);
  });

  it('504 when the backend sends nothing within timeouts.firstByte (300ms), each time close to it', async () => {
    const elapsed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-hang') });
      elapsed.push(Date.now() - t0);
      expectOpenAIError(r, 504);
    }
    // Generous margin for a loaded CI box, but a 300ms timeout must not take a second.
    for (const ms of elapsed) expect(ms, `elapsed ${elapsed.join(', ')} ms`).toBeGreaterThanOrEqual(250);
    for (const ms of elapsed) expect(ms, `elapsed ${elapsed.join(', ')} ms`).toBeLessThan(800);
  });

  it('on a first-byte timeout the proxy abandons the upstream request (the backend sees its connection closed)', async () => {
    await raw('/v1/chat/completions', { method: 'POST', body: chatBody('chat-hang') });
    const done = await hang.waitForDone(() => true, 5_000);
    expect(done.outcome).toBe('aborted');
  });

  it('504 for a stream whose backend sends nothing', async () => {
    const t0 = Date.now();
    const r = await raw('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'chat-hang', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expectOpenAIError(r, 504);
    expect(Date.now() - t0).toBeLessThan(800);
  });
});

describe('requests node:http cannot hand over (raw sockets)', () => {
  let p: ProxyHandle;
  let slow: FakeBackend;
  beforeAll(async () => {
    slow = await startFakeOpenAI({ name: 'slow-stream' });
    slow.setMode('slowStream', { chunkDelayMs: 150 });
    p = await startProxy({
      args: ['--request-read-timeout', '1s'],
      configs: toYaml(modelRoute('slow', { models: ['slow'], backends: [{ name: 'slow', url: slow.url }] }), tenantWithKeys('acme', { main: ACME_KEY })),
    });
  });
  afterAll(async () => {
    await p?.stop();
    await slow?.close();
  });

  /** Writes `text` on a fresh connection and resolves with everything read until the proxy closes it. */
  async function rawExchange(text: string): Promise<{ status: number; body: string }> {
    const { connect } = await import('node:net');
    const { port } = new URL(p.baseUrl);
    return new Promise((resolve, reject) => {
      let got = '';
      const s = connect(Number(port), '127.0.0.1', () => s.write(text));
      s.on('data', (d: Buffer) => (got += d.toString('utf8')));
      s.on('error', reject);
      s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), body: got.slice(got.indexOf('\r\n\r\n') + 4) }));
    });
  }

  it('malformed HTTP gets 400 with an OpenAI error body', async () => {
    const r = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'malformed_request' } });
  });

  it('headers over node\'s 16 KiB limit get 431 with an OpenAI error body', async () => {
    const r = await rawExchange(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'headers_too_large' } });
  });

  it('a body that stops arriving gets 408 with an OpenAI error body after --request-read-timeout', async () => {
    const t0 = Date.now();
    const r = await rawExchange(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ACME_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`);
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_timeout' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(slow.inferenceRequests()).toHaveLength(0);
    // The request log says what the client got.
    const line = await p.waitForLog((l) => l.msg === 'request' && l['status'] === 408, 5_000);
    expect(line['clientGone']).toBe(true);
  });

  it('a response that outlasts --request-read-timeout is not cut: the limit is on reading the request only', async () => {
    const client = p.client(ACME_KEY);
    const t0 = Date.now();
    const stream = await client.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'take your time with a long answer please' }] });
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const c of stream) last = c;
    expect(Date.now() - t0).toBeGreaterThan(1000);
    expect(last?.choices[0]?.finish_reason ?? last?.usage).toBeTruthy();
  });
});
