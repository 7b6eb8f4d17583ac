import { describe, expect, it } from 'vitest';
import { FinishReasonReader } from './finish-reasons.ts';

const OPENAI_STREAM = [
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"say \\"finish_reason\\":\\"hacked\\" now"},"finish_reason":null}]}',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":1,"delta":{},"finish_reason":"length"}]}',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason" : "stop"}]}',
  'data: [DONE]',
].map((e) => `${e}\n\n`).join('');

const ANTHROPIC_STREAM = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null}}',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a \\"stop_reason\\": \\"x\\" b"}}',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}',
  'event: message_stop\ndata: {"type":"message_stop"}',
].map((e) => `${e}\n\n`).join('');

const OPENAI_JSON = JSON.stringify({
  id: 'c2',
  object: 'chat.completion',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'finish_reason: "x"' }, finish_reason: 'stop' },
    { index: 1, message: { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"finish_reason":"no"}' } }] }, finish_reason: 'tool_calls' },
  ],
});

const ANTHROPIC_JSON = JSON.stringify({ id: 'msg_2', type: 'message', content: [{ type: 'text', text: 'hi' }], stop_reason: 'max_tokens', stop_sequence: null });

const CASES: [string, string, string[]][] = [
  ['an OpenAI stream (null before the last chunk, one reason per choice, the key written by the model skipped)', OPENAI_STREAM, ['length', 'stop']],
  ['an Anthropic stream (message_start null, message_delta the reason)', ANTHROPIC_STREAM, ['tool_use']],
  ['an OpenAI JSON body (a key inside tool arguments skipped)', OPENAI_JSON, ['stop', 'tool_calls']],
  ['an Anthropic JSON body', ANTHROPIC_JSON, ['max_tokens']],
];

function read(parts: Buffer[]): string[] {
  const r = new FinishReasonReader();
  for (const p of parts) r.push(p);
  return r.reasons;
}

describe('FinishReasonReader', () => {
  for (const [name, text, want] of CASES) {
    it(`${name}: the same reasons however the bytes are split`, () => {
      const all = Buffer.from(text);
      expect(read([all])).toEqual(want);
      // Every split into two, and into three at every pair of positions 7 bytes apart.
      for (let i = 0; i <= all.length; i++) expect(read([all.subarray(0, i), all.subarray(i)])).toEqual(want);
      for (let i = 0; i + 7 <= all.length; i++) expect(read([all.subarray(0, i), all.subarray(i, i + 7), all.subarray(i + 7)])).toEqual(want);
      // One byte at a time.
      expect(read([...all].map((b) => Buffer.from([b])))).toEqual(want);
    });
  }

  it('records no value longer than 64 characters, and reads on after it', () => {
    const long = `{"finish_reason":"${'x'.repeat(65)}"}{"finish_reason":"stop"}`;
    expect(read([Buffer.from(long)])).toEqual(['stop']);
    const b = Buffer.from(long);
    for (let i = 0; i <= b.length; i++) expect(read([b.subarray(0, i), b.subarray(i)])).toEqual(['stop']);
  });
});
