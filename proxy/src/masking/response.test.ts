import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@jairouter/testkit/seeded-random';
import { passThroughTranslator as passThrough } from '../adapters/test-translator.ts';
import type { ResponseMode } from '../adapters/types.ts';
import { Masker } from './masker.ts';
import { MaskedResponse, maskedResponse, unmaskableField } from './response.ts';

const masker = new Masker([{ builtin: 'email' }, { builtin: 'credit-card' }, { name: 'ticket', regex: 'TCK-[0-9]{4}' }]);
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';

function wrap(mode: ResponseMode, schema: 'openai' | 'anthropic' | 'responses' = 'openai'): MaskedResponse {
  const t = new MaskedResponse(passThrough(mode), masker, schema);
  t.classify(200, {});
  return t;
}

/** Runs `bytes` through a stream translator in pieces cut where `cuts` says. */
function runStream(t: MaskedResponse, bytes: Buffer, cuts: number[]): string {
  let out = '';
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    const r = t.stream(bytes.subarray(from, c));
    if (r) out += r.toString('utf8');
    from = c;
  }
  const rest = t.streamRest();
  return out + (rest ? rest.toString('utf8') : '');
}

function events(sse: string): Array<Record<string, any> | '[DONE]'> {
  return sse.split('\n\n').filter((e) => e.trim() !== '').map((e) => {
    const data = e.split('\n').find((l) => l.startsWith('data: '))!.slice(6);
    return data === '[DONE]' ? '[DONE]' : JSON.parse(data);
  });
}

function openaiStream(deltas: string[], opts: { finish?: boolean; done?: boolean } = {}): Buffer {
  const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
  let s = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`;
  for (const d of deltas) s += `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: d }, finish_reason: null }] })}\n\n`;
  if (opts.finish !== false) s += `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
  if (opts.done !== false) s += 'data: [DONE]\n\n';
  return Buffer.from(s);
}

const contentOf = (sse: string): string =>
  events(sse).map((e) => (e === '[DONE]' ? '' : (e.choices[0]?.delta?.content ?? ''))).join('');

