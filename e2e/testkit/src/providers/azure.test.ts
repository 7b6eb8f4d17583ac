// The Azure OpenAI fake, checked with the `openai` SDK's AzureOpenAI client talking to it
// directly (endpoint, apiVersion, deployment), and with the OpenAI client on the v1 API.
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureOpenAIProvider } from './azure.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
let client: AzureOpenAI;
const TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

beforeAll(async () => {
  fake = await startAzureOpenAIProvider({ name: 'az' });
  client = new AzureOpenAI({ endpoint: fake.url, apiKey: fake.credential, apiVersion: '2024-10-21', deployment: 'gpt4o-prod', maxRetries: 0 });
});
afterAll(() => fake.close());

describe('Azure OpenAI fake, driven by the AzureOpenAI client', () => {
  it('answers a chat at the deployment path with api-version and the api-key header', async () => {
    const r = await client.chat.completions.create({ model: 'ignored', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from az: hi there [system: be brief]');
    expect(r.model).toBe('gpt4o-prod');
    expect(r.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 8 });
    const seen = fake.requests.at(-1)!;
    expect(seen.path).toBe('/openai/deployments/gpt4o-prod/chat/completions');
    expect(seen.query.get('api-version')).toBe('2024-10-21');
    expect(seen.headers['api-key']).toBe(fake.credential);
  });

  it('streams with usage, calls tools and embeds', async () => {
    const stream = client.chat.completions.stream({ model: 'x', messages: [{ role: 'user', content: 'stream me' }], stream_options: { include_usage: true } });
    const firsts: unknown[] = [];
    stream.on('chunk', (c) => firsts.length === 0 && firsts.push(c));
    const final = await stream.finalChatCompletion();
    expect(firsts[0]).toMatchObject({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] });
    expect(final.choices[0]!.message.content).toBe('Hello from az: stream me');
    expect(final.usage?.completion_tokens).toBe(5);
    const tools = await client.chat.completions.stream({ model: 'x', messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] }).finalChatCompletion();
    expect(tools.choices[0]!.message.tool_calls![0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const e = await client.embeddings.create({ model: 'x', input: ['a b', 'c'] });
    expect(e.data).toHaveLength(2);
    expect(fake.requests.at(-1)!.path).toBe('/openai/deployments/gpt4o-prod/embeddings');
  });

  it('returns content-filter results and the content_filter finish reason', async () => {
    const r = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'CONTENT FILTER please' }] });
    expect(r.choices[0]!.finish_reason).toBe('content_filter');
    expect((r.choices[0] as unknown as { content_filter_results: { violence: { filtered: boolean } } }).content_filter_results.violence.filtered).toBe(true);
  });

  it('serves the v1 API with the model in the body', async () => {
    const v1 = new OpenAI({ baseURL: `${fake.url}/openai/v1`, apiKey: 'unused', defaultHeaders: { 'api-key': fake.credential }, maxRetries: 0 });
    const r = await v1.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.model).toBe('gpt-4o-mini');
  });

  it('answers errors as the SDK types them', async () => {
    const limited = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'ERROR 429' }] }).catch((x: unknown) => x);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const denied = await new AzureOpenAI({ endpoint: fake.url, apiKey: 'wrong', apiVersion: '2024-10-21', deployment: 'd', maxRetries: 0 })
      .chat.completions.create({ model: 'm', messages: [] }).catch((x: unknown) => x);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    const noVersion = await fetch(`${fake.url}/openai/deployments/d/chat/completions`, { method: 'POST', headers: { 'api-key': fake.credential }, body: '{}' });
    expect(noVersion.status).toBe(404);
  });

  it('serves the Responses API at /openai/responses (the deployment as the model) and on the v1 API: create, stream, chain, retrieve, delete', async () => {
    const az = new AzureOpenAI({ endpoint: fake.url, apiKey: fake.credential, apiVersion: '2025-04-01-preview', maxRetries: 0 });
    const r = await az.responses.create({ model: 'gpt4o-prod', input: 'hi there' });
    expect(r.output_text).toBe('Hello from az: hi there');
    expect(fake.requests.at(-1)!.path).toBe('/openai/responses');
    const next = await az.responses.create({ model: 'gpt4o-prod', input: 'again', previous_response_id: r.id });
    expect(next.output_text).toBe(`Hello from az: again [after ${r.id}]`);
    let text = '';
    for await (const e of await az.responses.create({ model: 'gpt4o-prod', input: 'stream me', stream: true })) if (e.type === 'response.output_text.delta') text += e.delta;
    expect(text).toBe('Hello from az: stream me');
    expect((await az.responses.retrieve(r.id)).id).toBe(r.id);
    await az.responses.delete(r.id);
    await expect(az.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const v1 = new OpenAI({ baseURL: `${fake.url}/openai/v1`, apiKey: fake.credential, maxRetries: 0 });
    expect((await v1.responses.create({ model: 'gpt4o-prod', input: 'v1' })).output_text).toBe('Hello from az: v1');
  });

  it('serves images and audio under a deployment, read by the AzureOpenAI client: generate, speech, transcription (multipart)', async () => {
    const img = await client.images.generate({ model: 'gpt4o-prod', prompt: 'a fox' });
    expect(img.data).toHaveLength(1);
    expect(fake.requests.at(-1)!.path).toBe('/openai/deployments/gpt4o-prod/images/generations');
    const audio = await client.audio.speech.create({ model: 'gpt4o-prod', voice: 'alloy', input: 'hi' });
    expect(Buffer.from(await audio.arrayBuffer()).toString()).toBe('ID3hi');
    const t = await client.audio.transcriptions.create({ model: 'gpt4o-prod', file: await toFile(Buffer.from('hello'), 'a.mp3') });
    expect(t.text).toBe('Transcript of a.mp3: hello');
    expect(fake.requests.at(-1)!.path).toBe('/openai/deployments/gpt4o-prod/audio/transcriptions');
  });
});

