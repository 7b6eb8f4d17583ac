// The Cohere fake, checked with the official `cohere-ai` SDK (CohereClientV2) talking to it
// directly: a fake the real SDK rejects would prove nothing about the proxy.
import { CohereClientV2, CohereError, Cohere } from 'cohere-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCohereProvider } from './cohere.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
let client: CohereClientV2;
const TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

beforeAll(async () => {
  fake = await startCohereProvider({ name: 'co' });
  client = new CohereClientV2({ token: fake.credential, environment: fake.url, maxRetries: 0 });
});
afterAll(() => fake.close());

describe('Cohere fake, driven by the cohere-ai SDK', () => {
  it('chats with a system message, usage and finish reason', async () => {
    const r = await client.chat({ model: 'command-a-03-2025', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }] });
    const text = r.message.content?.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toBe('Hello from co: hi there [system: be brief]');
    expect(r.finishReason).toBe('COMPLETE');
    expect(r.usage?.billedUnits).toMatchObject({ inputTokens: 4, outputTokens: 8 });
  });

  it('streams the v2 events, text then message-end with usage', async () => {
    const stream = await client.chatStream({ model: 'm', messages: [{ role: 'user', content: 'stream me' }] });
    let text = '';
    let end: Cohere.ChatMessageEndEvent | undefined;
    for await (const e of stream) {
      if (e.type === 'content-delta') text += e.delta?.message?.content?.text ?? '';
      if (e.type === 'message-end') end = e;
    }
    expect(text).toBe('Hello from co: stream me');
    expect(end?.delta?.finishReason).toBe('COMPLETE');
    expect(end?.delta?.usage?.billedUnits?.outputTokens).toBe(5);
  });

  it('calls tools, streaming included, and reads tool results', async () => {
    const r = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    expect(r.finishReason).toBe('TOOL_CALL');
    const call = r.message.toolCalls![0]!;
    expect(JSON.parse(call.function!.arguments!)).toEqual({ city: 'Paris' });
    const stream = await client.chatStream({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    let args = '';
    let name = '';
    for await (const e of stream) {
      if (e.type === 'tool-call-start') name = e.delta?.message?.toolCalls?.function?.name ?? '';
      if (e.type === 'tool-call-delta') args += e.delta?.message?.toolCalls?.function?.arguments ?? '';
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    const after = await client.chat({
      model: 'm',
      messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', toolCalls: [call], toolPlan: 'calling' }, { role: 'tool', toolCallId: call.id, content: 'sunny' }],
      tools: [TOOL],
    });
    expect(after.message.content?.map((c) => (c.type === 'text' ? c.text : '')).join('')).toBe('The tool said: sunny');
  });

  it('embeds texts as floats', async () => {
    const e = await client.embed({ model: 'embed-v4.0', texts: ['a b', 'c'], inputType: 'search_document', embeddingTypes: ['float'] });
    expect(e.embeddings.float).toHaveLength(2);
    expect(e.meta?.billedUnits?.inputTokens).toBe(3);
  });

  it('answers errors as the SDK types them', async () => {
    const limited = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect(limited).toBeInstanceOf(Cohere.TooManyRequestsError);
    expect((limited as CohereError).statusCode).toBe(429);
    const denied = await new CohereClientV2({ token: 'wrong', environment: fake.url, maxRetries: 0 }).chat({ model: 'm', messages: [] }).catch((x: unknown) => x);
    expect(denied).toBeInstanceOf(Cohere.UnauthorizedError);
  });

  it('reranks text documents (v2), with top_n and the billed search units; refuses object documents', async () => {
    const r = await client.rerank({ model: 'rerank-v3.5', query: 'capital of France', documents: ['Berlin is in Germany', 'Paris is the capital of France', 'the capital is busy'], topN: 2 });
    expect(r.results).toEqual([{ index: 1, relevanceScore: 1 }, { index: 2, relevanceScore: 0.333333 }]);
    expect(r.meta?.billedUnits?.searchUnits).toBe(1);
    const bad = await fetch(`${fake.url}/v2/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', query: 'q', documents: [{ text: 'x' }] }),
    });
    expect(bad.status).toBe(400);
  });
});
