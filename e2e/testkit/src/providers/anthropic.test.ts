// The Anthropic fake, checked with the official `@anthropic-ai/sdk` talking to it directly: a
// fake the real SDK rejects would prove nothing about the proxy.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicProvider } from './anthropic.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
let client: Anthropic;
const TOOL = { name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

beforeAll(async () => {
  fake = await startAnthropicProvider({ name: 'ant' });
  client = new Anthropic({ baseURL: fake.url, apiKey: fake.credential, maxRetries: 0 });
});
afterAll(() => fake.close());

describe('Anthropic fake, driven by @anthropic-ai/sdk', () => {
  it('answers a message with the system prompt, usage and stop reason', async () => {
    const r = await client.messages.create({ model: 'claude-x', max_tokens: 100, system: 'be brief', messages: [{ role: 'user', content: 'hi there' }] });
    expect(r.content).toEqual([{ type: 'text', text: 'Hello from ant: hi there [system: be brief]' }]);
    expect(r.stop_reason).toBe('end_turn');
    expect(r.usage).toMatchObject({ input_tokens: 4, output_tokens: 8 });
    const cut = await client.messages.create({ model: 'claude-x', max_tokens: 100, stop_sequences: ['from'], messages: [{ role: 'user', content: 'hi' }] });
    expect(cut).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'from', content: [{ type: 'text', text: 'Hello ' }] });
  });

  it('streams events that messages.stream() assembles, thinking included', async () => {
    const stream = client.messages.stream({ model: 'claude-x', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'stream me' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: 'Thinking about stream me.' });
    expect(final.content[1]).toMatchObject({ type: 'text', text: 'Hello from ant: stream me' });
    expect(texts.length).toBeGreaterThan(2);
    expect(final.usage.output_tokens).toBe(5);
  });

  it('uses tools, streaming included (input_json_delta), and reads tool results', async () => {
    const r = await client.messages.create({ model: 'claude-x', max_tokens: 100, tools: [TOOL], messages: [{ role: 'user', content: 'weather?' }] });
    expect(r.stop_reason).toBe('tool_use');
    const use = r.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    const streamed = await client.messages.stream({ model: 'claude-x', max_tokens: 100, tools: [TOOL], messages: [{ role: 'user', content: 'weather?' }] }).finalMessage();
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    if (use.type !== 'tool_use') return;
    const after = await client.messages.create({
      model: 'claude-x', max_tokens: 100, tools: [TOOL],
      messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: [use] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(after.content).toEqual([{ type: 'text', text: 'The tool said: sunny' }]);
  });

  it('answers errors as the SDK types them: 401, 404, 429 with retry-after, 529 overloaded', async () => {
    const ask = (content: string, c = client) => c.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content }] }).catch((x: unknown) => x);
    expect(await ask('hi', new Anthropic({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 }))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(await ask('ERROR 404')).toBeInstanceOf(Anthropic.NotFoundError);
    const limited = await ask('ERROR 429');
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('7');
    const overloaded = (await ask('ERROR 529')) as InstanceType<typeof Anthropic.APIError>;
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded.status).toBe(529);
    expect((overloaded.error as { error?: { type?: string } }).error?.type).toBe('overloaded_error');
    const long = (await ask('ERROR CONTEXT')) as InstanceType<typeof Anthropic.APIError>;
    expect(long).toBeInstanceOf(Anthropic.BadRequestError);
    expect(long.message).toContain('prompt is too long');
  });

  it('counts tokens', async () => {
    const r = await client.messages.countTokens({ model: 'claude-x', system: 'be brief', messages: [{ role: 'user', content: 'hi there' }] });
    expect(r.input_tokens).toBe(4);
  });
});
