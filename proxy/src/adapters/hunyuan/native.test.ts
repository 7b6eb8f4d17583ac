import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest } from '../types.ts';
import { hunyuan } from '../openai-like.ts';
import { tc3Authorization } from './tc3.ts';
import { HunyuanStream, errorToOpenAI, responseToOpenAI, toHunyuan } from './native.ts';

const NOW = 1551113065000;
const adapter = hunyuan(() => NOW);
const ORIGIN = 'https://hunyuan.tencentcloudapi.com';
const CRED = { secretId: 'AKIDtest', secretKey: 'test-secret-key' };
const up = (req: ClientRequest, b: BackendIR = backend()) => adapter.toUpstream(req, b, '', ORIGIN) as UpstreamRequest;

function backend(options: BackendIR['options'] = { api: 'native', region: 'ap-guangzhou' }): BackendIR {
  return {
    name: 'hy', adapter: 'hunyuan', endpoints: [{ url: ORIGIN }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options, credential: JSON.stringify(CRED), model: 'hunyuan-turbos-latest',
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat', clientWantsUsage = false): ClientRequest {
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: String(body.model), stream: body.stream === true, clientWantsUsage, requestId: 'rid' };
}

function refused(body: Record<string, unknown>, op: ClientRequest['operation'] = 'chat'): string {
  try {
    up(request({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body }, op));
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedRequest);
    expect((e as Error).message).toContain('hunyuan');
    return (e as UnsupportedRequest).field;
  }
  throw new Error('not refused');
}