describe('MaskedResponse, OpenAI streams', () => {
  const text = `Mail ${EMAIL} or pay with ${CARD}; ref TCK-1234. Not 4111 1111 1111 1112. Done.`;
  const expected = masker.mask(text).text;

  it('masks matches split across deltas and across network reads, whatever the cut (seeded, 300 splits)', () => {
    const random = mulberry32(7);
    for (let run = 0; run < 300; run++) {
      const deltas: string[] = [];
      for (let i = 0; i < text.length;) {
        const n = 1 + Math.floor(random() * 6);
        deltas.push(text.slice(i, i + n));
        i += n;
      }
      const bytes = openaiStream(deltas);
      const cuts = [...new Set(Array.from({ length: 8 }, () => Math.floor(random() * bytes.length)))].sort((a, b) => a - b);
      const t = wrap('stream');
      const out = runStream(t, bytes, cuts);
      expect(contentOf(out)).toBe(expected);
      expect(t.counts).toEqual({ email: 1, 'credit-card': 1, ticket: 1 });
      const evs = events(out);
      expect(evs.at(-1)).toBe('[DONE]');
    }
  });

  /** Feeds `deltas` one chunk event each; the most characters ever held back, and what came out. */
  function hold(t: MaskedResponse, deltas: string[]): { most: number; emitted: string } {
    let sent = 0;
    let most = 0;
    let emitted = '';
    for (const d of deltas) {
      const out = t.stream(openaiStream([d], { finish: false, done: false }).subarray(-(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: d }, finish_reason: null }] })}\n\n`.length)));
      if (out) emitted += contentOf(out.toString());
      sent += d.length;
      most = Math.max(most, sent - emitted.length);
    }
    return { most, emitted };
  }

  it('in prose, holds back no more than the word being written, and flushes it with finish_reason', () => {
    const t = wrap('stream');
    const deltas = 'lorem ipsum dolor sit amet, consectetur adipiscing elit '.repeat(20).match(/.{1,4}/gs)!;
    const { most, emitted } = hold(t, deltas);
    expect(most).toBeLessThanOrEqual('consectetur'.length);
    const finish = t.stream(openaiStream([], { done: true }).subarray(0));
    const fin = events(finish!.toString());
    // What was held rides in the finish_reason chunk itself, before [DONE].
    expect((fin.at(-2) as Record<string, any>).choices[0].finish_reason).toBe('stop');
    expect(emitted + contentOf(finish!.toString())).toBe(deltas.join(''));
  });

  it('a run of characters that could all belong to a match is held back no further than the longest match length minus one', () => {
    const t = wrap('stream');
    const { most } = hold(t, 'x'.repeat(2000).match(/.{1,4}/gs)!);
    expect(most).toBe(masker.maxMatchLength - 1);
  });

  it('a stream that ends without finish_reason gets its held text in a chunk of its own before [DONE]', () => {
    const t = wrap('stream');
    const out = runStream(t, openaiStream(['write ', 'to ', EMAIL], { finish: false }), []);
    const evs = events(out);
    expect(evs.at(-1)).toBe('[DONE]');
    const flushed = evs.at(-2) as Record<string, any>;
    expect(flushed).toMatchObject({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: expect.stringContaining('[MASKED:email]') } }] });
    expect(contentOf(out)).toBe('write to [MASKED:email]');
  });

  it('a cut stream (no [DONE]) still releases its held text, masked, at the end', () => {
    const t = wrap('stream');
    const out = runStream(t, openaiStream(['card ', '4111 1111 ', '1111 1111'], { finish: false, done: false }), []);
    expect(contentOf(out)).toBe('card [MASKED:credit-card]');
  });

  it('a streamed transcription: an email split one character per delta is masked in the deltas and the done event, counted once', () => {
    const text = `call ${EMAIL} today`;
    let sse = '';
    for (const ch of text) sse += `data: ${JSON.stringify({ type: 'transcript.text.delta', delta: ch })}\n\n`;
    sse += `data: ${JSON.stringify({ type: 'transcript.text.done', text, usage: { type: 'tokens', input_tokens: 3, output_tokens: 4, total_tokens: 7 } })}\n\n`;
    const t = wrap('stream');
    const evs = events(runStream(t, Buffer.from(sse), [7, 40])) as Record<string, any>[];
    const deltas = evs.filter((e) => e.type === 'transcript.text.delta').map((e) => e.delta).join('');
    expect(deltas).toBe('call [MASKED:email] today');
    expect(evs.at(-1)).toMatchObject({ type: 'transcript.text.done', text: 'call [MASKED:email] today', usage: { total_tokens: 7 } });
    expect(t.counts).toEqual({ email: 1 });
    // Cut before its done event: the held text still goes out, masked.
    const cut = wrap('stream');
    const partial = events(runStream(cut, Buffer.from(sse.slice(0, sse.lastIndexOf('data: '))), [])) as Record<string, any>[];
    expect(partial.map((e) => e.delta).join('')).toBe('call [MASKED:email] today');
  });

  it('masks tool call arguments per call and reasoning, choices apart', () => {
    const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const chunk = (choices: unknown[]) => `data: ${JSON.stringify({ ...base, choices })}\n\n`;
    const s = chunk([{ index: 0, delta: { reasoning_content: 'user is jane.doe@', tool_calls: [{ index: 0, id: 't0', type: 'function', function: { name: 'mail', arguments: '{"to":"jane.' } }] }, finish_reason: null }])
      + chunk([{ index: 1, delta: { content: 'other choice TCK-' }, finish_reason: null }])
      + chunk([{ index: 0, delta: { reasoning_content: 'example.com', tool_calls: [{ index: 0, function: { arguments: 'doe@example.com"}' } }] }, finish_reason: null }])
      + chunk([{ index: 1, delta: { content: '9876' }, finish_reason: 'stop' }])
      + chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }])
      + 'data: [DONE]\n\n';
    const out = events(runStream(wrap('stream'), Buffer.from(s), [17, 200]));
    const join = (i: number, pick: (d: any) => string | undefined) =>
      out.filter((e): e is Record<string, any> => e !== '[DONE]').flatMap((e) => e.choices.filter((c: any) => c.index === i).map((c: any) => pick(c.delta) ?? '')).join('');
    expect(join(0, (d) => d.reasoning_content)).toBe('user is [MASKED:email]');
    expect(join(0, (d) => d.tool_calls?.map((t: any) => t.function.arguments).join(''))).toBe('{"to":"[MASKED:email]"}');
    expect(join(1, (d) => d.content)).toBe('other choice [MASKED:ticket]');
  });

  it('legacy text_completion chunks are masked in choices[].text', () => {
    const base = { id: 'x', object: 'text_completion', created: 1, model: 'm' };
    const s = [`say ${EMAIL.slice(0, 6)}`, EMAIL.slice(6)].map((t) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, text: t, finish_reason: null }] })}\n\n`).join('') + 'data: [DONE]\n\n';
    const out = events(runStream(wrap('stream'), Buffer.from(s), []));
    expect(out.map((e) => (e === '[DONE]' ? '' : e.choices[0].text)).join('')).toBe('say [MASKED:email]');
  });
});

