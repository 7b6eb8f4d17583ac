import { describe, expect, it } from 'vitest';
import { continueConversation, inputItems, keptAnswer, keptRecord } from './kept.ts';
import type { KeptResponse } from './store.ts';

const OUTPUT = [
  { type: 'message', id: 'msg_out', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'calling', annotations: [] }] },
  { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
];

const kept = (input: unknown, ownFrom = 0): KeptResponse => keptRecord('ai/acme', { id: 'resp_jrgx', object: 'response', output: OUTPUT }, input, ownFrom);

describe('continueConversation', () => {
  it('replays the kept input and output ahead of the new input, without the ids and status the gateway gave them', () => {
    const b: Record<string, unknown> = { model: 'm', previous_response_id: 'resp_jrgx', instructions: 'new rules', input: [{ type: 'function_call_output', call_id: 'call_1', output: 'sunny' }] };
    const from = continueConversation(b, kept('weather in Paris?'));
    expect(from).toBe(3);
    expect(b.previous_response_id).toBeUndefined();
    expect(b.instructions).toBe('new rules');
    expect(b.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'weather in Paris?' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'calling', annotations: [] }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
    ]);
  });

  it('a string input becomes one user message after the earlier turns', () => {
    const b: Record<string, unknown> = { input: 'and tomorrow?' };
    continueConversation(b, kept([]));
    expect((b.input as unknown[]).at(-1)).toEqual({ type: 'message', role: 'user', content: 'and tomorrow?' });
  });
});

describe('keptRecord', () => {
  it('lists the input as OpenAI does: ids by type, message text as parts, ids the client gave kept', () => {
    const r = kept([{ role: 'user', content: 'hi' }, { type: 'function_call_output', call_id: 'c', output: 'x' }, { type: 'message', id: 'msg_mine', role: 'assistant', content: 'yo' }]);
    expect(r.input[0]).toMatchObject({ type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_text', text: 'hi' }] });
    expect(r.input[0]!.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(r.input[1]!.id).toMatch(/^fco_/);
    expect(r.input[2]).toMatchObject({ id: 'msg_mine', content: [{ type: 'output_text', text: 'yo' }] });
    expect(inputItems(undefined)).toEqual([]);
  });
});

describe('keptAnswer', () => {
  const rec = kept(['a', 'b', 'c', 'd', 'e'].map((t) => ({ role: 'user', content: t, id: `msg_${t}` })), 2);
  const ask = (suffix: '' | '/cancel' | '/input_items', method: 'GET' | 'POST' | 'DELETE' = 'GET', q = '', r: KeptResponse | null = rec, tenant = 'ai/acme') =>
    keptAnswer('resp_jrgx', { suffix, method }, new URLSearchParams(q), r, tenant);

  it('another tenant\'s response, or none, is 404 for every path', () => {
    for (const s of ['', '/cancel', '/input_items'] as const) {
      expect(ask(s, 'GET', '', rec, 'ai/globex')).toMatchObject({ status: 404, code: 'not_found' });
      expect(ask(s, 'GET', '', null)).toMatchObject({ status: 404 });
    }
  });

  it('GET answers the Response object, DELETE the deletion, cancel 400 (never a background response)', () => {
    expect(ask('')).toEqual({ body: rec.response });
    expect(ask('', 'DELETE')).toEqual({ delete: { id: 'resp_jrgx', object: 'response', deleted: true } });
    expect(ask('/cancel', 'POST')).toMatchObject({ status: 400 });
    expect(ask('', 'GET', 'stream=true')).toMatchObject({ status: 400, param: 'stream' });
  });

  it('input_items lists the request\'s own input: newest first by default, limit, after, asc', () => {
    const ids = (q: string) => ((ask('/input_items', 'GET', q) as { body: { data: { id: string }[] } }).body.data.map((d) => d.id));
    expect(ids('')).toEqual(['msg_e', 'msg_d', 'msg_c']);
    expect(ids('order=asc&limit=2')).toEqual(['msg_c', 'msg_d']);
    expect(ids('order=asc&after=msg_c')).toEqual(['msg_d', 'msg_e']);
    expect(ask('/input_items', 'GET', 'limit=2')).toMatchObject({ body: { object: 'list', first_id: 'msg_e', last_id: 'msg_d', has_more: true } });
    expect(ask('/input_items', 'GET', 'limit=3')).toMatchObject({ body: { has_more: false } });
    expect(ask('/input_items', 'GET', 'limit=0')).toMatchObject({ status: 400, param: 'limit' });
    expect(ask('/input_items', 'GET', 'order=up')).toMatchObject({ status: 400, param: 'order' });
    expect(ask('/input_items', 'GET', 'after=msg_zz')).toMatchObject({ status: 400, param: 'after' });
  });
});
