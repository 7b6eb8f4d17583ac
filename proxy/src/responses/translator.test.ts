import { describe, expect, it } from 'vitest';
import { passThroughTranslator as inner } from '../adapters/test-translator.ts';
import { decodeResponseId, encodeResponseId } from './ids.ts';
import { ResponseIds, type OriginOf } from './translator.ts';

const ORIGIN: OriginOf = { route: 'ai/gpt', backend: 'openai-a', endpoint: 'abc123', tenant: 'ai/acme', model: 'gpt-4.1' };

const ev = (type: string, rest: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...rest })}\n\n`;
const STREAM =
  ev('response.created', { sequence_number: 0, response: { id: 'resp_up1', object: 'response', status: 'in_progress', output: [], previous_response_id: 'resp_up0' } }) +
  ev('response.output_text.delta', { sequence_number: 1, item_id: 'msg_1', delta: 'say "response": {"id":"resp_x"}' }) +
  ev('response.completed', { sequence_number: 2, response: { id: 'resp_up1', object: 'response', status: 'completed', output: [] } });

function run(t: ResponseIds, parts: Buffer[]): string {
  let out = '';
  for (const p of parts) out += t.stream(p)?.toString() ?? '';
  out += t.streamRest()?.toString() ?? '';
  return out;
}

describe('response ids', () => {
  it('round-trip, and refuse what the gateway did not give out', () => {
    const id = encodeResponseId({ ...ORIGIN, upstream: 'resp_up1' });
    expect(id.startsWith('resp_jr1')).toBe(true);
    expect(decodeResponseId(id)).toEqual({ ...ORIGIN, upstream: 'resp_up1' });
    expect(decodeResponseId('resp_up1')).toBeNull();
    expect(decodeResponseId('resp_jr1!!notbase64')).toBeNull();
    expect(decodeResponseId('resp_jr1' + Buffer.from('["a","b"]').toString('base64url'))).toBeNull();
  });

  it('a JSON response: id and previous_response_id rewritten, content-length dropped; other bodies as they came', () => {
    const t = new ResponseIds(inner('body'), ORIGIN);
    t.classify(200, {});
    expect(t.headers({}, 'body')['content-length']).toBeUndefined();
    expect(t.body(Buffer.from('{"id":"resp_up1","object":"res'))).toBeNull();
    t.body(Buffer.from('ponse","previous_response_id":"resp_up0","output":[]}'));
    const out = JSON.parse(t.bodyEnd()!.toString()) as { id: string; previous_response_id: string };
    expect(decodeResponseId(out.id)?.upstream).toBe('resp_up1');
    expect(decodeResponseId(out.previous_response_id)).toEqual({ ...ORIGIN, upstream: 'resp_up0' });
    const list = new ResponseIds(inner('body'), ORIGIN);
    list.classify(200, {});
    list.body(Buffer.from('{"object":"list","data":[{"id":"msg_1"}]}'));
    expect(list.bodyEnd()!.toString()).toBe('{"object":"list","data":[{"id":"msg_1"}]}');
    const err = new ResponseIds(inner('body'), ORIGIN);
    err.classify(404, {});
    expect(err.body(Buffer.from('{"error":{}}'))!.toString()).toBe('{"error":{}}');
  });

  it('a stream split anywhere: the response events rewritten, a delta that mentions "response" left alone, complete at response.completed', () => {
    const all = Buffer.from(STREAM);
    for (let i = 1; i < all.length; i += 7) {
      const t = new ResponseIds(inner('stream'), ORIGIN);
      t.classify(200, {});
      const out = run(t, [all.subarray(0, i), all.subarray(i)]);
      const datas = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data:'))!.slice(5)) as Record<string, any>);
      expect(datas.map((d) => d.type)).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
      expect(decodeResponseId(datas[0]!.response.id)?.upstream).toBe('resp_up1');
      expect(decodeResponseId(datas[0]!.response.previous_response_id)?.upstream).toBe('resp_up0');
      expect(datas[1]!.delta).toBe('say "response": {"id":"resp_x"}');
      expect(decodeResponseId(datas[2]!.response.id)?.upstream).toBe('resp_up1');
      expect(t.complete).toBe(true);
    }
    const cut = new ResponseIds(inner('stream'), ORIGIN);
    cut.classify(200, {});
    run(cut, [Buffer.from(STREAM.slice(0, STREAM.indexOf('event: response.completed')))]);
    expect(cut.complete).toBe(false);
  });
});
