// Prompt and answer text in the logs: never, unless `--log-content` asks for it, and then masked
// (by the tenant's rules, else by every built-in detector) and cut to 4,096 characters. The
// client's answer is not changed by the content log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { waitFor } from '@jairouter/testkit/wait-for';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const PLAIN = 'sk-content-plain-0001';
const MASKED = 'sk-content-masked-0002';
const EMAIL = 'jane.doe@example.com';
const MARKER = 'zebra-quartz-lantern';
let backend: FakeBackend;
let quiet: InProcessProxy;
let verbose: InProcessProxy;

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'content' });
  const yaml = toYaml(
    modelRoute('chat', { models: ['chat'], backends: [{ name: 'content', url: backend.url }] }),
    tenantWithKeys('plain', { k: PLAIN }),
    tenantWithKeys('masked', { k: MASKED }, {
      masking: {
        requests: [{ name: 'marker', regex: 'zebra-[a-z]+-lantern', replacement: '[MARKER]' }],
        responses: ['email', { name: 'marker', regex: 'zebra-[a-z]+-lantern', replacement: '[MARKER]' }],
      },
    }),
  );
  quiet = await startInProcess(yaml);
  verbose = await startInProcess(yaml, { logContent: true });
});
afterAll(async () => {
  await quiet?.stop();
  await verbose?.stop();
  await backend?.close();
});

const contentLines = (p: InProcessProxy) => p.logs.filter((l) => l.msg === 'request content') as Array<Record<string, any>>;

/** The content lines once there are `n` (a request's line is written when the proxy finishes it, maybe after the client read its end). */
async function linesAtLeast(p: InProcessProxy, n: number): Promise<Array<Record<string, any>>> {
  await waitFor(`${n} content lines`, async () => contentLines(p).length >= n, 5_000);
  return contentLines(p);
}

async function streamText(p: InProcessProxy, key: string, content: string): Promise<string> {
  const stream = await p.client(key).chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content }] });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  return text;
}

describe('content in the logs', () => {
  it('without --log-content no log line holds prompt or answer text, JSON or streamed', async () => {
    const said = `the word is ${MARKER}`;
    const r = await quiet.client(PLAIN).chat.completions.create({ model: 'chat', messages: [{ role: 'system', content: `system ${MARKER}` }, { role: 'user', content: said }] });
    expect(r.choices[0]!.message.content).toContain(MARKER);
    expect(await streamText(quiet, PLAIN, said)).toContain(MARKER);
    // Both requests' lines are written.
    await waitFor('two request log lines', async () => quiet.logs.filter((l) => l.msg === 'request').length >= 2, 5_000);
    expect(JSON.stringify(quiet.logs)).not.toContain(MARKER);
    expect(contentLines(quiet)).toEqual([]);
  });

  it('with --log-content: one line per forwarded request with prompt and answer, masked with every built-in detector for a tenant without rules; the client\'s answer is unchanged', async () => {
    const said = `write to ${EMAIL} about ${MARKER}`;
    const before = contentLines(verbose).length;
    const json = await verbose.client(PLAIN).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: said }] });
    // The client got the answer as the backend wrote it: the content log only reads it.
    expect(json.choices[0]!.message.content).toBe(`Hello from content: you said "${said}"`);
    const streamed = await streamText(verbose, PLAIN, said);
    expect(streamed).toBe(json.choices[0]!.message.content);
    const [a, b] = (await linesAtLeast(verbose, before + 2)).slice(-2);
    for (const line of [a!, b!]) {
      expect(line).toMatchObject({ tenant: 'ai/plain', promptTruncated: false, completionTruncated: false });
      expect(line.prompt).toBe(`user: write to [MASKED:email] about ${MARKER}`);
      expect(line.completion).toBe(`Hello from content: you said "write to [MASKED:email] about ${MARKER}"`);
    }
    expect(a!.requestId).not.toBe(b!.requestId);
    expect(JSON.stringify(verbose.logs)).not.toContain(EMAIL);
  });

  it('a tenant\'s own rules mask its content line, on both sides', async () => {
    const said = `mail ${EMAIL}, code ${MARKER}`;
    const before = contentLines(verbose).length;
    const r = await verbose.client(MASKED).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: said }] });
    // The request went out with the marker masked (requests), the answer came back with the email masked too (responses).
    expect(r.choices[0]!.message.content).toBe(`Hello from content: you said "mail [MASKED:email], code [MARKER]"`);
    const line = (await linesAtLeast(verbose, before + 1)).at(-1)!;
    expect(line.tenant).toBe('ai/masked');
    // The prompt as sent upstream (masked by the tenant's request rules: the email is not among them).
    expect(line.prompt).toBe(`user: mail ${EMAIL}, code [MARKER]`);
    expect(line.completion).toBe(r.choices[0]!.message.content);
  });

  it('cuts prompt and answer at 4,096 characters, never through a match', async () => {
    // Unmasked, the first address would straddle the answer's cut (it starts at 4,086 after the
    // 30-character "Hello from content: you said \"") and the second the prompt's (at 4,083 after
    // "user: "): cut first and masked after, a piece such as "jane.doe@exam" would reach the log.
    const said = `${'a '.repeat(2028)}${EMAIL} ${EMAIL} ${'b '.repeat(3000)}`;
    const before = contentLines(verbose).length;
    await verbose.client(PLAIN).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: said }] });
    const line = (await linesAtLeast(verbose, before + 1)).at(-1)!;
    expect(line.prompt.length).toBe(4096);
    expect(line.promptTruncated).toBe(true);
    expect(line.prompt).toContain('[MASKED:');
    expect(line.completion).toContain('[MASKED:');
    expect(line.completion.length).toBe(4096);
    expect(line.completionTruncated).toBe(true);
    expect(JSON.stringify(line)).not.toMatch(/jane|doe@|example/);
  });
});
