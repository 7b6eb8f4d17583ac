import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest } from '../types.ts';
import { anthropic } from './adapter.ts';

const adapter = anthropic(() => 1_700_000_000_000);

function backend(extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'b', adapter: 'anthropic', endpoints: [{ url: 'https://api.anthropic.com' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, credential: 'sk-ant-up', ...extra,
  };
}

function request(body: Record<string, unknown>): ClientRequest {
  const so = body.stream_options as { include_usage?: boolean } | undefined;
  return { operation: 'chat', raw: Buffer.from(JSON.stringify(body)), body, model: String(body.model), stream: body.stream === true, clientWantsUsage: so?.include_usage === true, requestId: 'rid' };
}

const up = (req: ClientRequest, b = backend()) => adapter.toUpstream(req, b, '', 'https://api.anthropic.com') as UpstreamRequest;

describe('anthropic adapter', () => {
  it('sends anthropic-version (options.anthropicVersion) and anthropic-beta (options.beta) with the credential as x-api-key', () => {
    const plain = up(request({ model: 'm', messages: [] }));
    expect(plain.path).toBe('/v1/messages');
    expect(plain.headers).toMatchObject({ 'x-api-key': 'sk-ant-up', 'anthropic-version': '2023-06-01' });
    expect(plain.headers.authorization).toBeUndefined();
    expect(plain.headers['anthropic-beta']).toBeUndefined();
    const opts = up(request({ model: 'm', messages: [] }), backend({ options: { anthropicVersion: '2024-01-01', beta: 'prompt-caching-2024-07-31' } }));
    expect(opts.headers).toMatchObject({ 'anthropic-version': '2024-01-01', 'anthropic-beta': 'prompt-caching-2024-07-31' });
    expect(adapter.authHeaders(backend())).toEqual({ 'x-api-key': 'sk-ant-up', 'anthropic-version': '2023-06-01' });
  });

  it('serves chat only: no embeddings or legacy completions', () => {
    expect(adapter.supports('chat')).toBe(true);
    expect(adapter.supports('embeddings')).toBe(false);
    expect(adapter.supports('completions')).toBe(false);
  });

  it('sends the backend model, and max_tokens 4096 when the client set none', () => {
    const body = JSON.parse(String(up(request({ model: 'alias', messages: [{ role: 'user', content: 'hi' }] }), backend({ model: 'claude-sonnet-4-5' })).body));
    expect(body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  });

  it.each([
    ['response_format', { response_format: { type: 'json_object' } }],
    ['n', { n: 2 }],
    ['logprobs', { logprobs: true }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['reasoning_effort', { reasoning_effort: 'high', max_tokens: 500 }],
  ])('refuses %s, naming the field and the adapter', (field, extra) => {
    const e = (() => {
      try {
        up(request({ model: 'm', messages: [{ role: 'user', content: 'x' }], ...extra }));
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(UnsupportedRequest);
    expect((e as UnsupportedRequest).field).toBe(field);
    expect((e as Error).message).toContain('anthropic adapter');
  });

  it('holds back 529 overloaded, 5xx, 429, 401 and 403 for a retry and reads their message', () => {
    const t = adapter.translator(request({ model: 'm', messages: [] }), backend());
    for (const s of [529, 500, 429, 401, 403]) expect(t.classify(s, {})).toBe('error');
    expect(t.errorMessage(Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'))).toBe('Overloaded');
  });

  it('turns a relayed 413 into a context-length 400', () => {
    const t = adapter.translator(request({ model: 'm', messages: [] }), backend());
    expect(t.classify(413, { 'content-type': 'application/json' })).toBe('body');
    expect(t.status!(413)).toBe(400);
    t.body(Buffer.from('{"type":"error","error":{"type":"request_too_large","message":"too big"}}'));
    expect(JSON.parse(String(t.bodyEnd()))).toMatchObject({ error: { code: 'context_length_exceeded' } });
  });
});
