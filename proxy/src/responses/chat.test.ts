// The Responses API over chat: the request translation (to-chat.ts) and the answer translation
// (from-chat.ts), JSON and stream split anywhere.
import { describe, expect, it } from 'vitest';
import { passThroughTranslator } from '../adapters/test-translator.ts';
import { UnsupportedRequest, type ClientRequest } from '../adapters/types.ts';
import { ChatAsResponses } from './from-chat.ts';
import { responsesAsChat } from './to-chat.ts';

const request = (body: Record<string, unknown>, stream = false): ClientRequest => ({
  operation: 'responses',
  raw: Buffer.from(JSON.stringify(body)),
  body,
  model: String(body.model),
  stream,
  clientWantsUsage: false,
  requestId: 'r1',
});

describe('responsesAsChat', () => {
  it('instructions, input items, tools, tool_choice, output limit, JSON schema and reasoning effort as chat', () => {
    const chat = responsesAsChat(request({
      model: 'm',
      instructions: 'be brief',
      input: [
        { role: 'developer', content: 'use metric units' },
        { role: 'user', content: [{ type: 'input_text', text: 'weather?' }, { type: 'input_image', image_url: 'https://x/y.png', detail: 'low' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"a":1}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { role: 'assistant', content: [{ type: 'output_text', text: 'It is ' }, { type: 'output_text', text: 'sunny' }] },
      ],
      tools: [{ type: 'function', name: 'w', description: 'weather', parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'w' },
      max_output_tokens: 99,
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning: { effort: 'low' },
      store: true,
      include: ['reasoning.encrypted_content'],
    }, true), 'b1');
    expect(chat.operation).toBe('chat');
    expect(chat.clientWantsUsage).toBe(true);
    expect(chat.body).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'system', content: 'use metric units' },
        { role: 'user', content: [{ type: 'text', text: 'weather?' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{}' } }, { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
        { role: 'assistant', content: 'It is sunny' },
      ],
      tools: [{ type: 'function', function: { name: 'w', description: 'weather', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'w' } },
      max_tokens: 99,
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'low',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(JSON.parse(chat.raw.toString())).toEqual(chat.body);
  });

  it('refuses what chat cannot carry, naming the field', () => {
    const field = (body: Record<string, unknown>) => {
      try {
        responsesAsChat(request({ model: 'm', input: 'x', ...body }), 'b1');
        return null;
      } catch (e) {
        expect(e).toBeInstanceOf(UnsupportedRequest);
        return (e as UnsupportedRequest).field;
      }
    };
    expect(field({ tools: [{ type: 'file_search' }] })).toBe('tools');
    expect(field({ previous_response_id: 'resp_1' })).toBe('previous_response_id');
    expect(field({ background: true })).toBe('background');
    expect(field({ input: [{ type: 'item_reference', id: 'msg_1' }] })).toBe('input');
    expect(field({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] })).toBe('input');
    expect(field({ reasoning: { summary: 'auto' } })).toBe('reasoning.summary');
    expect(field({ conversation: 'conv_1' })).toBe('conversation');
    expect(field({ tool_choice: { type: 'web_search' } })).toBe('tool_choice');
    expect(field({ truncation: 'disabled', store: false, metadata: { a: 'b' } })).toBeNull();
  });
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const CHAT_STREAM =
  chunk({ role: 'assistant', content: '' }) +
  chunk({ content: 'Hi ' }) +
  chunk({ content: 'there' }) +
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"ci' } }] }) +
  chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":1}' } }] }, 'tool_calls') +
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } })}\n\n` +
  'data: [DONE]\n\n';

function events(parts: Buffer[]): Record<string, any>[] {
  const t = new ChatAsResponses(passThroughTranslator('stream'), request({ model: 'm', input: 'x' }, true), 1700000000);
  t.classify(200, {});
  let out = '';
  for (const p of parts) out += t.stream(p)?.toString() ?? '';
  out += t.streamRest()?.toString() ?? '';
  expect(t.complete).toBe(true);
  return out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data:'))!.slice(5)) as Record<string, any>);
}

describe('ChatAsResponses', () => {
  it('a chat stream split anywhere gives the same Responses events: text, then a function call, then completed with usage', () => {
    const all = Buffer.from(CHAT_STREAM);
    const whole = events([all]);
    expect(whole.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    expect(whole.map((e) => e.sequence_number)).toEqual(whole.map((_, i) => i));
    const done = whole.at(-1)!.response;
    expect(done.output).toMatchObject([{ type: 'message', content: [{ type: 'output_text', text: 'Hi there' }] }, { type: 'function_call', call_id: 'call_1', name: 'w', arguments: '{"city":1}' }]);
    expect(done.usage).toMatchObject({ input_tokens: 7, output_tokens: 5, total_tokens: 12 });
    const strip = (es: Record<string, any>[]) => JSON.stringify(es).replace(/"(resp|msg|fc)_[0-9a-f]+"/g, '"id"');
    for (let i = 1; i < all.length; i += 11) expect(strip(events([all.subarray(0, i), all.subarray(i)]))).toBe(strip(whole));
  });

  it('a JSON completion cut by max tokens is an incomplete Response, with its text', () => {
    const t = new ChatAsResponses(passThroughTranslator('body'), request({ model: 'm', input: 'x', max_output_tokens: 2 }), 1700000000);
    t.classify(200, {});
    t.body(Buffer.from(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi th' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 2 } })));
    const r = JSON.parse(t.bodyEnd()!.toString()) as Record<string, any>;
    expect(r).toMatchObject({ object: 'response', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, store: false, max_output_tokens: 2 });
    expect(r.output[0].content[0].text).toBe('Hi th');
    expect(r.usage.output_tokens).toBe(2);
  });

  it("an error body passes as it came (OpenAI's error shape serves both APIs)", () => {
    const t = new ChatAsResponses(passThroughTranslator('body'), request({ model: 'm', input: 'x' }), 0);
    t.classify(400, {});
    expect(t.body(Buffer.from('{"error":{"message":"bad"}}'))!.toString()).toBe('{"error":{"message":"bad"}}');
  });
});
