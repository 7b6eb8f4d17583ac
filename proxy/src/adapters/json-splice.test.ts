import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findMember, spliceRequest } from './json-splice.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('spliceRequest', () => {
  it('replaces only the bytes of the model value: big integers and long decimals arrive as sent', () => {
    const raw = '{"model":"chat","seed":12345678901234567890123,"temperature":1.0000000000000000001,"messages":[{"role":"user","content":"hi"}]}';
    const out = spliceRequest(b(raw), 'meta-llama/Llama-3.1-8B-Instruct', false)!.toString();
    expect(out).toBe(raw.replace('"chat"', '"meta-llama/Llama-3.1-8B-Instruct"'));
    expect(out).toContain('12345678901234567890123');
    expect(out).toContain('1.0000000000000000001');
  });

  it('adds stream_options when the client sent none, keeping its whitespace and key order', () => {
    const raw = '{ "messages": [], "model" : "m",\n "stream": true }';
    expect(spliceRequest(b(raw), null, true)!.toString()).toBe('{ "messages": [], "model" : "m",\n "stream": true ,"stream_options":{"include_usage":true}}');
  });

  it('sets include_usage inside the client\'s stream_options, whatever it held', () => {
    const with_ = (so: string) => spliceRequest(b(`{"model":"m","stream":true,"stream_options":${so}}`), null, true)!.toString();
    expect(JSON.parse(with_('{"continuous_usage_stats":false}')).stream_options).toEqual({ include_usage: true, continuous_usage_stats: false });
    expect(JSON.parse(with_('{"include_usage":false}')).stream_options).toEqual({ include_usage: true });
    expect(JSON.parse(with_('{}')).stream_options).toEqual({ include_usage: true });
    expect(JSON.parse(with_('null')).stream_options).toEqual({ include_usage: true });
  });

  it('rewrites the last model member, the one JSON.parse (and the upstream) reads', () => {
    const out = spliceRequest(b('{"model":"a","x":{"model":"inner"},"model":"b"}'), 'up', false)!.toString();
    expect(out).toBe('{"model":"a","x":{"model":"inner"},"model":"up"}');
  });

  it('skips strings holding quotes, escapes and braces', () => {
    const raw = '{"messages":[{"content":"a \\"model\\": {\\"x\\" } \\\\"}],"model":"m"}';
    const out = spliceRequest(b(raw), 'n', false)!.toString();
    expect(JSON.parse(out)).toEqual({ ...JSON.parse(raw), model: 'n' });
  });

  it('gives up (null) on an escaped key, so the caller takes the exact slow path', () => {
    expect(spliceRequest(b('{"mod\\u0065l":"m"}'), 'n', false)).toBeNull();
    expect(findMember(b('{"a":1'), 0, 'a')).toBeNull();
  });

  it('for any body, means what re-serialising would mean', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.string(), fc.string(), fc.boolean(), (extra, model, target, addUsage) => {
        const body = { ...extra, model };
        const raw = Buffer.from(JSON.stringify(body));
        const out = spliceRequest(raw, target, addUsage);
        if (out === null) return;
        const expected: Record<string, unknown> = { ...JSON.parse(raw.toString()), model: target };
        if (addUsage) {
          const so = expected.stream_options;
          expected.stream_options = { ...(so && typeof so === 'object' && !Array.isArray(so) ? so : {}), include_usage: true };
        }
        expect(JSON.parse(out.toString())).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
