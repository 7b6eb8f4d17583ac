import { CohereClient } from 'cohere-ai';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chatPromptTokens,
  chatReply,
  countTokens,
  embeddingVector,
  startFakeOpenAI,
  streamPieces,
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

describe('fake OpenAI backend: the Responses API, read by the openai SDK', () => {
  const weatherTool = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

  it('creates a response: a message naming the backend, usage, and the request recorded', async () => {
    const r = await client.responses.create({ model: 'm-1', input: 'hi there', instructions: 'Be brief.' });
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(r.object).toBe('response');
    expect(r.status).toBe('completed');
    expect(r.model).toBe('m-1');
    expect(r.instructions).toBe('Be brief.');
    expect(r.output_text).toBe('Hello from alpha: hi there');
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(r.output[0]?.id).toMatch(/^msg_/);
    // input: "Be brief." + "hi there"; output: "Hello from alpha: hi there"
    expect(r.usage).toEqual({
      input_tokens: 4,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: countTokens('Hello from alpha: hi there'),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 4 + countTokens('Hello from alpha: hi there'),
    });
    const rec = fake.requests.at(-1);
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/responses', stream: false, outcome: 'completed' });
    expect(rec?.body).toMatchObject({ model: 'm-1', input: 'hi there' });
    expect(fake.inferenceRequests()).toHaveLength(1);
    expect(fake.storedResponses()).toContain(r.id);
    // output_text is computed by the SDK, never sent.
    const raw = await json(await post('/v1/responses', { model: 'm-1', input: 'raw' }));
    expect(raw).not.toHaveProperty('output_text');
    expect(raw).toMatchObject({ status: 'completed', error: null, incomplete_details: null, truncation: 'disabled', text: { format: { type: 'text' } } });
  });

  it('store: false keeps nothing', async () => {
    const r = await client.responses.create({ model: 'm-1', input: 'forget me', store: false });
    expect(fake.storedResponses()).not.toContain(r.id);
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // The SDK's Response type has no `store`; the wire carries it.
    const raw = await json(await post('/v1/responses', { model: 'm-1', input: 'forget me', store: false }));
    expect(raw.store).toBe(false);
    expect(fake.storedResponses()).not.toContain(raw.id);
  });

  it('streams named events numbered from 0, without [DONE]; the SDK accumulates the final response', async () => {
    const stream = client.responses.stream({ model: 'm-1', input: 'stream this please' });
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = '';
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    const text = 'Hello from alpha: stream this please';
    expect(deltas).toBe(text);
    const pieces = streamPieces(text).length;
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(pieces).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(seqs).toEqual(types.map((_, i) => i));
    const final = await stream.finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(text);
    expect(final.usage?.output_tokens).toBe(countTokens(text));
    expect(final.usage?.input_tokens).toBe(3);

    // On the wire: every event named by an event: line matching its data, and no [DONE].
    const res = await post('/v1/responses', { model: 'm-1', input: 'raw', stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const raw = await res.text();
    expect(raw).not.toContain('[DONE]');
    const blocks = raw.split('\n\n').filter((b) => b !== '');
    for (const b of blocks) {
      const [eventLine, dataLine] = b.split('\n');
      expect(eventLine).toBe(`event: ${(JSON.parse(dataLine!.slice('data: '.length)) as { type: string }).type}`);
    }
    expect(blocks.at(-1)).toMatch(/^event: response\.completed\n/);
  });

  it('streams a function call as argument deltas', async () => {
    const stream = await client.responses.create({ model: 'm-1', input: 'weather?', tools: [weatherTool], stream: true });
    const types: string[] = [];
    let args = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
      if (ev.type === 'response.completed') expect(ev.response.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' });
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('runs a tool loop over previous_response_id', async () => {
    const r1 = await client.responses.create({ model: 'm-1', input: 'What is the weather?', tools: [weatherTool] });
    expect(r1.output).toHaveLength(1);
    const call = r1.output[0];
    if (call?.type !== 'function_call') throw new Error(`expected a function call, got ${call?.type}`);
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    expect(call.id).toMatch(/^fc_/);
    expect(call.call_id).toMatch(/^call_/);
    expect(r1.output_text).toBe('');

    const r2 = await client.responses.create({
      model: 'm-1',
      previous_response_id: r1.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      tools: [weatherTool],
    });
    expect(r2.output_text).toBe('The tool said: sunny');
    expect(r2.previous_response_id).toBe(r1.id);
    expect(fake.requests.at(-1)?.body).toMatchObject({ previous_response_id: r1.id });

    // A plain follow-up shows the chain was honoured.
    const r3 = await client.responses.create({ model: 'm-1', previous_response_id: r2.id, input: 'thanks' });
    expect(r3.output_text).toBe(`Hello from alpha: thanks [after ${r2.id}]`);

    // A tool output for a call nobody made is refused, as OpenAI does.
    await expect(
      client.responses.create({ model: 'm-1', previous_response_id: r1.id, input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('retrieves, lists input items newest first, refuses to cancel, deletes', async () => {
    const r = await client.responses.create({
      model: 'm-1',
      input: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'reply' },
        { role: 'user', content: [{ type: 'input_text', text: 'second' }] },
      ],
    });
    expect(r.output_text).toBe('Hello from alpha: second');

    const got = await client.responses.retrieve(r.id);
    expect(got.id).toBe(r.id);
    expect(got.output_text).toBe('Hello from alpha: second');
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: `/v1/responses/${r.id}` });

    const page = await client.responses.inputItems.list(r.id);
    expect(page.data.length).toBe(3);
    expect(page.data.map((it) => (it.type === 'message' ? it.content.map((c) => ('text' in c ? c.text : '')).join('') : it.type))).toEqual(['second', 'reply', 'first']);
    for (const it of page.data) expect(it.id).toMatch(/^msg_/);
    expect(page.data[1]).toMatchObject({ role: 'assistant', content: [{ type: 'output_text', text: 'reply' }] });
    expect(page.has_more).toBe(false);
    const asc = await client.responses.inputItems.list(r.id, { order: 'asc' });
    expect(asc.data.map((it) => it.id)).toEqual(page.data.map((it) => it.id).reverse());

    await expect(client.responses.cancel(r.id)).rejects.toBeInstanceOf(OpenAI.BadRequestError);

    await client.responses.delete(r.id);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/responses/${r.id}`, outcome: 'completed' });
    expect(fake.storedResponses()).not.toContain(r.id);
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.delete(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.inputItems.list(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers an unknown previous_response_id with OpenAI\'s 404', async () => {
    const err = await client.responses.create({ model: 'm-1', input: 'hi', previous_response_id: 'resp_missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
      message: "Previous response with id 'resp_missing' not found.",
      type: 'invalid_request_error',
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  });

  it('applies failure modes to POST /v1/responses only; slowStream delays every event', async () => {
    const r = await client.responses.create({ model: 'm-1', input: 'before' });
    fake.setMode('error500');
    await expect(client.responses.create({ model: 'm-1', input: 'during' })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect((await client.responses.retrieve(r.id)).id).toBe(r.id);

    fake.setMode('slowStream', { chunkDelayMs: 30 });
    const t0 = Date.now();
    const events = parseSse(await (await post('/v1/responses', { model: 'm-1', input: 'slow', stream: true })).text());
    expect(events.length).toBeGreaterThan(5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual((events.length - 1) * 30);
  });

  it('transcribes and translates uploads as OpenAI does, read by the openai SDK: json, text and verbose_json', async () => {
    const file = await toFile(Buffer.from('hello world'), 'clip.mp3', { type: 'audio/mpeg' });
    const t = await client.audio.transcriptions.create({ file, model: 'gpt-4o-transcribe', prompt: 'names' });
    expect(t.text).toBe('Transcript of clip.mp3: hello world [prompt: names]');
    expect((t as { usage?: { type: string; output_tokens: number } }).usage).toMatchObject({ type: 'tokens' });
    const plain = await client.audio.transcriptions.create({ file: await toFile(Buffer.from('hi'), 'a.wav'), model: 'whisper-1', response_format: 'text' });
    expect(plain).toBe('Transcript of a.wav: hi');
    const verbose = await client.audio.transcriptions.create({ file: await toFile(Buffer.from('hi'), 'a.wav'), model: 'whisper-1', response_format: 'verbose_json' });
    expect(verbose.segments?.[0]?.text).toBe('Transcript of a.wav: hi');
    const tr = await client.audio.translations.create({ file: await toFile(Buffer.from('bonjour'), 'fr.mp3'), model: 'whisper-1' });
    expect(tr.text).toBe('Translation of fr.mp3: bonjour');
    const recorded = fake.requests.at(-1)!.body as { model: string; files: { field: string; filename: string; data: Buffer }[] };
    expect(recorded.model).toBe('whisper-1');
    expect(recorded.files[0]).toMatchObject({ field: 'file', filename: 'fr.mp3' });
  });

  it('edits images as OpenAI does, read by the openai SDK', async () => {
    const r = await client.images.edit({ model: 'gpt-image-1', image: await toFile(Buffer.from('png'), 'in.png', { type: 'image/png' }), prompt: 'add a hat' });
    expect(r.data).toHaveLength(1);
    expect(r.usage?.input_tokens).toBe(countTokens('add a hat'));
  });

  it('streams partial images, transcript deltas and speech audio deltas as OpenAI does, read by the openai SDK', async () => {
    const images = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 2 });
    const imageTypes: string[] = [];
    for await (const e of images) imageTypes.push(e.type);
    expect(imageTypes).toEqual(['image_generation.partial_image', 'image_generation.partial_image', 'image_generation.completed']);
    const transcript = await client.audio.transcriptions.create({ file: await toFile(Buffer.from('hello there world'), 'a.mp3'), model: 'gpt-4o-transcribe', stream: true });
    let text = '';
    let done = '';
    for await (const e of transcript) {
      if (e.type === 'transcript.text.delta') text += e.delta;
      if (e.type === 'transcript.text.done') done = e.text;
    }
    expect(text).toBe('Transcript of a.mp3: hello there world');
    expect(done).toBe(text);
    const speech = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'hi', stream_format: 'sse' });
    const events = (await speech.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data:'))!.slice(5)) as { type: string; audio?: string });
    expect(Buffer.concat(events.filter((e) => e.type === 'speech.audio.delta').map((e) => Buffer.from(e.audio!, 'base64'))).toString()).toBe('ID3hi');
    expect(events.at(-1)!.type).toBe('speech.audio.done');
  });
});

