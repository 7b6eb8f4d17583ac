// The OpenAI fake, checked with the official `openai` SDK talking to it directly: a fake the
// real SDK rejects would prove nothing about the proxy.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIProvider } from './openai.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
let client: OpenAI;
const TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

beforeAll(async () => {
  fake = await startOpenAIProvider({ name: 'oai' });
  client = new OpenAI({ baseURL: fake.url, apiKey: fake.credential, maxRetries: 0 });
});
afterAll(() => fake.close());

describe('OpenAI fake, driven by the openai SDK', () => {
  it('answers a chat with the system prompt, usage and finish reason', async () => {
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from oai: hi there [system: be brief]');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 8 });
  });

  it('streams deltas the SDK assembles, with a usage chunk when asked', async () => {
    const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'stream me' }], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Hello from oai: stream me');
    expect(final.usage?.completion_tokens).toBe(5);
  });

  it('calls tools, streaming included, and reads tool results', async () => {
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    const call = r.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    const streamed = await client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] }).finalChatCompletion();
    expect(streamed.choices[0]!.message.tool_calls![0]).toMatchObject({ id: call.id, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const after = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
      tools: [TOOL],
    });
    expect(after.choices[0]!.message.content).toBe('The tool said: sunny');
  });

  it('embeds, and answers errors as the SDK types them', async () => {
    const e = await client.embeddings.create({ model: 'e', input: ['a b', 'c'] });
    expect(e.data).toHaveLength(2);
    const limited = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');
    const denied = await new OpenAI({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] }).catch((x: unknown) => x);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
