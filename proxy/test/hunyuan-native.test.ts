// Hunyuan's native API (options.api: native) through the proxy with the official openai SDK:
// the proxy signs ChatCompletions with TC3-HMAC-SHA256 and the fake checks the signature with
// its own implementation; answers, streams and tool calls come back in OpenAI's shape, and a
// signature the provider refuses (Response.Error with HTTP 200) is the gateway's credential
// failing: 502 upstream_auth_failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { HUNYUAN_TEST_KEY, startHunyuanNativeProvider } from '@jairouter/testkit/providers/hunyuan-native';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-hunyuan-native-0123456789';
const WRONG_KEY = 'not-the-secret-key';
let fake: ProviderFake;
let proxy: InProcessProxy;
let client: OpenAI;

const TOOL = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

beforeAll(async () => {
  fake = await startHunyuanNativeProvider({ name: 'hunyuan' });
  proxy = await startInProcess(toYaml(
    tenantWithKeys('t', { k: KEY }),
    secret('good', { stringData: { key: fake.credential } }),
    secret('bad', { stringData: { key: JSON.stringify({ ...HUNYUAN_TEST_KEY, secretKey: WRONG_KEY }) } }),
    modelRoute('hy', { models: ['hy'], backends: [{ name: 'hy', adapter: 'hunyuan', url: fake.url, model: 'hunyuan-turbos-latest', credentialsRef: { name: 'good', key: 'key' }, options: { api: 'native', region: 'ap-guangzhou' } }], retry: { attempts: 0 } }),
    modelRoute('hy-bad', { models: ['hy-bad'], backends: [{ name: 'hy', adapter: 'hunyuan', url: fake.url, credentialsRef: { name: 'bad', key: 'key' }, options: { api: 'native' } }], retry: { attempts: 0 } }),
  ));
  client = proxy.client(KEY);
});
afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
});

describe('hunyuan native API through the proxy', () => {
  it('chat: a signed ChatCompletions call, the answer and usage in OpenAI shape', async () => {
    const r = await client.chat.completions.create({ model: 'hy', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from hunyuan: hi there [system: be brief]');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 4 });
    const sent = fake.requests.at(-1)!;
    expect(sent.headers['x-tc-action']).toBe('ChatCompletions');
    expect(sent.headers['x-tc-region']).toBe('ap-guangzhou');
    expect(sent.json).toMatchObject({ Model: 'hunyuan-turbos-latest', Stream: false });
  });

  it('stream: content deltas, finish_reason and the usage chunk', async () => {
    const stream = client.chat.completions.stream({ model: 'hy', messages: [{ role: 'user', content: 'stream me' }], stream_options: { include_usage: true } });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    const done = await stream.finalChatCompletion();
    expect(text).toBe('Hello from hunyuan: stream me');
    expect(done.choices[0]!.finish_reason).toBe('stop');
    expect(done.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
  });

  it('tool call: tools sent as Tools, the call back as tool_calls, streamed and not', async () => {
    const r = await client.chat.completions.create({ model: 'hy', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(r.choices[0]!.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect((fake.requests.at(-1)!.json as { Tools: unknown[] }).Tools).toEqual([{ Type: 'function', Function: { Name: 'get_weather', Description: 'Weather in a city', Parameters: JSON.stringify(TOOL.function.parameters) } }]);
    const stream = client.chat.completions.stream({ model: 'hy', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    const done = await stream.finalChatCompletion();
    expect(done.choices[0]!.finish_reason).toBe('tool_calls');
    expect(done.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const id = done.choices[0]!.message.tool_calls![0]!.id;
    const after = await client.chat.completions.create({
      model: 'hy',
      messages: [{ role: 'user', content: 'weather?' }, done.choices[0]!.message, { role: 'tool', tool_call_id: id, content: 'sunny' }],
      tools: [TOOL],
    });
    expect(after.choices[0]!.message.content).toBe('The tool said: sunny');
  });

  it('a signature the provider refuses is answered 502 upstream_auth_failed, without the secret', async () => {
    const e = await client.chat.completions.create({ model: 'hy-bad', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((e as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_auth_failed');
    expect((e as Error).message).toContain('AuthFailure.SignatureFailure');
    expect((e as Error).message).not.toContain(WRONG_KEY);
  });

  it('a rate limit in Response.Error is 429, and a field ChatCompletions lacks is 400 naming it', async () => {
    const limited = await client.chat.completions.create({ model: 'hy', messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect((limited as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    const before = fake.requests.length;
    const e = await client.chat.completions.create({ model: 'hy', messages: [{ role: 'user', content: 'hi' }], stop: ['x'] }).catch((x: unknown) => x);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((e as Error).message).toContain('stop: the hunyuan adapter (native API)');
    expect(fake.requests.length).toBe(before);
  });
});
