import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { dashScope, huggingFace, hunyuan } from './openai-like.ts';
import { UnsupportedRequest, type Adapter, type ClientRequest, type UpstreamRequest } from './types.ts';

const up = (a: Adapter, req: ClientRequest, b: BackendIR) => a.toUpstream(req, b, '/v1', 'https://x') as UpstreamRequest;

function backend(adapter: string, extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'b', adapter: adapter as BackendIR['adapter'], endpoints: [{ url: 'https://x/v1' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, credential: 'sk-up', ...extra,
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: body.model as string, stream: body.stream === true, clientWantsUsage: false, requestId: 'rid' };
}

describe('OpenAI-compatible hosted providers', () => {
  it('huggingface, dashscope and hunyuan pass a plain request through with a Bearer credential', () => {
    for (const a of [huggingFace(), dashScope(), hunyuan()]) {
      const req = request({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      const u = up(a, req, backend(a.name));
      expect(u.body).toBe(req.raw);
      expect(u.path).toBe('/v1/chat/completions');
      expect(u.headers.authorization).toBe('Bearer sk-up');
    }
    expect(up(huggingFace(), request({ model: 'e', input: 'x' }, 'embeddings'), backend('huggingface')).path).toBe('/v1/embeddings');
  });

  it('dashscope and hunyuan switch thinking with enable_thinking instead of reasoning_effort', () => {
    for (const a of [dashScope(), hunyuan()]) {
      const on = JSON.parse(String(up(a, request({ model: 'm', messages: [], reasoning_effort: 'low' }), backend(a.name, { model: 'qwen-plus' })).body));
      expect(on).toEqual({ model: 'qwen-plus', messages: [], enable_thinking: true });
      const off = JSON.parse(String(up(a, request({ model: 'm', messages: [], reasoning_effort: 'none' }), backend(a.name)).body));
      expect(off).toEqual({ model: 'm', messages: [], enable_thinking: false });
      const own = JSON.parse(String(up(a, request({ model: 'm', messages: [], reasoning_effort: 'high', enable_thinking: false }), backend(a.name)).body));
      expect(own).toEqual({ model: 'm', messages: [], enable_thinking: false });
    }
  });

  it('hunyuan refuses n > 1 and logprobs, naming the field', () => {
    const refuse = (body: Record<string, unknown>) => {
      try {
        up(hunyuan(), request({ model: 'm', messages: [], ...body }), backend('hunyuan'));
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(refuse({ n: 2 })).toMatchObject({ field: 'n' });
    expect(refuse({ n: 2 })).toBeInstanceOf(UnsupportedRequest);
    expect(refuse({ logprobs: true })).toMatchObject({ field: 'logprobs' });
    expect(refuse({ n: 1, logprobs: false })).toBeUndefined();
  });
});
