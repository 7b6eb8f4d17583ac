// Golden tests of the Anthropic ingress translation: testdata/<kind>/<case>.in.* is what an
// Anthropic client sent (request) or what a backend translator gave in OpenAI's form (response,
// stream); <case>.out.* the expected translation. UPDATE_GOLDEN=1 rewrites the .out files.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anthropicToOpenAI } from './request.ts';
import { completionToMessage } from './response.ts';
import { OpenAIToAnthropicStream } from './stream.ts';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

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

describe('anthropic ingress translation goldens', () => {
  it.each(cases('request', 'json'))('request %s: Messages -> OpenAI chat', (name) => {
    golden('request', name, 'json', json(anthropicToOpenAI(JSON.parse(read('request', name, 'json')) as Record<string, unknown>)));
  });

  it.each(cases('response', 'json'))('response %s: chat.completion -> message', (name) => {
    golden('response', name, 'json', json(completionToMessage(JSON.parse(read('response', name, 'json')) as Record<string, unknown>, 'claude-sonnet-4-5')));
  });

  it.each(cases('stream', 'sse'))('stream %s: chunks -> Messages events, whatever the chunking', (name) => {
    const input = Buffer.from(read('stream', name, 'sse'));
    const run = (size: number) => {
      const s = new OpenAIToAnthropicStream('claude-sonnet-4-5');
      let out = '';
      for (let i = 0; i < input.length; i += size) out += s.push(input.subarray(i, i + size), null)?.toString() ?? '';
      out += s.rest(null, null)?.toString() ?? '';
      return { out, complete: s.complete };
    };
    const whole = run(input.length);
    expect(run(11)).toEqual(whole);
    expect(whole.complete).toBe(true);
    golden('stream', name, 'sse', whole.out);
  });
});
