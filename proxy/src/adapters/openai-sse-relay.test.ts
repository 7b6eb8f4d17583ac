import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { streamErrorEvent, Errors } from '../api/errors.ts';
import { SseRelay } from './openai-sse-relay.ts';

const chunk = (i: number, usage = 'null') =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}],"usage":${usage}}\n\n`;
const usageChunk = 'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}\n\n';
const DONE = 'data: [DONE]\n\n';
const stream = [chunk(0), chunk(1), chunk(2), usageChunk, DONE].join('');
/** What the client gets when the proxy, not the client, asked for usage: no trace of it. */
const plain = (i: number) =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}]}\n\n`;
const stripped = [plain(0), plain(1), plain(2), DONE].join('');

function relayAll(relay: SseRelay, parts: Buffer[]): string {
  let out = '';
  for (const p of parts) {
    const b = relay.push(p);
    if (b) out += b.toString('utf8');
  }
  const r = relay.rest();
  if (r) out += r.toString('utf8');
  return out;
}

/** Splits a buffer at the given cut points (sorted, deduplicated). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of pts) {
    parts.push(buf.subarray(prev, p));
    prev = p;
  }
  parts.push(buf.subarray(prev));
  return parts.filter((p) => p.length > 0);
}

describe('SseRelay', () => {
  it('forwards every event unchanged and captures usage when the client asked for it', () => {
    const relay = new SseRelay(false);
    expect(relayAll(relay, [Buffer.from(stream)])).toBe(stream);
    expect(relay.usage).toEqual({ promptTokens: 12, completionTokens: 7 });
    expect(relay.sawDone).toBe(true);
  });

  it('drops the usage-only chunk and the "usage":null members when the proxy asked for usage on the client\'s behalf', () => {
    const relay = new SseRelay(true);
    const out = relayAll(relay, [Buffer.from(stream)]);
    expect(out).toBe(stripped);
    expect(relay.usage).toEqual({ promptTokens: 12, completionTokens: 7 });
  });

  it('gives the same output however the upstream splits its writes', () => {
    const buf = Buffer.from(stream);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (cuts, strip) => {
        const relay = new SseRelay(strip);
        const out = relayAll(relay, split(buf, cuts));
        expect(out).toBe(strip ? stripped : stream);
        expect(relay.usage).toEqual({ promptTokens: 12, completionTokens: 7 });
        expect(relay.sawDone).toBe(true);
      }),
    );
  });

  it('never emits a partial event: bytes after the last blank line wait for the rest', () => {
    const relay = new SseRelay(false);
    const first = relay.push(Buffer.from(chunk(0) + 'data: {"id":"c","obj'));
    expect(first?.toString()).toBe(chunk(0));
    expect(relay.push(Buffer.from('ect":"x"}'))).toBeNull();
    expect(relay.push(Buffer.from('\n\n'))?.toString()).toBe('data: {"id":"c","object":"x"}\n\n');
  });

  it('keeps usage reported on a content chunk (servers that put usage on the last delta)', () => {
    const relay = new SseRelay(true);
    const last = chunk(3, '{"prompt_tokens":3,"completion_tokens":4}');
    const out = relayAll(relay, [Buffer.from(chunk(0) + last + DONE)]);
    expect(out).toBe(plain(0) + last + DONE);
    expect(relay.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
  });

  it('reports a stream that ended without [DONE]', () => {
    const relay = new SseRelay(false);
    relayAll(relay, [Buffer.from(chunk(0))]);
    expect(relay.sawDone).toBe(false);
  });

  it('takes out "usage":null wherever it sits in the object, with or without spaces', () => {
    const relay = new SseRelay(true);
    const input = 'data: {"usage":null,"id":"a"}\n\ndata: {"id":"b", "usage": null}\n\n' + DONE;
    expect(relayAll(relay, [Buffer.from(input)])).toBe('data: {"id":"a"}\n\ndata: {"id":"b", "usage": null}\n\n'.replace(', "usage": null', '') + DONE);
  });

  it('leaves "usage":null alone when the client asked for usage itself', () => {
    const relay = new SseRelay(false);
    expect(relayAll(relay, [Buffer.from(chunk(0) + DONE)])).toBe(chunk(0) + DONE);
  });

  it('notices [DONE] in every framing an upstream uses, and not in a chunk that merely mentions it', () => {
    for (const done of ['data: [DONE]\n\n', 'data:[DONE]\n\n', 'data: [DONE]\r\n\r\n', 'data: [DONE]\n']) {
      const relay = new SseRelay(false);
      relayAll(relay, [Buffer.from(chunk(0)), Buffer.from(done)]);
      expect(relay.sawDone, JSON.stringify(done)).toBe(true);
    }
    const relay = new SseRelay(false);
    relayAll(relay, [Buffer.from('data: {"content":"say data: [DONE]"}\n\n')]);
    expect(relay.sawDone).toBe(false);
  });

  it('accepts CRLF-framed events', () => {
    const relay = new SseRelay(false);
    const crlf = 'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n';
    expect(relayAll(relay, [Buffer.from(crlf)])).toBe(crlf);
    expect(relay.sawDone).toBe(true);
  });
});

describe('streamErrorEvent', () => {
  it('is one well-formed SSE event holding an OpenAI error body', () => {
    const ev = streamErrorEvent(Errors.streamInterrupted('upstream failed', 'stream_interrupted')).toString();
    expect(ev.startsWith('data: ')).toBe(true);
    expect(ev.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(ev.slice(6))).toEqual({
      error: { message: 'upstream failed', type: 'upstream_error', param: null, code: 'stream_interrupted' },
    });
  });
});
