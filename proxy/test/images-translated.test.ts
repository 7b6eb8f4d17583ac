// Image generation on providers whose image APIs are their own, driven by the official `openai`
// SDK's images.generate: Gemini's image models (generateContent with responseModalities IMAGE)
// and Amazon's image models on Bedrock (InvokeModel, SigV4-signed). The fakes are checked with
// @google/genai and the AWS SDK in their own tests.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBedrockProvider } from '@jairouter/testkit/providers/bedrock';
import { startGeminiProvider } from '@jairouter/testkit/providers/gemini';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-images-acme-0001';
let gemini: ProviderFake;
let bedrock: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  gemini = await startGeminiProvider({ name: 'gem-img' });
  bedrock = await startBedrockProvider({ name: 'br-img' });
  proxy = await startInProcess(toYaml(
    secret('cred-gem', { stringData: { key: gemini.credential } }),
    secret('cred-br', { stringData: { key: bedrock.credential } }),
    modelRoute('gemini-image', { models: ['nano-banana'], backends: [{ name: 'gem-img', adapter: 'gemini', url: gemini.url, model: 'gemini-2.5-flash-image', credentialsRef: { name: 'cred-gem', key: 'key' } }] }),
    modelRoute('nova-canvas', {
      models: ['nova-canvas'],
      backends: [{ name: 'br-img', adapter: 'bedrock', url: bedrock.url, model: 'amazon.nova-canvas-v1:0', options: { region: 'us-east-1' }, credentialsRef: { name: 'cred-br', key: 'key' } }],
    }),
    tenantWithKeys('acme', { k: KEY }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await gemini?.close();
  await bedrock?.close();
});

const client = () => proxy.client(KEY);

describe('images.generate on Gemini', () => {
  it('a base64 PNG from the image model, size as its aspect ratio, with token usage', async () => {
    const r = await client().images.generate({ model: 'nano-banana', prompt: 'a red fox', size: '1536x1024' });
    expect(r.data).toHaveLength(1);
    expect(r.data![0]!.b64_json).toMatch(/^iVBOR/);
    expect(r.usage).toMatchObject({ input_tokens: 3, output_tokens: 1290 });
    const sent = gemini.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash-image:generateContent');
    expect(sent.json).toEqual({ contents: [{ role: 'user', parts: [{ text: 'a red fox' }] }], generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:2', imageSize: '2K' } } });
  });

  it('what it cannot do is a 400 naming the field, nothing sent; a blocked image is 400 content_policy_violation', async () => {
    const before = gemini.requests.length;
    for (const [params, field] of [
      [{ n: 2 }, 'n'],
      [{ size: '1024x512' as '1024x1024' }, 'size'],
      [{ response_format: 'url' as const }, 'response_format'],
      [{ style: 'vivid' as const }, 'style'],
    ] as const) {
      const e = await client().images.generate({ model: 'nano-banana', prompt: 'x', ...params }).catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as Error).message).toContain(field);
    }
    expect(gemini.requests.length).toBe(before);
    const blocked = await client().images.generate({ model: 'nano-banana', prompt: 'BLOCKED thing' }).catch((x: unknown) => x);
    expect(blocked).toBeInstanceOf(OpenAI.BadRequestError);
    expect((blocked as InstanceType<typeof OpenAI.APIError>).code).toBe('content_policy_violation');
  });
});

describe('images.generate on Bedrock', () => {
  it('Nova Canvas: n images, size as width and height, quality hd as premium, signed with SigV4', async () => {
    const r = await client().images.generate({ model: 'nova-canvas', prompt: 'a red fox', n: 2, size: '1024x1024', quality: 'hd', response_format: 'b64_json' });
    expect(r.data!.map((d) => d.b64_json?.slice(0, 5))).toEqual(['iVBOR', 'iVBOR']);
    const sent = bedrock.requests.at(-1)!;
    expect(sent.path).toBe('/model/amazon.nova-canvas-v1%3A0/invoke');
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(sent.json).toEqual({ taskType: 'TEXT_IMAGE', textToImageParams: { text: 'a red fox' }, imageGenerationConfig: { numberOfImages: 2, width: 1024, height: 1024, quality: 'premium' } });
  });

  it('the content filter and an invalid size come back as 400s with Bedrock\'s reason', async () => {
    const blocked = await client().images.generate({ model: 'nova-canvas', prompt: 'BLOCKED' }).catch((x: unknown) => x);
    expect(blocked).toBeInstanceOf(OpenAI.BadRequestError);
    expect((blocked as Error).message).toContain('blocked by our content filters');
    const odd = await client().images.generate({ model: 'nova-canvas', prompt: 'x', size: '1000x1000' as '1024x1024' }).catch((x: unknown) => x);
    expect(odd).toBeInstanceOf(OpenAI.BadRequestError);
    expect((odd as Error).message).toContain('multiple of 16');
  });
});
