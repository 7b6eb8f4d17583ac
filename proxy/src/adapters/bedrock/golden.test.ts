// Table-driven translation goldens: each testdata/<case>.in.json holds a client request (and,
// when the case reaches the provider, a recorded Bedrock answer: a JSON body, error or the
// events of a ConverseStream); testdata/<case>.out.json the upstream request the adapter built
// (signed with a fixed clock and static keys) and what the client gets. Review a behaviour
// change as a JSON diff; UPDATE_GOLDEN=1 rewrites the .out.json files.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UnsupportedRequest } from '../types.ts';
import { bedrock } from './adapter.ts';
import { backendIR, clientRequest, FIXED_NOW, frames, KEYS, type CaseIn } from './golden.test-support.ts';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));

async function run(c: CaseIn): Promise<Record<string, unknown>> {
  const adapter = bedrock({ now: () => FIXED_NOW, defaultCredentials: () => Promise.resolve(KEYS) });
  const req = clientRequest(c.request, c.operation);
  const backend = backendIR(c.backend);
  const out: Record<string, unknown> = {};
  try {
    const up = await adapter.toUpstream(req, backend, '', c.origin ?? 'https://bedrock-runtime.us-east-1.amazonaws.com');
    out.upstream = { path: up.path, headers: up.headers, body: JSON.parse(String(up.body)) };
  } catch (e) {
    if (!(e instanceof UnsupportedRequest)) throw e;
    out.refused = { field: e.field, message: e.message };
    return out;
  }
  const a = c.answer;
  if (!a) return out;
  const t = adapter.translator(req, backend);
  const mode = t.classify(a.status, a.headers ?? {});
  out.mode = mode;
  if (mode === 'error') {
    out.errorMessage = t.errorMessage(Buffer.from(JSON.stringify(a.body)));
  } else if (mode === 'body') {
    t.body(Buffer.from(JSON.stringify(a.body)));
    const client = JSON.parse(String(t.bodyEnd())) as unknown;
    // Asked after bodyEnd, as the proxy does: a held body is committed with its first bytes.
    out.status = t.status?.(a.status) ?? a.status;
    out.headers = t.headers(a.headers ?? {}, mode);
    out.client = client;
    out.usage = t.usage;
  } else {
    out.headers = t.headers(a.headers ?? {}, mode);
    // Fed 7 bytes at a time: messages split across network chunks, as they arrive.
    const bytes = frames(a.events);
    let sse = '';
    for (let i = 0; i < bytes.length; i += 7) sse += t.stream(bytes.subarray(i, i + 7))?.toString() ?? '';
    sse += t.streamRest()?.toString() ?? '';
    out.client = sse.split('\n\n').filter(Boolean).map((e) => (e === 'data: [DONE]' ? '[DONE]' : JSON.parse(e.slice('data: '.length))));
    out.complete = t.complete;
    out.usage = t.usage;
  }
  return out;
}

const cases = readdirSync(DIR).filter((f) => f.endsWith('.in.json')).map((f) => f.slice(0, -'.in.json'.length)).sort();

describe('bedrock translation goldens', () => {
  it.each(cases)('%s', async (name) => {
    const got = await run(JSON.parse(readFileSync(`${DIR}${name}.in.json`, 'utf8')) as CaseIn);
    const outFile = `${DIR}${name}.out.json`;
    const text = JSON.stringify(got, null, 2) + '\n';
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(outFile, text);
    expect(existsSync(outFile), `${name}.out.json is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(outFile, 'utf8')));
  });
});

describe('a corrupt event-stream message', () => {
  it('ends the translation where it is: what came before is relayed, nothing after, and the stream is not complete', async () => {
    const adapter = bedrock({ now: () => FIXED_NOW, defaultCredentials: () => Promise.resolve(KEYS) });
    const req = clientRequest({ model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'chat');
    const t = adapter.translator(req, backendIR({}));
    expect(t.classify(200, { 'content-type': 'application/vnd.amazon.eventstream' })).toBe('stream');
    const first = frames([{ type: 'messageStart', payload: { role: 'assistant' } }]);
    const second = Buffer.from(frames([{ type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'lost' } } }]));
    second[second.length - 6]! ^= 0xff; // a byte of the payload: the message CRC no longer matches
    const third = frames([{ type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'after' } } }, { type: 'messageStop', payload: { stopReason: 'end_turn' } }]);
    const out = [first, second, third].map((b) => t.stream(Buffer.from(b))?.toString() ?? '').join('');
    expect(out).toContain('"role":"assistant"');
    expect(out).not.toContain('lost');
    expect(out).not.toContain('after');
    expect(t.complete).toBe(false);
  });
});