describe('MaskedResponse, Anthropic streams', () => {
  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

  it('masks text, thinking and tool input JSON across deltas; a block\'s held text goes out just before its content_block_stop', () => {
    const s = ev('message_start', { message: { id: 'm', content: [] } })
      + ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } })
      + ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'card 4111 1111' } })
      + ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: ' 1111 1111' } })
      + ev('content_block_stop', { index: 0 })
      + ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } })
      + ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: `Mail jane.doe@exa` } })
      + ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'mple.com now' } })
      + ev('content_block_stop', { index: 1 })
      + ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 't', name: 'mail', input: {} } })
      + ev('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"to": "TCK-' } })
      + ev('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '0042"}' } })
      + ev('content_block_stop', { index: 2 })
      + ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } })
      + ev('message_stop', {});
    const t = wrap('stream', 'anthropic');
    const out = runStream(t, Buffer.from(s), [30, 31, 400]);
    const parsed = out.split('\n\n').filter(Boolean).map((e) => {
      const [name, data] = e.split('\n');
      return { name: name!.slice(7), data: JSON.parse(data!.slice(6)) as Record<string, any> };
    });
    for (const p of parsed) expect(p.name).toBe(p.data.type);
    const blockText = (i: number) => parsed.filter((p) => p.name === 'content_block_delta' && p.data.index === i).map((p) => p.data.delta.text ?? p.data.delta.thinking ?? p.data.delta.partial_json).join('');
    expect(blockText(0)).toBe('card [MASKED:credit-card]');
    expect(blockText(1)).toBe('Mail [MASKED:email] now');
    expect(JSON.parse(blockText(2))).toEqual({ to: '[MASKED:ticket]' });
    // Every delta of a block comes before its stop.
    for (const i of [0, 1, 2]) {
      const stop = parsed.findIndex((p) => p.name === 'content_block_stop' && p.data.index === i);
      expect(parsed.findLastIndex((p) => p.name === 'content_block_delta' && p.data.index === i)).toBeLessThan(stop);
    }
    expect(t.counts).toEqual({ 'credit-card': 1, email: 1, ticket: 1 });
  });
});

