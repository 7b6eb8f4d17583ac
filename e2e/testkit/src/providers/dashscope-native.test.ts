// The DashScope native fake, called with plain HTTP (the DashScope SDK is not installed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHSCOPE_GENERATION_PATH, startDashScopeNativeProvider } from './dashscope-native.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
beforeAll(async () => {
  fake = await startDashScopeNativeProvider();
});
afterAll(() => fake.close());

const call = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${fake.url}${DASHSCOPE_GENERATION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fake.credential}`, ...headers }, body: JSON.stringify(body) });

describe('dashscope native fake', () => {
  it('answers output.choices[].message and usage', async () => {
    const r = (await (await call({ model: 'qwen-plus', input: { messages: [{ role: 'user', content: 'hi' }] }, parameters: { result_format: 'message' } })).json()) as { output: { choices: Array<{ message: { content: string } }> }; usage: { input_tokens: number } };
    expect(r.output.choices[0]!.message.content).toBe('Hello from dashscope-native-fake: hi');
    expect(r.usage.input_tokens).toBe(1);
  });

  it('streams result events with X-DashScope-SSE, finish_reason "null" until the last', async () => {
    const r = await call({ model: 'qwen-plus', input: { messages: [{ role: 'user', content: 'stream me' }] }, parameters: { result_format: 'message', incremental_output: true } }, { 'x-dashscope-sse': 'enable' });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const datas = (await r.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data:'))!.slice(5)) as { output: { choices: Array<{ message: { content: string }; finish_reason: string }> } });
    expect(datas.map((d) => d.output.choices[0]!.message.content).join('')).toBe('Hello from dashscope-native-fake: stream me');
    expect(datas.map((d) => d.output.choices[0]!.finish_reason)).toEqual([...datas.slice(1).map(() => 'null'), 'stop']);
  });

  it('refuses a wrong key with 401 InvalidApiKey and answers scenario errors with their status', async () => {
    const bad = await call({ model: 'm', input: { messages: [] } }, { authorization: 'Bearer wrong' });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { code: string }).code).toBe('InvalidApiKey');
    expect((await call({ model: 'm', input: { messages: [{ role: 'user', content: 'ERROR 429' }] } })).status).toBe(429);
  });
});
