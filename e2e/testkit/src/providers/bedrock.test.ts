// The Bedrock fake, checked with the official @aws-sdk/client-bedrock-runtime talking to it
// directly (SigV4 signing, event-stream decoding, typed errors): a fake the real SDK rejects
// would prove nothing about the proxy.
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, ThrottlingException, type ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_REGION, startBedrockProvider, type BedrockFake } from './bedrock.ts';

let fake: BedrockFake;
const MODEL = 'us.anthropic.claude-sonnet-4-20250514-v1:0';

// The SDK's default handler speaks HTTP/2 (for bidirectional streams); the fake, like Bedrock
// for these operations, also speaks HTTP/1.1.
const client = (secretAccessKey: string = BEDROCK_TEST_CREDENTIALS.secretAccessKey) =>
  new BedrockRuntimeClient({
    endpoint: fake.url,
    region: BEDROCK_TEST_REGION,
    credentials: { accessKeyId: BEDROCK_TEST_CREDENTIALS.accessKeyId, secretAccessKey },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
const user = (text: string) => [{ role: 'user' as const, content: [{ text }] }];

beforeAll(async () => {
  fake = await startBedrockProvider({ name: 'br' });
});
afterAll(() => fake.close());

describe('Bedrock fake, driven by @aws-sdk/client-bedrock-runtime', () => {
  it('Converse: text, system prompt, usage and stop reason, for a model id with a colon', async () => {
    const r = await client().send(new ConverseCommand({ modelId: MODEL, system: [{ text: 'be brief' }], messages: user('hi there') }));
    expect(r.output?.message?.content?.[0]?.text).toBe('Hello from br: hi there [system: be brief]');
    expect(r.stopReason).toBe('end_turn');
    expect(r.usage).toMatchObject({ inputTokens: 4, outputTokens: 8 });
    expect(fake.requests.at(-1)!.path).toBe('/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse');
  });

  it('Converse: a tool call, then its result', async () => {
    const toolConfig = { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }] };
    const r = await client().send(new ConverseCommand({ modelId: MODEL, messages: user('weather?'), toolConfig }));
    expect(r.stopReason).toBe('tool_use');
    const tu = r.output!.message!.content![0]!.toolUse!;
    expect(tu).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    const after = await client().send(new ConverseCommand({
      modelId: MODEL,
      toolConfig,
      messages: [...user('weather?'), { role: 'assistant', content: [{ toolUse: tu }] }, { role: 'user', content: [{ toolResult: { toolUseId: tu.toolUseId!, content: [{ text: 'sunny' }] } }] }],
    }));
    expect(after.output?.message?.content?.[0]?.text).toBe('The tool said: sunny');
  });

  it('ConverseStream: the SDK decodes every event of the event stream (frames split across writes)', async () => {
    const r = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: user('stream me'), additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } } }));
    const kinds: string[] = [];
    let text = '';
    let reasoning = '';
    let usage: unknown;
    for await (const e of r.stream as AsyncIterable<ConverseStreamOutput>) {
      kinds.push(Object.keys(e).find((k) => (e as unknown as Record<string, unknown>)[k] !== undefined)!);
      text += e.contentBlockDelta?.delta?.text ?? '';
      reasoning += e.contentBlockDelta?.delta?.reasoningContent?.text ?? '';
      if (e.metadata) usage = e.metadata.usage;
    }
    expect(text).toBe('Hello from br: stream me');
    expect(reasoning).toBe('Thinking about stream me.');
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-2)).toEqual(['messageStop', 'metadata']);
    expect(usage).toMatchObject({ inputTokens: 2, outputTokens: 5 });
  });

  it('ConverseStream: an exception message mid-stream reaches the SDK as a typed error', async () => {
    const r = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: user('EXCEPTION MID-STREAM now please') }));
    const got = await (async () => {
      for await (const _ of r.stream as AsyncIterable<ConverseStreamOutput>);
    })().catch((e: unknown) => e);
    expect((got as Error).name).toBe('ModelStreamErrorException');
  });

  it('InvokeModel: Titan and Cohere embeddings', async () => {
    const titan = await client().send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', contentType: 'application/json', body: JSON.stringify({ inputText: 'two words', dimensions: 4 }) }));
    expect(JSON.parse(new TextDecoder().decode(titan.body))).toMatchObject({ inputTextTokenCount: 2, embedding: expect.any(Array) });
    const cohere = await client().send(new InvokeModelCommand({ modelId: 'cohere.embed-english-v3', body: JSON.stringify({ texts: ['one', 'two words'], input_type: 'search_document' }) }));
    const j = JSON.parse(new TextDecoder().decode(cohere.body)) as { embeddings: number[][] };
    expect(j.embeddings).toHaveLength(2);
  });

  it('InvokeModel: Cohere Rerank, ranked best first, cut at top_n', async () => {
    const r = await client().send(new InvokeModelCommand({ modelId: 'cohere.rerank-v3-5:0', body: JSON.stringify({ query: 'capital of France', documents: ['Berlin is in Germany', 'Paris is the capital of France', 'cats'], top_n: 2, api_version: 2 }) }));
    const j = JSON.parse(new TextDecoder().decode(r.body)) as { results: { index: number; relevance_score: number }[] };
    expect(j.results.map((x) => x.index)).toEqual([1, 0]);
    expect(j.results[0]!.relevance_score).toBeGreaterThan(j.results[1]!.relevance_score);
    const bad = await client().send(new InvokeModelCommand({ modelId: 'cohere.rerank-v3-5:0', body: JSON.stringify({ query: 'q', documents: ['a'] }) })).catch((e: unknown) => e);
    expect((bad as Error).name).toBe('ValidationException');
  });

  it('InvokeModel: Titan Image Generator and Nova Canvas make TEXT_IMAGE images; the content filter is a ValidationException', async () => {
    const body = (text: string, config: Record<string, unknown> = {}) => JSON.stringify({ taskType: 'TEXT_IMAGE', textToImageParams: { text }, imageGenerationConfig: { numberOfImages: 2, width: 1024, height: 1024, ...config } });
    for (const modelId of ['amazon.titan-image-generator-v2:0', 'amazon.nova-canvas-v1:0']) {
      const r = await client().send(new InvokeModelCommand({ modelId, body: body('a red fox') }));
      const j = JSON.parse(new TextDecoder().decode(r.body)) as { images: string[] };
      expect(j.images).toHaveLength(2);
      expect(j.images[0]).toMatch(/^iVBOR/);
    }
    const blocked = await client().send(new InvokeModelCommand({ modelId: 'amazon.nova-canvas-v1:0', body: body('BLOCKED') })).catch((e: unknown) => e);
    expect((blocked as Error).name).toBe('ValidationException');
    const odd = await client().send(new InvokeModelCommand({ modelId: 'amazon.nova-canvas-v1:0', body: body('x', { width: 1000 }) })).catch((e: unknown) => e);
    expect((odd as Error).name).toBe('ValidationException');
  });

  it('errors come typed by x-amzn-errortype: throttling is a ThrottlingException', async () => {
    const e = await client().send(new ConverseCommand({ modelId: MODEL, messages: user('ERROR 429') })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ThrottlingException);
    expect((e as ThrottlingException).$metadata.httpStatusCode).toBe(429);
    expect((e as Error).message).toBe('rate limited (scenario)');
  });

  it('refuses a request signed with the wrong secret key (InvalidSignatureException, 403)', async () => {
    const e = await client('not-the-secret').send(new ConverseCommand({ modelId: MODEL, messages: user('hi') })).catch((x: unknown) => x);
    expect((e as Error).name).toBe('InvalidSignatureException');
    expect((e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(403);
  });

  it('accepts a Bedrock API key as a Bearer token and refuses another', async () => {
    const { BEDROCK_TEST_API_KEY } = await import('./bedrock.ts');
    const post = (key: string) => fetch(`${fake.url}/model/${encodeURIComponent(MODEL)}/converse`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages: user('hi') }) });
    const ok = await post(BEDROCK_TEST_API_KEY);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { stopReason: string }).stopReason).toBe('end_turn');
    const bad = await post('ABSK-wrong');
    expect(bad.status).toBe(403);
    expect(bad.headers.get('x-amzn-errortype')).toMatch(/^UnrecognizedClientException/);
  });
});
