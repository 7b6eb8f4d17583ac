// Golden tests of the Cohere translation, both directions of the adapter: each
// testdata/<kind>/<case>.in.* is a recorded client request or provider answer, and
// <case>.out.* beside it the expected translation. UPDATE_GOLDEN=1 rewrites the .out files;
// review the diff.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openAIToCohere, openAIToCohereEmbed } from './request.ts';
import { chatToOpenAI, embedToOpenAI, errorToOpenAI } from './response.ts';
import { CohereStream } from './stream.ts';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const CREATED = 1700000000;
const MODEL = 'command-a-03-2025';

function cases(kind: string, ext: string): string[] {
  return readdirSync(DIR + kind).filter((f) => f.endsWith(`.in.${ext}`)).map((f) => f.slice(0, -`.in.${ext}`.length)).sort();
}

function golden(kind: string, name: string, ext: string, actual: string): void {
  const path = `${DIR}${kind}/${name}.out.${ext}`;
  if (UPDATE || !existsSync(path)) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
const read = (kind: string, name: string, ext: string) => readFileSync(`${DIR}${kind}/${name}.in.${ext}`, 'utf8');

describe('cohere translation goldens', () => {
  it.each(cases('request', 'json'))('request %s: OpenAI chat -> v2 chat', (name) => {
    const body = JSON.parse(read('request', name, 'json')) as Record<string, unknown>;
    golden('request', name, 'json', json(openAIToCohere(body, MODEL, body.stream === true)));
  });

  it.each(cases('response', 'json'))('response %s: v2 chat response -> chat.completion', (name) => {
    golden('response', name, 'json', json(chatToOpenAI(JSON.parse(read('response', name, 'json')) as Record<string, unknown>, MODEL, CREATED)));
  });

  it.each(cases('error', 'json'))('error %s: Cohere error -> OpenAI error and status', (name) => {
    const { status, body } = JSON.parse(read('error', name, 'json')) as { status: number; body: unknown };
    golden('error', name, 'json', json(errorToOpenAI(status, Buffer.from(JSON.stringify(body)))));
  });

  it.each(cases('embed', 'json'))('embed %s: OpenAI embeddings <-> v2 embed', (name) => {
    const { request, response } = JSON.parse(read('embed', name, 'json')) as { request: Record<string, unknown>; response: Record<string, unknown> };
    golden('embed', name, 'json', json({ upstream: openAIToCohereEmbed(request, 'embed-v4.0'), client: embedToOpenAI(response, 'embed-v4.0', request.encoding_format) }));
  });

  it.each(cases('stream', 'sse'))('stream %s: v2 events -> chunks, whatever the chunking', (name) => {
    const input = Buffer.from(read('stream', name, 'sse'));
    const run = (size: number) => {
      const s = new CohereStream(true, CREATED, MODEL);
      let out = '';
      for (let i = 0; i < input.length; i += size) out += s.push(input.subarray(i, i + size))?.toString() ?? '';
      out += s.rest()?.toString() ?? '';
      return { out, complete: s.complete, usage: s.usage, error: s.errorMessage };
    };
    const whole = run(input.length);
    expect(run(7)).toEqual(whole);
    golden('stream', name, 'sse', whole.out + `# complete=${whole.complete} usage=${JSON.stringify(whole.usage)} error=${JSON.stringify(whole.error)}\n`);
  });
});
