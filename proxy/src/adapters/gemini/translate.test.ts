// The gemini adapter's pure translations, table-driven from recorded exchanges in testdata/:
// each `<case>.in.*` is what came in (an OpenAI request, a Gemini answer, stream or error), each
// `<case>.out.json` the expected translation, compared as JSON. UPDATE_GOLDEN=1 rewrites the
// outputs; review them as a diff.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UnsupportedRequest } from '../types.ts';
import { embeddingInputs, embeddingsToGemini } from './adapter.ts';
import { chatToGemini } from './request.ts';
import { embeddingsToOpenAI, errorToOpenAI, googleError, responseToOpenAI } from './response.ts';
import { GeminiStream } from './stream.ts';
import { imagesFromGemini, imagesToGemini } from './images.ts';
import { callId, signatureFromCallId } from './tool-ids.ts';

type Json = Record<string, unknown>;
const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const CREATED = 1700000000;

function cases(kind: string): Array<{ name: string; input: string }> {
  return readdirSync(join(DIR, kind))
    .filter((f) => f.includes('.in.'))
    .sort()
    .map((f) => ({ name: f.slice(0, f.indexOf('.in.')), input: readFileSync(join(DIR, kind, f), 'utf8') }));
}

function golden(kind: string, name: string, actual: unknown): void {
  const file = join(DIR, kind, `${name}.out.json`);
  if (UPDATE) writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
  expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
}

/** A request's translation, or the field and message of its refusal. */
function translateRequest(body: Json): unknown {
  try {
    return chatToGemini(body);
  } catch (e) {
    if (!(e instanceof UnsupportedRequest)) throw e;
    return { unsupported: e.field, message: e.message };
  }
}

/** A translated stream as the list of its events' data (JSON, or the [DONE] marker). */
function streamEvents(sse: string, wantsUsage: boolean): unknown[] {
  const s = new GeminiStream('chatcmpl-req-1', 'gemini-2.5-flash', CREATED, wantsUsage);
  const bytes = Buffer.from(sse);
  let out = '';
  // Seven-byte pieces: events and UTF-8 characters split across chunks.
  for (let i = 0; i < bytes.length; i += 7) out += s.push(bytes.subarray(i, i + 7))?.toString() ?? '';
  out += s.end()?.toString() ?? '';
  const events: unknown[] = out
    .split('\n\n')
    .filter(Boolean)
    .map((e) => (e === 'data: [DONE]' ? '[DONE]' : (JSON.parse(e.slice(6)) as unknown)));
  events.push({ complete: s.complete, usage: s.usage });
  return events;
}

describe('gemini adapter translations (testdata/)', () => {
  for (const c of cases('request')) {
    it(`request ${c.name}`, () => golden('request', c.name, translateRequest(JSON.parse(c.input) as Json)));
  }
  for (const c of cases('response')) {
    it(`response ${c.name}`, () => golden('response', c.name, responseToOpenAI(JSON.parse(c.input) as Json, 'gemini-2.5-flash', 'chatcmpl-req-1', CREATED)));
  }
  for (const c of cases('stream')) {
    it(`stream ${c.name}`, () => golden('stream', c.name, streamEvents(c.input, c.name === 'text')));
  }
  for (const c of cases('error')) {
    it(`error ${c.name}`, () => {
      const { status, body } = JSON.parse(c.input) as { status: number; body: Json };
      const raw = Buffer.from(JSON.stringify(body));
      golden('error', c.name, { openai: errorToOpenAI(status, raw), retryAfterMs: googleError(raw).retryDelayMs ?? null });
    });
  }
  for (const c of cases('embeddings')) {
    it(`embeddings ${c.name}`, () => {
      const { request, response } = JSON.parse(c.input) as { request: Json; response: Json };
      golden('embeddings', c.name, {
        upstream: embeddingsToGemini(request, String(request.model)),
        openai: embeddingsToOpenAI(response, String(request.model), embeddingInputs(request), request.encoding_format === 'base64'),
      });
    });
  }
  for (const c of cases('images')) {
    it(`images ${c.name}`, () => {
      const { request, response } = JSON.parse(c.input) as { request: Json; response: Json };
      let upstream: unknown;
      try {
        upstream = imagesToGemini(request);
      } catch (e) {
        if (!(e instanceof UnsupportedRequest)) throw e;
        return golden('images', c.name, { unsupported: e.field, message: e.message });
      }
      golden('images', c.name, { upstream, openai: imagesFromGemini(response, CREATED) });
    });
  }
});

describe('gemini tool call ids', () => {
  it('carry a thought signature through the client and back, base64 intact', () => {
    for (const sig of ['c2lnbmF0dXJl+/8=', 'YQ==', 'YWI=', 'YWJj']) expect(signatureFromCallId(callId(3, sig))).toBe(sig);
    expect(callId(3, undefined)).toBe('call_3');
    expect(signatureFromCallId('call_abc')).toBeUndefined();
    expect(callId(0, 'a+b/c=')).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
