import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { openAICompatible } from './openai-compatible.ts';
import type { ClientRequest, UpstreamRequest } from './types.ts';

const vllm = openAICompatible('vllm');
/** The OpenAI-compatible adapter builds its request synchronously. */
const adapter = { toUpstream: (req: ClientRequest, b: BackendIR, basePath: string) => vllm.toUpstream(req, b, basePath, 'http://x:8000') as UpstreamRequest };

function backend(extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'b', adapter: 'vllm', endpoints: [{ url: 'http://x:8000/v1' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, ...extra,
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  const raw = Buffer.from(JSON.stringify(body));
  const so = body.stream_options as { include_usage?: boolean } | undefined;
  return {
    operation, raw, body, model: body.model as string, stream: body.stream === true,
    clientWantsUsage: so?.include_usage === true, requestId: 'rid',
  };
}

describe('openai-compatible adapter', () => {
  it('passes the client bytes through untouched when nothing needs translating', () => {
    const req = request({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2 });
    const up = adapter.toUpstream(req, backend(), '/v1');
    expect(up.body).toBe(req.raw);
    expect(up.path).toBe('/v1/chat/completions');
    expect(up.headers['content-length']).toBe(String(req.raw.length));
    expect(up.headers.authorization).toBeUndefined();
  });

  it('rewrites only the model field for a backend model', () => {
    const body = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], n: 1 };
    const up = adapter.toUpstream(request(body), backend({ model: 'meta-llama/Llama-3.1-8B-Instruct' }), '/v1');
    expect(JSON.parse(String(up.body))).toEqual({ ...body, model: 'meta-llama/Llama-3.1-8B-Instruct' });
  });

  it('asks for usage on streams when the client did not, keeping its other stream options', () => {
    const body = { model: 'm', stream: true, stream_options: { continuous_usage_stats: false }, messages: [] };
    const req = request(body);
    const up = JSON.parse(String(adapter.toUpstream(req, backend(), '/v1').body));
    expect(up.stream_options).toEqual({ continuous_usage_stats: false, include_usage: true });
    expect(req.body).toEqual(body);
  });

  it('leaves a stream alone when the client asked for usage itself', () => {
    const req = request({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [] });
    expect(adapter.toUpstream(req, backend(), '/v1').body).toBe(req.raw);
  });

  it('sends the credential as a bearer token, or in the header the options name', () => {
    const req = request({ model: 'm', messages: [] });
    expect(adapter.toUpstream(req, backend({ credential: 'sk-up' }), '/v1').headers.authorization).toBe('Bearer sk-up');
    const custom = adapter.toUpstream(req, backend({ credential: 'k1', options: { authHeader: 'api-key', 'header.X-Team': 'ml' } }), '/v1');
    expect(custom.headers['api-key']).toBe('k1');
    expect(custom.headers['x-team']).toBe('ml');
    expect(custom.headers.authorization).toBeUndefined();
  });

  it('maps operations to the OpenAI paths under the endpoint base path', () => {
    expect(adapter.toUpstream(request({ model: 'm', input: 'x' }, 'embeddings'), backend(), '/v1').path).toBe('/v1/embeddings');
    expect(adapter.toUpstream(request({ model: 'm', prompt: 'x' }, 'completions'), backend(), '').path).toBe('/completions');
  });
});
