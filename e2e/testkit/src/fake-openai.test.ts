import { CohereClient } from 'cohere-ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chatPromptTokens,
  chatReply,
  countTokens,
  embeddingVector,
  startFakeOpenAI,
} from './fake-openai.ts';
import type { FakeBackend } from './fake-openai.ts';
import { chunkKind, loadFixture, parseSse, shapeOf } from './openai-shape.ts';

let fake: FakeBackend;
let client: OpenAI;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- payloads are checked by shape, not by type
async function json(res: Response): Promise<any> {
  return res.json();
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  // Paths are given from the server root (/v1/...), as in the fixtures.
  return fetch(`${fake.url.replace(/\/v1$/, '')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-provider-test', ...headers },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ name: 'alpha', models: ['m-1', 'm-2'] });
  client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-provider-test', maxRetries: 0, timeout: 5_000 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.setMode('ok');
  fake.clearRequests();
});

describe('fake OpenAI backend: formats match the published API reference fixtures', () => {
  it('non-streaming chat completion', async () => {
    const fx = loadFixture('chat-completion');
    const res = await post(fx.request.path, fx.request.body);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await json(res);
    expect(shapeOf(body)).toEqual(shapeOf(fx.response.body));
    expect(body.choices[0].message.content).toBe('Hello from alpha: you said "Hello!"');
    expect(body.model).toBe('gpt-4.1');
    const prompt = chatPromptTokens(fx.request.body?.['messages']);
    expect(body.usage).toMatchObject({
      prompt_tokens: prompt,
      completion_tokens: countTokens(body.choices[0].message.content),
      total_tokens: prompt + countTokens(body.choices[0].message.content),
    });
  });

  for (const name of ['chat-completion-stream', 'chat-completion-stream-usage'] as const) {
    it(`streaming chat completion (${name})`, async () => {
      const fx = loadFixture(name);
      const res = await post(fx.request.path, fx.request.body);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const text = await res.text();
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      const events = parseSse(text);
      const expected = fx.response.events ?? [];
      // Same sequence of chunk kinds (role, content..., finish, [usage], done)...
      const kinds = (evs: unknown[]) => evs.map(chunkKind).filter((k, i, a) => !(k === 'content' && a[i - 1] === 'content'));
      expect(kinds(events)).toEqual(kinds(expected));
      // ...and each kind has exactly the fixture's shape.
      for (const kind of ['role', 'content', 'finish', 'usage'] as const) {
        const ours = events.filter((e) => chunkKind(e) === kind);
        const theirs = expected.filter((e) => chunkKind(e) === kind);
        expect(ours.length > 0).toBe(theirs.length > 0);
        for (const o of ours) expect(shapeOf(o), kind).toEqual(shapeOf(theirs[0]));
      }
      const content = events
        .filter((e) => chunkKind(e) === 'content')
        .map((e) => (e as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content)
        .join('');
      expect(content).toBe('Hello from alpha: you said "Hello!"');
    });
  }

  it('legacy completion', async () => {
    const fx = loadFixture('completion');
    const res = await post(fx.request.path, fx.request.body);
    const body = await json(res);
    expect(shapeOf(body)).toEqual(shapeOf(fx.response.body));
    expect(body.object).toBe('text_completion');
    expect(body.choices[0].text).toBe('Hello from alpha: you said "Say this is a test"');
  });

  it('embeddings, float and base64', async () => {
    for (const name of ['embeddings', 'embeddings-base64'] as const) {
      const fx = loadFixture(name);
      const res = await post(fx.request.path, fx.request.body);
      const body = await json(res);
      expect(shapeOf(body), name).toEqual(shapeOf(fx.response.body));
    }
    const fx = loadFixture('embeddings-base64');
    const raw = Buffer.from((fx.response.body as { data: { embedding: string }[] }).data[0]!.embedding, 'base64');
    const fxVec = new Float32Array(Uint8Array.from(raw).buffer);
    expect(Array.from(fxVec).map((x) => Number(x.toFixed(7)))).toEqual([0.0023064, -0.0093273, -0.0028842]);
  });

  it('model list', async () => {
    const fx = loadFixture('models');
    const res = await fetch(`${fake.url}/models`);
    const body = await json(res);
    expect(shapeOf(body)).toEqual(shapeOf(fx.response.body));
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(['m-1', 'm-2']);
    expect((await fetch(`${fake.url.replace(/\/v1$/, '')}/health`)).status).toBe(200);
  });

  it('errors 500 and 429', async () => {
    for (const [mode, fxName, status] of [
      ['error500', 'error-500', 500],
      ['error429', 'error-429', 429],
    ] as const) {
      fake.setMode(mode);
      const fx = loadFixture(fxName);
      const res = await post(fx.request.path, fx.request.body);
      expect(res.status).toBe(status);
      expect(shapeOf(await json(res))).toEqual(shapeOf(fx.response.body));
      if (status === 429) expect(res.headers.get('retry-after')).toBe('1');
    }
  });
});

describe('fake OpenAI backend: the official SDK talks to it', () => {
  it('chat, stream with usage, completions, embeddings (SDK default base64 decoding)', async () => {
    const r = await client.chat.completions.create({ model: 'm-1', messages: [{ role: 'user', content: 'hi there' }] });
    expect(r.choices[0]?.message.content).toBe('Hello from alpha: you said "hi there"');
    expect(r.usage?.prompt_tokens).toBe(2);

    const stream = await client.chat.completions.create({
      model: 'm-1',
      messages: [{ role: 'user', content: 'hi there' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(chatReply('alpha', [{ role: 'user', content: 'hi there' }]));
    expect(usage?.completion_tokens).toBe(countTokens(text));

    const c = await client.completions.create({ model: 'm-1', prompt: 'abc def' });
    expect(c.choices[0]?.text).toContain('Hello from alpha');

    const e = await client.embeddings.create({ model: 'emb', input: ['one', 'two words'] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]?.embedding).toEqual(embeddingVector('one', 8));
    expect(e.usage.prompt_tokens).toBe(3);
    const f = await client.embeddings.create({ model: 'emb', input: 'one', encoding_format: 'float', dimensions: 4 });
    expect(f.data[0]?.embedding).toEqual(embeddingVector('one', 4));
    expect(fake.requests.at(-2)?.body).toMatchObject({ encoding_format: 'base64' });
  });

  it('records method, path, parsed body and the Authorization header', async () => {
    await client.chat.completions.create({ model: 'm-2', messages: [{ role: 'user', content: 'x' }], temperature: 0.5 });
    const rec = fake.inferenceRequests()[0]!;
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1/chat/completions');
    expect(rec.authorization).toBe('Bearer sk-provider-test');
    expect(rec.body).toEqual({ model: 'm-2', messages: [{ role: 'user', content: 'x' }], temperature: 0.5 });
    expect(rec.outcome).toBe('completed');
  });
});

describe('fake OpenAI backend: failure modes', () => {
  const chatBody = { model: 'm', messages: [{ role: 'user', content: 'one two three four' }] };

  it('reset destroys the connection without a response', async () => {
    fake.setMode('reset');
    await expect(post('/v1/chat/completions', chatBody)).rejects.toThrow();
    expect(fake.inferenceRequests()[0]?.outcome).toBe('reset');
  });

  it('hang never answers; a client abort is observed as outcome "aborted"', async () => {
    fake.setMode('hang');
    const ac = new AbortController();
    const p = fetch(`${fake.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody), signal: ac.signal });
    await fake.waitForRequest((r) => r.path === '/v1/chat/completions');
    ac.abort();
    await expect(p).rejects.toThrow();
    const done = await fake.waitForDone();
    expect(done.outcome).toBe('aborted');
  });

  it('health probes stay green in failure modes unless affectHealth', async () => {
    fake.setMode('error500');
    expect((await fetch(`${fake.url}/models`)).status).toBe(200);
    fake.setMode('error500', { affectHealth: true });
    expect((await fetch(`${fake.url}/models`)).status).toBe(500);
  });

  it('streamBreak sends headers and N chunks, then destroys the socket', async () => {
    fake.setMode('streamBreak', { breakAfterChunks: 2 });
    const res = await post('/v1/chat/completions', { ...chatBody, stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const dec = new TextDecoder();
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += dec.decode(value, { stream: true });
        }
      })(),
    ).rejects.toThrow();
    const events = parseSse(text);
    expect(events.map(chunkKind)).toEqual(['role', 'content', 'content']);
    expect(text).not.toContain('[DONE]');
    expect(fake.inferenceRequests()[0]?.outcome).toBe('reset');
  });

  it('streamTruncate ends the response cleanly after N chunks, without finish_reason or [DONE]', async () => {
    fake.setMode('streamTruncate', { breakAfterChunks: 3 });
    const res = await post('/v1/chat/completions', { ...chatBody, stream: true });
    const text = await res.text();
    expect(parseSse(text).map(chunkKind)).toEqual(['role', 'content', 'content', 'content']);
    expect(fake.inferenceRequests()[0]?.outcome).toBe('completed');
  });

  it('fragmentBytes splits events (and UTF-8 characters) across network reads', async () => {
    fake.setMode('ok', { fragmentBytes: 3 });
    const body = { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'héllo 世界 🚀' }] };
    const res = await post('/v1/chat/completions', body);
    const reader = res.body!.getReader();
    let reads = 0;
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      parts.push(value);
    }
    const text = Buffer.concat(parts).toString('utf8');
    const events = parseSse(text);
    expect(reads).toBeGreaterThan(events.length * 2);
    const content = events
      .filter((e) => chunkKind(e) === 'content')
      .map((e) => (e as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content)
      .join('');
    expect(content).toBe('Hello from alpha: you said "héllo 世界 🚀"');
    expect(events.map(chunkKind).slice(-2)).toEqual(['usage', 'done']);
  });

  it('slowStream delays every chunk', async () => {
    fake.setMode('slowStream', { chunkDelayMs: 40 });
    const t0 = Date.now();
    const res = await post('/v1/chat/completions', { ...chatBody, stream: true });
    const events = parseSse(await res.text());
    const elapsed = Date.now() - t0;
    expect(events.at(-1)).toBe('[DONE]');
    // role + 10 words + finish + [DONE] = 13 delays of 40ms
    expect(elapsed).toBeGreaterThanOrEqual(12 * 40);
  });

  it('kill refuses connections; restart listens on the same port again', async () => {
    const other = await startFakeOpenAI({ name: 'beta' });
    try {
      fake.setMode('ok');
      other.setMode('hang');
      const hanging = fetch(`${other.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody) });
      await other.waitForRequest();
      await other.kill();
      await expect(hanging).rejects.toThrow();
      expect((await other.waitForDone()).outcome).toBe('killed');
      const err = await fetch(`${other.url}/models`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error & { cause?: unknown }).cause)).toMatch(/ECONNREFUSED/);
      await other.restart();
      other.setMode('ok');
      const res = await fetch(`${other.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody) });
      expect((await json(res)).choices[0].message.content).toContain('Hello from beta');
    } finally {
      await other.close();
    }
  });

  it('rejects a chat request without messages like OpenAI does', async () => {
    const res = await post('/v1/chat/completions', { model: 'm' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ param: 'messages', type: 'invalid_request_error' });
  });

  it('reranks as vLLM does (POST /v1/rerank), read by the cohere-ai SDK\'s rerank: results by relevance, top_n, usage', async () => {
    // vLLM takes the Cohere/Jina request shape; the SDK's v1 client posts it to {environment}/v1/rerank.
    const co = new CohereClient({ token: 'sk-provider-test', environment: fake.url.replace(/\/v1$/, ''), maxRetries: 0 });
    const r = await co.rerank({
      model: 'bge-reranker',
      query: 'capital of France',
      documents: [{ text: 'Berlin is in Germany' }, { text: 'Paris is the capital of France' }, { text: 'the capital is busy' }],
      topN: 2,
    });
    expect(r.results.map((x) => x.index)).toEqual([1, 2]);
    expect(r.results[0]!.relevanceScore).toBe(1);
    expect(r.results[0]!.document?.text).toBe('Paris is the capital of France');
    const res = await post('/v1/rerank', { model: 'bge-reranker', query: 'a b', documents: ['a', 'b c'] });
    const body = await json(res);
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(body.id).toMatch(/^rerank-alpha-/);
    const bad = await post('/v1/rerank', { model: 'bge-reranker', query: 'q', documents: [] });
    expect(bad.status).toBe(400);
  });

  it('moderates as OpenAI does, read by the openai SDK: one result per input, text parts included', async () => {
    const r = await client.moderations.create({ model: 'omni-moderation-latest', input: ['a calm day', 'something VIOLENT'] });
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(r.results[1]!.categories.violence).toBe(true);
    expect(r.results[1]!.category_scores.violence).toBeGreaterThan(0.9);
    const parts = await client.moderations.create({ model: 'omni-moderation-latest', input: [{ type: 'text', text: 'VIOLENT text' }] });
    expect(parts.results[0]!.flagged).toBe(true);
  });

  it('generates images as OpenAI does, read by the openai SDK: base64 with usage, or dall-e-3 URLs with the revised prompt', async () => {
    const r = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox', n: 2 });
    expect(r.data).toHaveLength(2);
    expect(Buffer.from(r.data![0]!.b64_json!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(r.usage).toMatchObject({ input_tokens: countTokens('a red fox'), output_tokens: 544 });
    const d3 = await client.images.generate({ model: 'dall-e-3', prompt: 'a red fox' });
    expect(d3.data![0]).toMatchObject({ revised_prompt: 'A picture of a red fox' });
    expect(d3.data![0]!.url).toMatch(/^https:/);
  });

  it('speaks as OpenAI does, read by the openai SDK: audio bytes of the asked format, streamed', async () => {
    const r = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'hello there' });
    expect(r.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe('ID3hello there');
    const wav = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi', response_format: 'wav' });
    expect(Buffer.from(await wav.arrayBuffer()).subarray(0, 4).toString()).toBe('RIFF');
    const bad = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: '' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
