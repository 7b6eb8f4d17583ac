import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest } from '../types.ts';
import { dashScope } from '../openai-like.ts';
import { DashScopeStream, errorToOpenAI, generationToOpenAI } from './native.ts';

const adapter = dashScope(() => 1700000000000);
const up = (req: ClientRequest, b: BackendIR = backend()) => adapter.toUpstream(req, b, '/compatible-mode/v1', 'https://dashscope.aliyuncs.com') as UpstreamRequest;

function backend(options: BackendIR['options'] = { api: 'native' }): BackendIR {
  return {
    name: 'ds', adapter: 'dashscope', endpoints: [{ url: 'https://dashscope.aliyuncs.com' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options, credential: 'sk-ds', model: 'qwen-plus',
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: String(body.model), stream: body.stream === true, clientWantsUsage: false, requestId: 'rid' };
}

function refused(body: Record<string, unknown>, op: ClientRequest['operation'] = 'chat'): string {
  try {
    up(request({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body }, op));
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedRequest);
    return (e as UnsupportedRequest).field;
  }
  throw new Error('not refused');
}

describe('dashscope adapter, native API', () => {
  it('calls text-generation (options.api: native) with input.messages and parameters, X-DashScope-SSE for streams', () => {
    const tools = [{ type: 'function', function: { name: 'w', parameters: {} } }];
    const r = up(request({ model: 'm', stream: true, messages: [{ role: 'developer', content: 'brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], temperature: 0.2, max_completion_tokens: 9, stop: ['x'], tools, reasoning_effort: 'low' }));
    expect(r.path).toBe('/api/v1/services/aigc/text-generation/generation');
    expect(r.headers.authorization).toBe('Bearer sk-ds');
    expect(r.headers['x-dashscope-sse']).toBe('enable');
    expect(JSON.parse(String(r.body))).toEqual({
      model: 'qwen-plus',
      input: { messages: [{ role: 'system', content: 'brief' }, { role: 'user', content: 'hi' }] },
      parameters: { result_format: 'message', incremental_output: true, temperature: 0.2, stop: ['x'], tools, max_tokens: 9, enable_thinking: true },
    });
    const plain = up(request({ model: 'm', messages: [] }));
    expect(plain.headers['x-dashscope-sse']).toBeUndefined();
    expect(JSON.parse(String(plain.body)).parameters).toEqual({ result_format: 'message' });
    expect(up(request({ model: 'm', messages: [] }), backend({ api: 'compatible' })).path).toBe('/compatible-mode/v1/chat/completions');
  });

  it('refuses what text-generation cannot honour, naming the field', () => {
    expect(refused({ logprobs: true })).toBe('logprobs');
    expect(refused({ n: 2 })).toBe('n');
    expect(refused({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).toBe('messages[0].content');
    expect(refused({ input: 'x' }, 'embeddings')).toBe('model');
  });

  it('translates an answer, a tool call, errors and a stream', () => {
    expect(generationToOpenAI({ request_id: 'r', output: { choices: [{ finish_reason: 'stop', message: { role: 'assistant', content: 'hello' } }] }, usage: { input_tokens: 3, output_tokens: 1 } }, 'qwen', 5)).toEqual({
      id: 'r', object: 'chat.completion', created: 5, model: 'qwen',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
    const tool = generationToOpenAI({ output: { choices: [{ finish_reason: 'tool_calls', message: { role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{}' } }] } }] } }, 'qwen', 5);
    expect((tool.choices as Array<Record<string, unknown>>)[0]!.message).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{}' } }] });
    expect(errorToOpenAI(400, Buffer.from('{"code":"InvalidParameter","message":"Range of input length should be [1, 30720]"}'))).toMatchObject({ error: { code: 'context_length_exceeded', type: 'invalid_request_error' } });

    const s = new DashScopeStream(true, 5, 'qwen');
    const ev = (o: unknown) => `id:1\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(o)}\n\n`;
    const out = String(s.push(Buffer.from(
      ev({ request_id: 'r', output: { choices: [{ message: { role: 'assistant', content: 'Hel' }, finish_reason: 'null' }] }, usage: { input_tokens: 2, output_tokens: 1 } }) +
      ev({ request_id: 'r', output: { choices: [{ message: { role: 'assistant', content: 'lo' }, finish_reason: 'stop' }] }, usage: { input_tokens: 2, output_tokens: 2 } }),
    )));
    const chunks = out.split('\n\n').filter(Boolean).map((l) => JSON.parse(l.slice(6)));
    expect(chunks.map((c) => c.choices[0]?.delta ?? c.usage)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hel' }, { content: 'lo' }, {}, { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 }]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(s.complete).toBe(true);
  });
});
