import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type ClientRequest } from '../types.ts';
import { gemini } from './adapter.ts';

const adapter = gemini(() => 1700000000_000);

function backend(over: Partial<BackendIR> = {}): BackendIR {
  return { name: 'g', adapter: 'gemini', endpoints: [{ url: 'https://generativelanguage.googleapis.com' }], credential: 'AIza-secret', weight: 1, priority: 0, capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, ...over };
}

function request(body: Record<string, unknown>, over: Partial<ClientRequest> = {}): ClientRequest {
  const raw = Buffer.from(JSON.stringify(body));
  return { operation: 'chat', raw, body, model: String(body.model), stream: body.stream === true, clientWantsUsage: false, requestId: 'req-1', ...over };
}

const chat = { model: 'gemini-pro-alias', messages: [{ role: 'user', content: 'hi' }] };

describe('gemini adapter requests', () => {
  it('calls {url}/v1beta/models/{backend model}:generateContent with the credential in x-goog-api-key, or options.apiVersion', async () => {
    const up = await adapter.toUpstream(request(chat), backend({ model: 'models/gemini-2.5-flash' }), '', 'https://generativelanguage.googleapis.com');
    expect(up.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(up.headers['x-goog-api-key']).toBe('AIza-secret');
    expect(up.headers.authorization).toBeUndefined();
    expect(JSON.parse(String(up.body))).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    const v1 = await adapter.toUpstream(request({ ...chat, stream: true }), backend({ options: { apiVersion: 'v1' } }), '/base', '');
    expect(v1.path).toBe('/base/v1/models/gemini-pro-alias:streamGenerateContent?alt=sse');
    expect(adapter.authHeaders(backend())).toEqual({ 'x-goog-api-key': 'AIza-secret' });
  });

  it('embeds through :batchEmbedContents, and refuses legacy completions and an apiVersion that is no version', async () => {
    const up = await adapter.toUpstream(request({ model: 'text-embedding-004', input: 'x' }, { operation: 'embeddings' }), backend(), '', '');
    expect(up.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(adapter.supports('embeddings') && adapter.supports('chat') && !adapter.supports('completions')).toBe(true);
    expect(() => adapter.toUpstream(request({ model: 'm', prompt: 'x' }, { operation: 'completions' }), backend(), '', '')).toThrow(UnsupportedRequest);
    expect(() => adapter.toUpstream(request(chat), backend({ options: { apiVersion: '../v1' } }), '', '')).toThrow(/apiVersion/);
  });
});

describe('gemini adapter answers', () => {
  it('translates a JSON answer to chat.completion with the content-type set and usage captured', () => {
    const t = adapter.translator(request(chat), backend({ model: 'gemini-2.5-flash' }));
    expect(t.classify(200, { 'content-type': 'application/json; charset=UTF-8' })).toBe('body');
    const h = t.headers({ 'content-type': 'application/json; charset=UTF-8', 'content-length': '120', 'x-request-id': 'up' }, 'body');
    expect(h).toMatchObject({ 'content-type': 'application/json' });
    expect(h['content-length']).toBeUndefined();
    expect(h['x-request-id']).toBeUndefined();
    expect(t.body(Buffer.from('{"candidates":[{"content":{"parts":[{"text":"hel'))).toBeNull();
    t.body(Buffer.from('lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}'));
    const out = JSON.parse(t.bodyEnd()!.toString()) as { created: number; model: string; choices: Array<{ message: { content: string } }> };
    expect(out.choices[0]!.message.content).toBe('hello');
    expect(out.created).toBe(1700000000);
    expect(out.model).toBe('gemini-2.5-flash');
    expect(t.usage).toEqual({ promptTokens: 3, completionTokens: 1 });
  });

  it('holds back 429, 5xx, 401 and 403, reading the message and RetryInfo delay; relays other 4xx as OpenAI errors', () => {
    const t = adapter.translator(request(chat), backend());
    for (const s of [429, 500, 503, 401, 403]) expect(t.classify(s, {})).toBe('error');
    const body = Buffer.from(JSON.stringify({ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] } }));
    expect(t.errorMessage(body)).toBe('quota');
    expect(t.retryAfterMs?.(body)).toBe(7000);
    const bad = adapter.translator(request(chat), backend());
    expect(bad.classify(404, {})).toBe('body');
    bad.body(Buffer.from(JSON.stringify({ error: { code: 404, message: 'models/x is not found', status: 'NOT_FOUND' } })));
    expect(JSON.parse(bad.bodyEnd()!.toString())).toEqual({ error: { message: 'models/x is not found', type: 'invalid_request_error', param: null, code: 'model_not_found' } });
    expect(bad.usage).toBeNull();
  });

  it('streams: complete only once the connection ended after a finish reason', () => {
    const t = adapter.translator(request({ ...chat, stream: true }, { clientWantsUsage: false }), backend());
    expect(t.classify(200, { 'content-type': 'text/event-stream' })).toBe('stream');
    expect(t.headers({}, 'stream')['content-type']).toBe('text/event-stream');
    const out = t.stream(Buffer.from('data: {"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}\r\n\r\n'))!.toString();
    expect(out).toContain('"finish_reason":"stop"');
    expect(t.complete).toBe(false);
    const rest = t.streamRest()!.toString();
    expect(rest).toBe('data: [DONE]\n\n');
    expect(t.complete).toBe(true);
    expect(t.usage).toEqual({ promptTokens: 1, completionTokens: 1 });
  });
});
