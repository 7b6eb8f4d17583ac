// The Gemini fake, checked with the official `@google/genai` SDK talking to it directly: a
// fake the real SDK rejects would prove nothing about the proxy.
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type Content } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SIGNATURE, startGeminiProvider } from './gemini.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
let ai: GoogleGenAI;
const TOOLS = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } } } }] }];

beforeAll(async () => {
  fake = await startGeminiProvider({ name: 'gem' });
  // v1beta is what the proxy's gemini adapter calls by default (this SDK's default is v1).
  ai = new GoogleGenAI({ apiKey: fake.credential, apiVersion: 'v1beta', httpOptions: { baseUrl: fake.url } });
});
afterAll(() => fake.close());

describe('Gemini fake, driven by the @google/genai SDK', () => {
  it('answers generateContent with the system instruction, usage and finish reason', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-fake', contents: 'hi there', config: { systemInstruction: 'be brief' } });
    expect(r.text).toBe('Hello from gem: hi there [system: be brief]');
    expect(r.candidates![0]!.finishReason).toBe('STOP');
    expect(r.usageMetadata).toMatchObject({ promptTokenCount: 4, candidatesTokenCount: 8 });
    expect(fake.requests.at(-1)!.path).toBe('/v1beta/models/gemini-fake:generateContent');
    expect(fake.requests.at(-1)!.headers['x-goog-api-key']).toBe(fake.credential);
  });

  it('streams chunks the SDK reads, thoughts apart, the last with the finish reason and usage', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-fake', contents: 'stream me', config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } });
    let text = '';
    let thoughts = '';
    let last: Awaited<ReturnType<typeof ai.models.generateContent>> | undefined;
    for await (const c of stream) {
      for (const p of c.candidates?.[0]?.content?.parts ?? []) {
        if (p.thought) thoughts += p.text ?? '';
        else text += p.text ?? '';
      }
      last = c;
    }
    expect(text).toBe('Hello from gem: stream me');
    expect(thoughts).toBe('Thinking about stream me.');
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last?.usageMetadata).toMatchObject({ promptTokenCount: 2, candidatesTokenCount: 5, thoughtsTokenCount: 4 });
    expect(fake.requests.at(-1)!.query.get('alt')).toBe('sse');
  });

  it('calls functions with a thought signature, streaming included, and reads function responses', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-fake', contents: 'weather?', config: { tools: TOOLS } });
    expect(r.functionCalls).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    const callPart = r.candidates![0]!.content!.parts![0]!;
    expect(callPart.thoughtSignature).toBe(FAKE_SIGNATURE);
    let streamed: unknown;
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-fake', contents: 'weather?', config: { tools: TOOLS } })) streamed = c.functionCalls ?? streamed;
    expect(streamed).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    const history: Content[] = [
      { role: 'user', parts: [{ text: 'weather?' }] },
      { role: 'model', parts: [callPart] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: 'sunny' } } }] },
    ];
    const after = await ai.models.generateContent({ model: 'gemini-fake', contents: history, config: { tools: TOOLS } });
    expect(after.text).toBe('The tool said: sunny');
    const unsigned = await ai.models
      .generateContent({ model: 'gemini-fake', contents: [history[0]!, { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: {} } }] }, history[2]!], config: { tools: TOOLS } })
      .catch((e: unknown) => e);
    expect(unsigned).toBeInstanceOf(ApiError);
    expect((unsigned as ApiError).message).toContain('thought_signature');
    const forged = await ai.models
      .generateContent({ model: 'gemini-fake', contents: [history[0]!, { role: 'model', parts: [{ ...callPart, thoughtSignature: 'Zm9yZ2Vk' }] }, history[2]!], config: { tools: TOOLS } })
      .catch((e: unknown) => e);
    expect((forged as ApiError).status).toBe(400);
    const forced = await ai.models.generateContent({
      model: 'gemini-fake',
      contents: 'weather?',
      config: { tools: TOOLS, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } },
    });
    expect(forced.functionCalls).toBeUndefined();
  });

  it('generates an image through an image model\'s generateContent (responseModalities IMAGE); a blocked one has no content', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-2.5-flash-image', contents: 'a red fox', config: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9' } } });
    expect(r.candidates![0]!.content!.parts![0]!.inlineData).toMatchObject({ mimeType: 'image/png', data: expect.stringMatching(/^iVBOR/) });
    expect(r.data).toMatch(/^iVBOR/);
    expect(fake.requests.at(-1)!.path).toBe('/v1beta/models/gemini-2.5-flash-image:generateContent');
    const blocked = await ai.models.generateContent({ model: 'gemini-2.5-flash-image', contents: 'BLOCKED thing', config: { responseModalities: ['IMAGE'] } });
    expect(blocked.candidates![0]!.finishReason).toBe('IMAGE_SAFETY');
    expect(blocked.data).toBeUndefined();
    const bad = await ai.models.generateContent({ model: 'gemini-2.5-flash-image', contents: 'x', config: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '2:1' } } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
  });

  it('embeds through batchEmbedContents with the asked dimensions', async () => {
    const e = await ai.models.embedContent({ model: 'text-embedding-fake', contents: ['a b', 'c'], config: { outputDimensionality: 4 } });
    expect(e.embeddings).toHaveLength(2);
    expect(e.embeddings![0]!.values).toHaveLength(4);
    expect(fake.requests.at(-1)!.path).toBe('/v1beta/models/text-embedding-fake:batchEmbedContents');
  });

  it('answers errors as Google error bodies the SDK reads as ApiError', async () => {
    const limited = await ai.models.generateContent({ model: 'gemini-fake', contents: 'ERROR 429' }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(ApiError);
    expect((limited as ApiError).status).toBe(429);
    expect((limited as ApiError).message).toContain('RESOURCE_EXHAUSTED');
    const long = await ai.models.generateContent({ model: 'gemini-fake', contents: 'ERROR CONTEXT' }).catch((e: unknown) => e);
    expect((long as ApiError).status).toBe(400);
    expect((long as ApiError).message).toContain('input token count');
    const badKey = await new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: fake.url } }).models.generateContent({ model: 'gemini-fake', contents: 'hi' }).catch((e: unknown) => e);
    expect((badKey as ApiError).status).toBe(400);
    expect((badKey as ApiError).message).toContain('API_KEY_INVALID');
  });
});