describe('hunyuan adapter, native API', () => {
  it('calls ChatCompletions 2023-09-01 signed with TC3-HMAC-SHA256 (options.api: native), options.region as X-TC-Region', () => {
    const r = up(request({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
    expect(r.path).toBe('/');
    expect(r.headers['x-tc-action']).toBe('ChatCompletions');
    expect(r.headers['x-tc-version']).toBe('2023-09-01');
    expect(r.headers['x-tc-timestamp']).toBe('1551113065');
    expect(r.headers['x-tc-region']).toBe('ap-guangzhou');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.authorization).toBe(tc3Authorization({ ...CRED, service: 'hunyuan', host: 'hunyuan.tencentcloudapi.com', contentType: 'application/json', payload: String(r.body), timestamp: 1551113065 }));
    expect(r.headers.authorization).toMatch(/^TC3-HMAC-SHA256 Credential=AKIDtest\/2019-02-25\/hunyuan\/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}$/);
    expect(JSON.parse(String(r.body))).toEqual({ Model: 'hunyuan-turbos-latest', Messages: [{ Role: 'user', Content: 'hi' }], Stream: false });
    expect(up(request({ model: 'm', messages: [] }), backend({ api: 'native' })).headers['x-tc-region']).toBeUndefined();
    expect(adapter.authHeaders(backend())).toEqual({});
    // options.api: compatible (or unset) keeps the OpenAI-compatible endpoint.
    const compat = up(request({ model: 'm', messages: [] }), { ...backend({ api: 'compatible' }), credential: 'k' });
    expect(compat.path).toBe('/chat/completions');
    expect(compat.headers.authorization).toBe('Bearer k');
  });

  it('translates messages, tool calls, tools and tool_choice', () => {
    const body = toHunyuan(
      {
        model: 'm',
        stream: true,
        temperature: 0.5,
        top_p: 0.9,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'weather ' }, { type: 'text', text: 'in Paris?' }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        ],
        tools: [{ type: 'function', function: { name: 'weather', description: 'the weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        tool_choice: { type: 'function', function: { name: 'weather' } },
      },
      'hy',
      true,
    );
    expect(body).toEqual({
      Model: 'hy',
      Stream: true,
      Temperature: 0.5,
      TopP: 0.9,
      Messages: [
        { Role: 'system', Content: 'be brief' },
        { Role: 'user', Content: 'weather in Paris?' },
        { Role: 'assistant', Content: '', ToolCalls: [{ Id: 'call_1', Type: 'function', Function: { Name: 'weather', Arguments: '{"city":"Paris"}' } }] },
        { Role: 'tool', Content: 'sunny', ToolCallId: 'call_1' },
      ],
      Tools: [{ Type: 'function', Function: { Name: 'weather', Description: 'the weather', Parameters: '{"type":"object","properties":{"city":{"type":"string"}}}' } }],
      ToolChoice: 'custom',
      CustomTool: { Type: 'function', Function: { Name: 'weather' } },
    });
  });

  it('refuses what ChatCompletions cannot honour, naming the field', () => {
    expect(refused({ stop: ['x'] })).toBe('stop');
    expect(refused({ max_tokens: 5 })).toBe('max_tokens');
    expect(refused({ response_format: { type: 'json_object' } })).toBe('response_format');
    expect(refused({ n: 2 })).toBe('n');
    expect(refused({ tool_choice: 'required' })).toBe('tool_choice');
    expect(refused({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).toBe('messages[0].content');
    expect(refused({ input: 'x' }, 'embeddings')).toBe('model');
    expect(() => up(request({ model: 'm', messages: [] }), { ...backend(), credential: 'not-json' })).toThrow(/secretId/);
  });

  it('translates an answer, a tool call and the errors (status chosen from Response.Error)', () => {
    expect(
      responseToOpenAI({ Id: 'r1', Created: 7, Choices: [{ Message: { Role: 'assistant', Content: 'hello' }, FinishReason: 'stop' }], Usage: { PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5 } }, 'hy', 1),
    ).toEqual({ id: 'r1', object: 'chat.completion', created: 7, model: 'hy', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    const tool = responseToOpenAI({ Id: 'r2', Choices: [{ Message: { Role: 'assistant', Content: '', ToolCalls: [{ Id: 'c1', Type: 'function', Index: 0, Function: { Name: 'weather', Arguments: '{}' } }] }, FinishReason: 'tool_calls' }] }, 'hy', 1);
    expect((tool.choices as Array<Record<string, unknown>>)[0]).toEqual({ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }] }, logprobs: null, finish_reason: 'tool_calls' });
    expect(errorToOpenAI({ Code: 'AuthFailure.SignatureFailure', Message: 'bad' })).toMatchObject({ status: 502, body: { error: { code: 'upstream_auth_failed' } } });
    expect(errorToOpenAI({ Code: 'LimitExceeded', Message: 'slow down' }).status).toBe(429);
    expect(errorToOpenAI({ Code: 'RequestLimitExceeded', Message: 'slow down' }).status).toBe(429);
    expect(errorToOpenAI({ Code: 'InvalidParameterValue.Model', Message: 'no such model' })).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error' } } });
    expect(errorToOpenAI({ Code: 'InternalError', Message: 'oops' }).status).toBe(502);

    const t = adapter.translator(request({ model: 'm', messages: [] }), backend());
    expect(t.classify(200, { 'content-type': 'application/json' })).toBe('body');
    t.body(Buffer.from(JSON.stringify({ Response: { RequestId: 'x', Error: { Code: 'AuthFailure.SignatureFailure', Message: 'The provided credentials could not be validated.' } } })));
    const out = JSON.parse(String(t.bodyEnd()));
    expect(t.status!(200)).toBe(502);
    expect(out.error.code).toBe('upstream_auth_failed');
    expect(out.error.message).not.toContain(CRED.secretKey);
  });

  it('translates a stream to OpenAI chunks with usage and tool calls', () => {
    const s = new HunyuanStream(true, 9, 'hy');
    const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    const text =
      ev({ Id: 's1', Created: 9, Choices: [{ Delta: { Role: 'assistant', Content: 'Hel' }, FinishReason: '' }], Usage: { PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4 } }) +
      ev({ Id: 's1', Choices: [{ Delta: { Role: 'assistant', Content: 'lo', ToolCalls: [{ Id: 'c1', Type: 'function', Index: 0, Function: { Name: 'weather', Arguments: '{"city":"Paris"}' } }] }, FinishReason: '' }], Usage: { PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5 } }) +
      ev({ Id: 's1', Choices: [{ Delta: { Role: 'assistant', Content: '' }, FinishReason: 'tool_calls' }], Usage: { PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7 } });
    const buf = Buffer.from(text);
    const first = s.push(buf.subarray(0, 50));
    const out = String(first ?? '') + String(s.push(buf.subarray(50)) ?? '');
    const chunks = out.split('\n\n').filter(Boolean).map((l) => JSON.parse(l.slice(6)));
    expect(chunks.map((c) => c.choices[0]?.delta ?? c.usage)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hel' },
      { content: 'lo' },
      { tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] },
      {},
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    ]);
    expect(chunks[5].choices[0].finish_reason).toBe('tool_calls');
    expect(s.complete).toBe(true);
    expect(s.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
  });
});
