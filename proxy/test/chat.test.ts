// Happy paths through the proxy with the official openai SDK: chat (plain and streaming,
// with and without include_usage), completions, embeddings, model listing, headers,
// model rewrite and provider credentials.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chatPromptTokens,
  chatReply,
  countTokens,
  embeddingVector,
  startFakeOpenAI,
} from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { chunkKind, loadFixture, parseSse, shapeOf } from '@jairouter/testkit/openai-shape';
import { NS, PROVIDER_KEY, PROVIDER_REF, modelRoute, providerSecret, secret, tenant, tenantWithKeys, toYaml } from './config.ts';
import { startProxy } from './harness.ts';
import type { ProxyHandle } from './harness.ts';

const ACME_KEY = 'sk-acme-0a1b2c3d4e5f';
const ACME_KEY_2 = 'sk-acme-second-9z8y7x';
const ROOT_KEY = 'sk-root-5e6f7a8b9c';

let proxy: ProxyHandle;
let a: FakeBackend;
let rw: FakeBackend;
let emb: FakeBackend;
let slow: FakeBackend;
let frag: FakeBackend;
let acme: OpenAI;
let root: OpenAI;

beforeAll(async () => {
  [a, rw, emb, slow, frag] = await Promise.all([
    startFakeOpenAI({ name: 'backend-a' }),
    startFakeOpenAI({ name: 'backend-rw' }),
    startFakeOpenAI({ name: 'backend-emb' }),
    startFakeOpenAI({ name: 'backend-slow' }),
    startFakeOpenAI({ name: 'backend-frag' }),
  ]);
  slow.setMode('slowStream', { chunkDelayMs: 150 });
  // Every SSE event leaves in 3-byte pieces: events and UTF-8 characters straddle reads.
  frag.setMode('ok', { fragmentBytes: 3 });
  proxy = await startProxy({
    configs: toYaml(
      providerSecret(),
      modelRoute('chat', {
        models: ['chat-a', 'gpt-4o-mini'],
        backends: [{ name: 'backend-a', url: a.url, credentialsRef: PROVIDER_REF }],
      }),
      modelRoute('rewrite', {
        models: ['chat-rewrite'],
        backends: [{ name: 'backend-rw', url: rw.url, model: 'upstream-model-x', credentialsRef: PROVIDER_REF }],
      }),
      modelRoute('embed', {
        models: ['embed-small'],
        backends: [{ name: 'backend-emb', adapter: 'vllm', url: emb.url, credentialsRef: PROVIDER_REF }],
      }),
      modelRoute('slow', {
        models: ['chat-slow'],
        backends: [{ name: 'backend-slow', url: slow.url, credentialsRef: PROVIDER_REF }],
      }),
      modelRoute('frag', {
        models: ['chat-frag'],
        backends: [{ name: 'backend-frag', url: frag.url, credentialsRef: PROVIDER_REF }],
      }),
      modelRoute('secret', { models: ['secret-model'], backends: [{ name: 'backend-a', url: a.url }] }),
      modelRoute('prefix', { models: ['pfx-*'], backends: [{ name: 'backend-a', url: a.url }] }),
      // Keys from both data (base64) and stringData: every entry is one key.
      secret('acme-keys', { stringData: { primary: ACME_KEY }, data: { secondary: ACME_KEY_2 } }),
      tenant('acme', {
        apiKeys: { secretRefs: [{ name: 'acme-keys' }] },
        access: { models: ['chat-*', 'embed-small', 'gpt-4o-mini'] },
      }),
      tenantWithKeys('root', { main: ROOT_KEY }),
    ),
  });
  acme = proxy.client(ACME_KEY);
  root = proxy.client(ROOT_KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([a, rw, emb, slow, frag].map((f) => f?.close()));
});

beforeEach(() => {
  for (const f of [a, rw, emb, slow, frag]) f.clearRequests();
});

const user = (content: string) => [{ role: 'user' as const, content }];

describe('chat completions', () => {
  it('non-streaming: the backend reply, usage and the OpenAI response shape come through', async () => {
    const messages = user('what is two plus two');
    const r = await acme.chat.completions.create({ model: 'chat-a', messages });
    expect(r.choices[0]?.message.content).toBe(chatReply('backend-a', messages));
    expect(r.choices[0]?.finish_reason).toBe('stop');
    const completion = countTokens(chatReply('backend-a', messages));
    expect(r.usage).toMatchObject({
      prompt_tokens: chatPromptTokens(messages),
      completion_tokens: completion,
      total_tokens: chatPromptTokens(messages) + completion,
    });
    // The proxy neither drops nor adds fields of the provider's response.
    expect(shapeOf(r)).toEqual(shapeOf(loadFixture('chat-completion').response.body));
  });

  it('accepts every entry of the tenant key Secret, from data and from stringData', async () => {
    const r = await proxy.client(ACME_KEY_2).chat.completions.create({ model: 'chat-a', messages: user('hi') });
    expect(r.choices[0]?.message.content).toBe(chatReply('backend-a', user('hi')));
  });

  it('sets x-request-id, x-jairouter-route and x-jairouter-backend', async () => {
    const { response } = await acme.chat.completions.create({ model: 'chat-a', messages: user('headers') }).withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/\S{6,}/);
    expect(response.headers.get('x-jairouter-route')).toBe(`${NS}/chat`);
    expect(response.headers.get('x-jairouter-backend')).toBe('backend-a');
    const { response: r2 } = await acme.chat.completions.create({ model: 'chat-a', messages: user('headers') }).withResponse();
    expect(r2.headers.get('x-request-id')).not.toBe(response.headers.get('x-request-id'));
  });

  it('does not pass on headers about the platform\'s provider account (organization, project, cookies)', async () => {
    const { response } = await acme.chat.completions.create({ model: 'chat-a', messages: user('account headers') }).withResponse();
    const s = await acme.chat.completions.create({ model: 'chat-a', messages: user('account headers'), stream: true }).withResponse();
    for await (const _ of s.data) void _;
    for (const h of [response.headers, s.response.headers]) {
      expect(h.get('x-jairouter-backend')).toBe('backend-a');
      for (const name of ['openai-organization', 'openai-project', 'set-cookie']) expect(h.get(name), name).toBeNull();
    }
  });

  it('sends the provider credential upstream and never the tenant key', async () => {
    await acme.chat.completions.create({ model: 'chat-a', messages: user('credentials') });
    const rec = a.inferenceRequests()[0]!;
    expect(rec.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    const upstreamHeaders = JSON.stringify(rec.headers);
    expect(upstreamHeaders).not.toContain(ACME_KEY);
  });

  it('rewrites the model to the backend model and leaves every other body field unchanged', async () => {
    const body = {
      model: 'chat-rewrite',
      messages: [
        { role: 'system' as const, content: 'be brief' },
        { role: 'user' as const, content: 'rewrite me' },
      ],
      temperature: 0.25,
      top_p: 0.9,
      max_tokens: 64,
      seed: 7,
      user: 'end-user-42',
      stop: ['\n\n'],
      // Vendor extensions (vLLM sampling params) must pass through untouched.
      top_k: 5,
      chat_template_kwargs: { enable_thinking: false },
    };
    const r = await acme.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(r.choices[0]?.message.content).toBe(chatReply('backend-rw', body.messages));
    const rec = rw.inferenceRequests()[0]!;
    expect(rec.path).toBe('/v1/chat/completions');
    expect(rec.body).toEqual({ ...body, model: 'upstream-model-x' });
    expect(rec.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  });

  it('serves a model matched by a prefix pattern, sending the requested name upstream', async () => {
    const r = await root.chat.completions.create({ model: 'pfx-anything-7b', messages: user('prefix') });
    expect(r.choices[0]?.message.content).toBe(chatReply('backend-a', user('prefix')));
    expect(a.inferenceRequests()[0]?.body).toMatchObject({ model: 'pfx-anything-7b' });
  });
});

describe('streaming chat completions', () => {
  it('without include_usage: the proxy asks upstream for usage and hides the usage chunk', async () => {
    const messages = user('stream this please');
    const stream = await acme.chat.completions.create({ model: 'chat-a', messages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(chatReply('backend-a', messages));
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(chunks.some((c) => c.usage != null)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const rec = a.inferenceRequests()[0]!;
    expect(rec.body).toMatchObject({ model: 'chat-a', stream: true, stream_options: { include_usage: true } });
  });

  it('with include_usage: the client gets the usage chunk, and null usage on every other chunk', async () => {
    const messages = user('count my tokens');
    const stream = await acme.chat.completions.create({
      model: 'chat-a',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const completion = countTokens(chatReply('backend-a', messages));
    expect(last.usage).toMatchObject({
      prompt_tokens: chatPromptTokens(messages),
      completion_tokens: completion,
      total_tokens: chatPromptTokens(messages) + completion,
    });
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.filter((c) => c.choices.length === 0)).toHaveLength(1);
    expect(a.inferenceRequests()[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
  });

  it('raw SSE: text/event-stream, OpenAI chunk shapes, and data: [DONE] at the end', async () => {
    const res = await proxy.postChat(ACME_KEY, { model: 'chat-a', messages: user('raw bytes'), stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-jairouter-backend')).toBe('backend-a');
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = parseSse(text);
    const kinds = events.map(chunkKind);
    expect(kinds[0]).toBe('role');
    expect(kinds.slice(1, -2).every((k) => k === 'content')).toBe(true);
    expect(kinds.slice(-2)).toEqual(['finish', 'done']);
    const fx = loadFixture('chat-completion-stream').response.events ?? [];
    // The proxy asked for usage on the client's behalf: the `"usage":null` the upstream then
    // adds to every chunk is taken out again, so chunks have exactly the fixture's shape.
    expect(text).not.toContain('"usage"');
    for (const kind of ['role', 'content', 'finish'] as const) {
      const expected = shapeOf(fx.find((e) => chunkKind(e) === kind));
      for (const e of events.filter((x) => chunkKind(x) === kind)) expect(shapeOf(e), kind).toEqual(expected);
    }
  });

  it('merges the client stream_options with include_usage instead of replacing them', async () => {
    const body = {
      model: 'chat-rewrite',
      messages: user('merge options'),
      stream: true as const,
      temperature: 0,
      stream_options: { include_obfuscation: false },
    };
    const stream = await acme.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming);
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.choices.length === 0 || c.usage != null)).toBe(false);
    expect(rw.inferenceRequests()[0]?.body).toEqual({
      ...body,
      model: 'upstream-model-x',
      stream_options: { include_obfuscation: false, include_usage: true },
    });
  });

  it('an explicit include_usage: false is honoured for the client while usage is still metered', async () => {
    const messages = user('explicitly no usage');
    const { data: stream, response } = await acme.chat.completions
      .create({ model: 'chat-a', messages, stream: true, stream_options: { include_usage: false } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.choices.length === 0 || c.usage != null)).toBe(false);
    expect(a.inferenceRequests()[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
    const log = await proxy.waitForLog((l) => l.msg === 'request' && l['requestId'] === response.headers.get('x-request-id'));
    expect(log['tokensOut']).toBe(countTokens(chatReply('backend-a', messages)));
  });

  for (const includeUsage of [false, true]) {
    it(`relays a stream whose events and UTF-8 characters straddle network reads (include_usage ${includeUsage})`, async () => {
      const messages = user('héllo wörld 世界 🚀 naïve café');
      const { data: stream, response } = await acme.chat.completions
        .create({ model: 'chat-frag', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) })
        .withResponse();
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(chatReply('backend-frag', messages));
      const usageChunks = chunks.filter((c) => c.choices.length === 0);
      expect(usageChunks).toHaveLength(includeUsage ? 1 : 0);
      const log = await proxy.waitForLog((l) => l.msg === 'request' && l['requestId'] === response.headers.get('x-request-id'));
      expect(log['tokensIn']).toBe(chatPromptTokens(messages));
      expect(log['tokensOut']).toBe(countTokens(chatReply('backend-frag', messages)));
    });
  }

  it('30 concurrent streams each get their own, complete answer', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const messages = user(`concurrent stream number ${i}`);
        const stream = await acme.chat.completions.create({ model: i % 2 ? 'chat-a' : 'chat-frag', messages, stream: true });
        let text = '';
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
        return { text, expected: chatReply(i % 2 ? 'backend-a' : 'backend-frag', messages) };
      }),
    );
    for (const r of results) expect(r.text).toBe(r.expected);
  });

  it('relays chunks as they come (no buffering of the stream)', async () => {
    // backend-slow waits 150 ms before every chunk; a buffering proxy delivers all at the end.
    const t0 = Date.now();
    const stream = await acme.chat.completions.create({ model: 'chat-slow', messages: user('one two three four five six'), stream: true });
    let firstContentAt: number | undefined;
    for await (const c of stream) {
      if (firstContentAt === undefined && c.choices[0]?.delta.content) firstContentAt = Date.now() - t0;
    }
    const total = Date.now() - t0;
    expect(total).toBeGreaterThan(1_500);
    expect(firstContentAt).toBeDefined();
    expect(firstContentAt!).toBeLessThan(total / 2);
  });
});

describe('completions and embeddings', () => {
  it('legacy completions', async () => {
    const r = await acme.completions.create({ model: 'chat-a', prompt: 'Say this is a test', max_tokens: 7 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]?.text).toBe('Hello from backend-a: you said "Say this is a test"');
    expect(r.usage?.prompt_tokens).toBe(5);
    const rec = a.inferenceRequests()[0]!;
    expect(rec.path).toBe('/v1/completions');
    expect(rec.body).toEqual({ model: 'chat-a', prompt: 'Say this is a test', max_tokens: 7 });
    expect(shapeOf(r)).toEqual(shapeOf(loadFixture('completion').response.body));
  });

  it('embeddings as floats', async () => {
    const r = await acme.embeddings.create({ model: 'embed-small', input: ['alpha beta', 'gamma'], encoding_format: 'float' });
    expect(r.data.map((d) => d.index)).toEqual([0, 1]);
    expect(r.data[0]?.embedding).toEqual(embeddingVector('alpha beta', 8));
    expect(r.data[1]?.embedding).toEqual(embeddingVector('gamma', 8));
    expect(r.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(emb.inferenceRequests()[0]).toMatchObject({
      path: '/v1/embeddings',
      body: { model: 'embed-small', input: ['alpha beta', 'gamma'], encoding_format: 'float' },
    });
    expect(shapeOf(r)).toEqual(shapeOf(loadFixture('embeddings').response.body));
  });

  it('embeddings as base64, explicit and the SDK default', async () => {
    const raw = await acme.embeddings.create({ model: 'embed-small', input: 'delta', encoding_format: 'base64' });
    const b64 = raw.data[0]?.embedding as unknown as string;
    expect(typeof b64).toBe('string');
    const bytes = Uint8Array.from(Buffer.from(b64, 'base64'));
    expect(Array.from(new Float32Array(bytes.buffer))).toEqual(embeddingVector('delta', 8));
    expect(shapeOf(raw)).toEqual(shapeOf(loadFixture('embeddings-base64').response.body));
    // Without encoding_format the SDK asks for base64 and decodes it.
    const dec = await acme.embeddings.create({ model: 'embed-small', input: 'delta' });
    expect(dec.data[0]?.embedding).toEqual(embeddingVector('delta', 8));
    expect(emb.inferenceRequests().map((r) => (r.body as { encoding_format?: string }).encoding_format)).toEqual(['base64', 'base64']);
  });
});

describe('model list', () => {
  const ids = async (c: OpenAI) => {
    const out: string[] = [];
    for await (const m of c.models.list()) {
      expect(m).toMatchObject({ object: 'model' });
      expect(typeof m.created).toBe('number');
      expect(typeof m.owned_by).toBe('string');
      out.push(m.id);
    }
    return out.sort();
  };

  it('lists only the models the tenant may use', async () => {
    expect(await ids(acme)).toEqual(['chat-a', 'chat-frag', 'chat-rewrite', 'chat-slow', 'embed-small', 'gpt-4o-mini']);
  });

  it('lists every exact model name for a tenant without access limits, and no prefix patterns', async () => {
    expect(await ids(root)).toEqual(['chat-a', 'chat-frag', 'chat-rewrite', 'chat-slow', 'embed-small', 'gpt-4o-mini', 'secret-model']);
  });

  it('does not reach any backend', async () => {
    await ids(acme);
    for (const f of [a, rw, emb, slow, frag]) expect(f.inferenceRequests()).toHaveLength(0);
  });
});
