// POST /v1/moderations, /v1/images/generations and /v1/audio/speech through the proxy, driven by
// the official `openai` SDK (moderations.create, images.generate, audio.speech.create): routed by
// model, passed through to the
// backends whose adapter serves them (the model rewritten), refused with a 400 naming the
// operation elsewhere, with masking, usage and the gen_ai metrics of the other operations.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startAzureOpenAIProvider } from '@jairouter/testkit/providers/azure';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { PROVIDER_REF, modelRoute, providerSecret, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-modimg-tenant-0001';
const MASKED = 'sk-modimg-masked-0002';
const RESP_MASKED = 'sk-modimg-respmasked-0003';
const EMAIL = 'jane.doe@example.com';

let upstream: FakeBackend;
let azure: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  upstream = await startFakeOpenAI({ name: 'oai' });
  azure = await startAzureOpenAIProvider({ name: 'az-media' });
  proxy = await startInProcess(toYaml(
    providerSecret(),
    modelRoute('moderation', { models: ['omni-moderation-latest'], backends: [{ name: 'oai', adapter: 'openai', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('transcribe', { models: ['gpt-4o-transcribe'], backends: [{ name: 'oai', adapter: 'openai', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    secret('cred-az', { stringData: { key: azure.credential } }),
    modelRoute('azure-media', {
      models: ['az-media'],
      backends: [{ name: 'az', adapter: 'azure-openai', url: azure.url, model: 'media-deploy', options: { apiVersion: '2024-10-21' }, credentialsRef: { name: 'cred-az', key: 'key' } }],
    }),
    modelRoute('ollama-chat', { models: ['llama-ollama'], backends: [{ name: 'ollama', adapter: 'ollama', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('whisper', { models: ['whisper'], backends: [{ name: 'vllm-whisper', adapter: 'vllm', url: upstream.url, model: 'openai/whisper-large-v3', credentialsRef: PROVIDER_REF }] }),
    modelRoute('speech', { models: ['gpt-4o-mini-tts'], backends: [{ name: 'oai', adapter: 'openai', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('local-speech', { models: ['local-tts'], backends: [{ name: 'localai-tts', adapter: 'localai', url: upstream.url, model: 'piper', credentialsRef: PROVIDER_REF }] }),
    modelRoute('images', { models: ['gpt-image-1', 'dall-e-3'], backends: [{ name: 'oai', adapter: 'openai', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('local-images', { models: ['sd-turbo'], backends: [{ name: 'localai', adapter: 'localai', url: upstream.url, model: 'stablediffusion', credentialsRef: PROVIDER_REF }] }),
    modelRoute('vllm-chat', { models: ['llama'], backends: [{ name: 'vllm', adapter: 'vllm', url: upstream.url, credentialsRef: PROVIDER_REF }] }),
    tenantWithKeys('acme', { k: KEY }),
    tenantWithKeys('masked', { k: MASKED }, { masking: { requests: ['email'], responses: ['email'] } }),
    tenantWithKeys('resp-masked', { k: RESP_MASKED }, { masking: { responses: ['email'] } }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  await azure?.close();
});

const client = (key = KEY): OpenAI => proxy.client(key);

describe('moderations', () => {
  it('openai SDK moderations.create: passed through to an openai backend, one result per input', async () => {
    const r = await client().moderations.create({ model: 'omni-moderation-latest', input: ['a calm day', 'something VIOLENT'] });
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    const sent = upstream.inferenceRequests().at(-1)!;
    expect(sent.path).toBe('/v1/moderations');
    expect(sent.body).toEqual({ model: 'omni-moderation-latest', input: ['a calm day', 'something VIOLENT'] });
  });

  it('a route whose backends do not moderate (vllm) answers 400 naming the operation; nothing is sent', async () => {
    const before = upstream.inferenceRequests().length;
    const e = await client().moderations.create({ model: 'llama', input: 'x' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('no backend of route ai/vllm-chat supports moderations');
    expect(upstream.inferenceRequests().length).toBe(before);
  });

  it('masking: text inputs and multimodal text parts are masked before the backend sees them', async () => {
    await client(MASKED).moderations.create({ model: 'omni-moderation-latest', input: [{ type: 'text', text: `mail ${EMAIL}` }] });
    const sent = JSON.stringify(upstream.inferenceRequests().at(-1)!.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent).toContain('[MASKED:email]');
  });

  it('no input is a 400 naming it', async () => {
    const res = await proxy.post('/v1/moderations', KEY, { model: 'omni-moderation-latest', input: [] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('input');
  });
});

describe('image generation', () => {
  it('openai SDK images.generate: passed through, usage counted as input and output tokens', async () => {
    const r = await client().images.generate({ model: 'gpt-image-1', prompt: 'a red fox', n: 2 });
    expect(r.data).toHaveLength(2);
    expect(upstream.inferenceRequests().at(-1)!.path).toBe('/v1/images/generations');
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_operation_name="image_generation"[^}]*gen_ai_token_type="output"[^}]*\} 544/);
  });

  it('to a LocalAI backend, with the backend\'s model', async () => {
    const r = await client().images.generate({ model: 'sd-turbo', prompt: 'a red fox' });
    expect(r.data).toHaveLength(1);
    expect(upstream.inferenceRequests().at(-1)!.body).toMatchObject({ model: 'stablediffusion', prompt: 'a red fox' });
  });

  it('masking: the prompt on the way in, the revised prompt on the way out', async () => {
    const r = await client(MASKED).images.generate({ model: 'dall-e-3', prompt: `a letter to ${EMAIL}` });
    expect(JSON.stringify(upstream.inferenceRequests().at(-1)!.body)).not.toContain(EMAIL);
    expect(r.data![0]!.revised_prompt).toBe('A picture of a letter to [MASKED:email]');
  });

  it('a missing prompt is a 400 naming it; a route without image generation names the operation', async () => {
    for (const [body, param] of [[{ model: 'gpt-image-1' }, 'prompt']] as const) {
      const res = await proxy.post('/v1/images/generations', KEY, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
    const e = await client().images.generate({ model: 'llama', prompt: 'x' }).catch((x: unknown) => x);
    expect((e as Error).message).toContain('no backend of route ai/vllm-chat supports image generation');
  });
});

describe('speech', () => {
  it('openai SDK audio.speech.create: the audio is streamed back as the backend writes it, content type kept', async () => {
    const r = await client().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'hello there' });
    expect(r.headers.get('content-type')).toBe('audio/mpeg');
    expect(r.headers.get('x-jairouter-backend')).toBe('oai');
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe('ID3hello there');
    expect(upstream.inferenceRequests().at(-1)!.path).toBe('/v1/audio/speech');
  });

  it('to a LocalAI backend with its model; masking masks the text to be spoken', async () => {
    const r = await client(MASKED).audio.speech.create({ model: 'local-tts', voice: 'alloy', input: `write to ${EMAIL}`, response_format: 'wav' });
    const audio = Buffer.from(await r.arrayBuffer());
    expect(audio.subarray(0, 4).toString()).toBe('RIFF');
    expect(audio.toString()).not.toContain(EMAIL);
    expect(upstream.inferenceRequests().at(-1)!.body).toMatchObject({ model: 'piper', input: 'write to [MASKED:email]' });
  });

  it('an empty input is a 400 naming it; a route without speech names the operation', async () => {
    for (const [body, param] of [[{ model: 'gpt-4o-mini-tts', voice: 'alloy', input: '' }, 'input']] as const) {
      const res = await proxy.post('/v1/audio/speech', KEY, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
    const e = await client().audio.speech.create({ model: 'llama', voice: 'alloy', input: 'x' }).catch((x: unknown) => x);
    expect((e as Error).message).toContain('no backend of route ai/vllm-chat supports speech');
  });
});

describe('uploads (multipart/form-data): transcriptions, translations, image edits', () => {
  it('audio.transcriptions.create to an openai backend: the file and fields arrive intact, the answer comes back, usage counted', async () => {
    const audio = Buffer.concat([Buffer.from('ID3'), Buffer.from([0, 255, 128, 10, 13]), Buffer.from('hello there')]);
    const t = await client().audio.transcriptions.create({ file: await toFile(audio, 'clip.mp3', { type: 'audio/mpeg' }), model: 'gpt-4o-transcribe', language: 'en' });
    expect(t.text.startsWith('Transcript of clip.mp3: ID3')).toBe(true);
    const sent = upstream.inferenceRequests().at(-1)!;
    expect(sent.path).toBe('/v1/audio/transcriptions');
    const body = sent.body as { model: string; language: string; files: { field: string; filename: string; type: string; data: Buffer }[] };
    expect(body).toMatchObject({ model: 'gpt-4o-transcribe', language: 'en' });
    expect(body.files).toHaveLength(1);
    expect(body.files[0]).toMatchObject({ field: 'file', filename: 'clip.mp3', type: 'audio/mpeg' });
    expect(Buffer.compare(Buffer.from(body.files[0]!.data), audio)).toBe(0);
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_operation_name="transcription"[^}]*gen_ai_token_type="output"[^}]*\} [1-9]/);
  });

  it('to a vLLM backend with its own model: the model field rewritten; text formats pass as text; translations too', async () => {
    const text = await client().audio.transcriptions.create({ file: await toFile(Buffer.from('hi'), 'a.wav'), model: 'whisper', response_format: 'text' });
    expect(text).toBe('Transcript of a.wav: hi');
    expect(upstream.inferenceRequests().at(-1)!.body).toMatchObject({ model: 'openai/whisper-large-v3' });
    const tr = await client().audio.translations.create({ file: await toFile(Buffer.from('bonjour'), 'fr.mp3'), model: 'whisper' });
    expect(tr.text).toBe('Translation of fr.mp3: bonjour');
    expect(upstream.inferenceRequests().at(-1)!.path).toBe('/v1/audio/translations');
  });

  it('images.edit to an openai backend', async () => {
    const r = await client().images.edit({ model: 'gpt-image-1', image: await toFile(Buffer.from('png'), 'in.png', { type: 'image/png' }), prompt: 'add a hat' });
    expect(r.data).toHaveLength(1);
    expect(upstream.inferenceRequests().at(-1)!.path).toBe('/v1/images/edits');
  });

  it('masking: a transcription prompt is masked in the form the backend gets, and the transcript on the way back', async () => {
    const t = await client(MASKED).audio.transcriptions.create({ file: await toFile(Buffer.from(`call ${EMAIL}`), 'a.mp3'), model: 'gpt-4o-transcribe', prompt: `names: ${EMAIL}` });
    expect((upstream.inferenceRequests().at(-1)!.body as { prompt: string }).prompt).toBe('names: [MASKED:email]');
    expect(t.text).toBe('Transcript of a.mp3: call [MASKED:email] [prompt: names: [MASKED:email]]');
  });

  it('no model, no file, a JSON body, a streamed translation: each a clear 4xx; a route without transcriptions names the operation', async () => {
    const post = (form: FormData) => fetch(`${proxy.baseUrl}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
    const noModel = new FormData();
    noModel.set('file', new Blob(['x']), 'a.mp3');
    const r1 = await post(noModel);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: { param: string } }).error.param).toBe('model');
    const noFile = new FormData();
    noFile.set('model', 'gpt-4o-transcribe');
    const r2 = await post(noFile);
    expect(((await r2.json()) as { error: { param: string } }).error.param).toBe('file');
    const streamed = new FormData();
    streamed.set('model', 'whisper');
    streamed.set('file', new Blob(['x']), 'a.mp3');
    streamed.set('stream', 'true');
    const r3 = await fetch(`${proxy.baseUrl}/v1/audio/translations`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: streamed });
    expect(((await r3.json()) as { error: { param: string } }).error.param).toBe('stream');
    const json = await proxy.post('/v1/audio/transcriptions', KEY, { model: 'gpt-4o-transcribe' });
    expect(json.status).toBe(415);
    const e = await client().audio.transcriptions.create({ file: await toFile(Buffer.from('x'), 'a.mp3'), model: 'llama-ollama' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as Error).message).toContain('no backend of route ai/ollama-chat supports audio transcriptions');
  });
});

describe('event streams: partial images, speech audio deltas, transcript deltas', () => {
  it('each relayed event by event to the openai SDK, complete at its terminal event, usage counted', async () => {
    const images = await client().images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 1 });
    const types: string[] = [];
    for await (const e of images) types.push(e.type);
    expect(types).toEqual(['image_generation.partial_image', 'image_generation.completed']);
    const transcript = await client().audio.transcriptions.create({ file: await toFile(Buffer.from('one two three'), 'a.mp3'), model: 'gpt-4o-transcribe', stream: true });
    let text = '';
    for await (const e of transcript) if (e.type === 'transcript.text.delta') text += e.delta;
    expect(text).toBe('Transcript of a.mp3: one two three');
    const speech = await client().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'hi', stream_format: 'sse' });
    expect(speech.headers.get('content-type')).toContain('text/event-stream');
    const body = await speech.text();
    expect(body).toContain('"type":"speech.audio.done"');
    // Complete streams: no error event was appended by the gateway.
    expect(body).not.toContain('stream_interrupted');
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_operation_name="image_generation"[^}]*gen_ai_token_type="output"[^}]*\} [1-9]/);
  });

  it('a tenant that masks responses: a streamed transcript masked in its deltas and its done event, the whole one without stream; logprobs refused', async () => {
    const stream = await client(RESP_MASKED).audio.transcriptions.create({ file: await toFile(Buffer.from(`mail ${EMAIL} now`), 'a.mp3'), model: 'gpt-4o-transcribe', stream: true });
    let deltas = '';
    let done = '';
    for await (const e of stream) {
      if (e.type === 'transcript.text.delta') deltas += e.delta;
      if (e.type === 'transcript.text.done') done = e.text;
    }
    expect(deltas).toBe('Transcript of a.mp3: mail [MASKED:email] now');
    expect(done).toBe(deltas);
    const lp = await client(RESP_MASKED).audio.transcriptions.create({ file: await toFile(Buffer.from('x'), 'a.mp3'), model: 'gpt-4o-transcribe', include: ['logprobs'] }).catch((x: unknown) => x);
    expect(lp).toBeInstanceOf(OpenAI.BadRequestError);
    expect((lp as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('include');
    const t = await client(RESP_MASKED).audio.transcriptions.create({ file: await toFile(Buffer.from(`mail ${EMAIL}`), 'a.mp3'), model: 'gpt-4o-transcribe' });
    expect(t.text).toBe('Transcript of a.mp3: mail [MASKED:email]');
  });
});

describe('images and audio on Azure OpenAI (under the backend\'s deployment)', () => {
  it('images.generate, audio.speech.create and an upload: each at {url}/openai/deployments/{model}/..., with the api-version and the api-key', async () => {
    const img = await client().images.generate({ model: 'az-media', prompt: 'a fox' });
    expect(img.data).toHaveLength(1);
    let sent = azure.requests.at(-1)!;
    expect(sent.path).toBe('/openai/deployments/media-deploy/images/generations');
    expect(sent.query.get('api-version')).toBe('2024-10-21');
    expect(sent.headers['api-key']).toBe(azure.credential);
    const audio = await client().audio.speech.create({ model: 'az-media', voice: 'alloy', input: 'hello' });
    expect(Buffer.from(await audio.arrayBuffer()).toString()).toBe('ID3hello');
    const t = await client().audio.transcriptions.create({ model: 'az-media', file: await toFile(Buffer.from('one two'), 'a.mp3') });
    expect(t.text).toBe('Transcript of a.mp3: one two');
    sent = azure.requests.at(-1)!;
    expect(sent.path).toBe('/openai/deployments/media-deploy/audio/transcriptions');
  });
});