describe('MaskedResponse, bodies', () => {
  function body(t: MaskedResponse, json: unknown): Record<string, any> {
    const s = Buffer.from(JSON.stringify(json));
    expect(t.body(s.subarray(0, 10))).toBeNull();
    expect(t.body(s.subarray(10))).toBeNull();
    return JSON.parse(t.bodyEnd()!.toString());
  }

  it('an OpenAI chat completion: content, reasoning and tool call arguments; content-length dropped', () => {
    const t = wrap('body');
    expect(t.headers({}, 'body')['content-length']).toBeUndefined();
    const r = body(t, { choices: [{ index: 0, message: { role: 'assistant', content: `to ${EMAIL}`, reasoning_content: CARD, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: JSON.stringify({ t: 'TCK-0001' }) } }] } }], usage: { prompt_tokens: 1 } });
    expect(r.choices[0].message).toMatchObject({ content: 'to [MASKED:email]', reasoning_content: '[MASKED:credit-card]', tool_calls: [{ function: { arguments: '{"t":"[MASKED:ticket]"}' } }] });
    expect(r.usage).toEqual({ prompt_tokens: 1 });
  });

  it('an Anthropic message: text, thinking and tool_use input; an error body\'s message', () => {
    const r = body(wrap('body', 'anthropic'), { content: [{ type: 'thinking', thinking: EMAIL, signature: 's' }, { type: 'text', text: `card ${CARD}` }, { type: 'tool_use', id: 't', name: 'f', input: { deep: [{ to: EMAIL }] } }] });
    expect(r.content).toEqual([{ type: 'thinking', thinking: '[MASKED:email]', signature: 's' }, { type: 'text', text: 'card [MASKED:credit-card]' }, { type: 'tool_use', id: 't', name: 'f', input: { deep: [{ to: '[MASKED:email]' }] } }]);
    const e = body(wrap('body', 'anthropic'), { type: 'error', error: { type: 'invalid_request_error', message: `unknown user ${EMAIL}` } });
    expect(e.error.message).toBe('unknown user [MASKED:email]');
  });

  it('an answer with nothing to mask goes out byte for byte', () => {
    const t = wrap('body');
    const raw = Buffer.from('{"choices":[{"message":{"content":"fine"}}],  "x":1}');
    t.body(raw);
    expect(t.bodyEnd()).toEqual(raw);
  });

  it('a stream replayed from a JSON answer (a body of SSE events) is masked as a stream', () => {
    const t = wrap('body');
    t.body(openaiStream([`to ${EMAIL}`]));
    expect(contentOf(t.bodyEnd()!.toString())).toBe('to [MASKED:email]');
  });
});

describe('what response masking wraps and refuses', () => {
  it('embeddings and tenants without response masking get the translator itself', () => {
    const inner = passThrough('body');
    expect(maskedResponse(inner, null, 'openai', 'chat')).toBe(inner);
    expect(maskedResponse(inner, masker, 'openai', 'embeddings')).toBe(inner);
    expect(maskedResponse(inner, masker, 'openai', 'chat')).toBeInstanceOf(MaskedResponse);
  });

  it('names a transcription\'s include[]=logprobs, whose tokens would carry the transcript unmasked', () => {
    expect(unmaskableField({ 'include[]': 'logprobs' })).toBe('include');
  });

  it('names logprobs and top_logprobs, which would carry the text unmasked', () => {
    expect(unmaskableField({ logprobs: true })).toBe('logprobs');
    expect(unmaskableField({ logprobs: 2 })).toBe('logprobs');
    expect(unmaskableField({ top_logprobs: 3 })).toBe('top_logprobs');
    expect(unmaskableField({ logprobs: false, top_logprobs: 0 })).toBeNull();
  });
});

describe('MaskedResponse, Responses API streams', () => {
  const ev = (type: string, n: number, rest: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...rest })}\n\n`;
  function responsesStream(deltas: string[]): Buffer {
    const full = deltas.join('');
    const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
    let n = 0;
    let s = ev('response.created', n++, { response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } });
    for (const d of deltas) s += ev('response.output_text.delta', n++, { ...at, delta: d });
    s += ev('response.output_text.done', n++, { ...at, text: full });
    s += ev('response.output_item.done', n++, { output_index: 0, item: { type: 'message', id: 'msg_1', content: [{ type: 'output_text', text: full }] } });
    s += ev('response.completed', n++, { response: { id: 'resp_1', object: 'response', status: 'completed', output: [{ type: 'message', id: 'msg_1', content: [{ type: 'output_text', text: full }] }] } });
    return Buffer.from(s);
  }

  it('an email split one character per delta: masked in the deltas, the done events and the final response, counted once, numbered in order', () => {
    const deltas = ['Mail ', ...EMAIL.split(''), ' today'];
    const bytes = responsesStream(deltas);
    const t = wrap('stream', 'responses');
    const out = runStream(t, bytes, [Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3)]);
    const es = events(out) as Record<string, any>[];
    const text = es.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    expect(text).toBe('Mail [MASKED:email] today');
    expect(es.find((e) => e.type === 'response.output_text.done')!.text).toBe('Mail [MASKED:email] today');
    expect(es.at(-1)!.response.output[0].content[0].text).toBe('Mail [MASKED:email] today');
    expect(out).not.toContain(EMAIL);
    expect(es.map((e) => e.sequence_number)).toEqual(es.map((_, i) => i));
    expect(t.counts).toEqual({ email: 1 });
  });
});

