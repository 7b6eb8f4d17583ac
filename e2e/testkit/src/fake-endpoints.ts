// Answers of the fake's endpoints beyond chat, completions and embeddings (fake-openai.ts serves
// them): OpenAI's moderations, image generation and speech, and vLLM's rerank, each as its wire
// format has it. Pure: an error (status and OpenAI's error body) or what to send.
import { countTokens, errorBody, isObject, rankOrder, rerankScores } from './fake-content.ts';
import type { FakeError } from './fake-responses.ts';

type Json = Record<string, unknown>;

const fail = (status: number, error: string): FakeError => ({ status, error });

/** OpenAI's moderation categories (omni-moderation). */
const MODERATION_CATEGORIES = ['harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic'];

/** Speech formats: the content type OpenAI answers with and the bytes a file of it starts with. */
const SPEECH_FORMATS: Record<string, { type: string; magic: string }> = {
  mp3: { type: 'audio/mpeg', magic: 'ID3' },
  wav: { type: 'audio/wav', magic: 'RIFF' },
  opus: { type: 'audio/ogg', magic: 'OggS' },
  flac: { type: 'audio/flac', magic: 'fLaC' },
  aac: { type: 'audio/aac', magic: '\xff\xf1' },
  pcm: { type: 'audio/pcm', magic: '' },
};

/** A 1x1 transparent PNG. */
export const ONE_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/** OpenAI's moderation answer: one result per input, flagged for violence when the text holds VIOLENT. */
export function moderationAnswer(id: string, body: Json): Json | FakeError {
  const input = body['input'];
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map((x) => (typeof x === 'string' ? x : isObject(x) && typeof x['text'] === 'string' ? x['text'] : '')) : [];
  if (texts.length === 0) return fail(400, errorBody("'input' is a required property", 'invalid_request_error', 'input', null));
  return {
    id,
    model: body['model'],
    results: texts.map((t) => {
      const violent = t.includes('VIOLENT');
      const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, c === 'violence' && violent]));
      const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, c === 'violence' && violent ? 0.98 : 0.0001]));
      const applied = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, ['text']]));
      return { flagged: violent, categories, category_scores: scores, category_applied_input_types: applied };
    }),
  };
}

/**
 * OpenAI's image generation answer: `n` images; dall-e-3 with its revised prompt and a URL,
 * gpt-image-1 (and others) base64 PNG with token usage.
 */
export function imagesAnswer(name: string, created: number, body: Json): Json | FakeError {
  const prompt = body['prompt'];
  if (typeof prompt !== 'string' || prompt === '') return fail(400, errorBody("'prompt' is a required property", 'invalid_request_error', 'prompt', null));
  const n = typeof body['n'] === 'number' && body['n'] > 0 ? Math.floor(body['n']) : 1;
  if (String(body['model']).startsWith('dall-e-3')) {
    return { created, data: Array.from({ length: n }, (_, i) => ({ url: `https://images.example/${name}/${i}.png`, revised_prompt: `A picture of ${prompt}` })) };
  }
  const input = countTokens(prompt);
  return {
    created,
    data: Array.from({ length: n }, () => ({ b64_json: ONE_PIXEL_PNG })),
    usage: { input_tokens: input, output_tokens: 272 * n, total_tokens: input + 272 * n, input_tokens_details: { text_tokens: input, image_tokens: 0 } },
  };
}

/**
 * OpenAI's text to speech answer: audio bytes in the asked format (a format's magic bytes, then
 * the input text, so a test can check what was spoken) and its content type.
 */
export function speechAnswer(body: Json): { type: string; audio: Buffer } | FakeError {
  const input = body['input'];
  if (typeof input !== 'string' || input === '') return fail(400, errorBody("'input' is a required property", 'invalid_request_error', 'input', null));
  if (typeof body['voice'] !== 'string') return fail(400, errorBody("'voice' is a required property", 'invalid_request_error', 'voice', null));
  const format = typeof body['response_format'] === 'string' ? body['response_format'] : 'mp3';
  const kind = SPEECH_FORMATS[format];
  if (kind === undefined) return fail(400, errorBody(`Invalid value: '${format}'`, 'invalid_request_error', 'response_format', 'invalid_value'));
  return { type: kind.type, audio: Buffer.concat([Buffer.from(kind.magic, 'latin1'), Buffer.from(input)]) };
}

const docText = (d: unknown): string => (typeof d === 'string' ? d : isObject(d) ? String(d['text'] ?? '') : '');

/** vLLM's rerank answer (the Jina/Cohere request shape): results by relevance, each with its document. */
export function rerankAnswer(id: string, body: Json): Json | FakeError {
  const query = body['query'];
  const docs = body['documents'];
  if (typeof query !== 'string' || !Array.isArray(docs) || docs.length === 0) {
    return fail(400, errorBody('query (a string) and documents (a non-empty list) are required', 'BadRequestError', null, null));
  }
  const scores = rerankScores(query, docs);
  const tokens = countTokens(query) * docs.length + docs.reduce((n: number, d) => n + countTokens(docText(d)), 0);
  return {
    id,
    model: body['model'],
    usage: { total_tokens: tokens },
    results: rankOrder(scores, body['top_n']).map((index) => ({ index, document: { text: docText(docs[index]) }, relevance_score: scores[index] })),
  };
}

/** An uploaded file as the fake keeps it: where it came in the form, and its bytes. */
export interface FakeFile {
  field: string;
  filename: string;
  type: string;
  data: Buffer;
}

/** A multipart body as the fake records it: its text fields, and `files`. */
export async function formBody(raw: Buffer, contentType: string): Promise<Json> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const body: Json = {};
  const files: FakeFile[] = [];
  for (const [field, v] of form) {
    if (typeof v === 'string') body[field] = v;
    else files.push({ field, filename: v.name, type: v.type, data: Buffer.from(await v.arrayBuffer()) });
  }
  body['files'] = files;
  return body;
}

const filesOf = (body: Json): FakeFile[] => (Array.isArray(body['files']) ? (body['files'] as FakeFile[]) : []);

/**
 * OpenAI's transcription or translation answer: the "audio" is read as text (tests upload text
 * bytes), so the transcript is `Transcript of <filename>: <content>` (`Translation of ...`), with
 * ` [prompt: ...]` when a prompt was given; in the asked response_format (json by default; text,
 * srt and vtt as plain text; verbose_json with one segment). gpt-4o models report token usage,
 * whisper its duration.
 */
export function transcriptionAnswer(task: 'transcribe' | 'translate', body: Json): { json: Json } | { text: string } | FakeError {
  const file = filesOf(body).find((f) => f.field === 'file');
  if (file === undefined) return fail(400, errorBody("'file' is a required property", 'invalid_request_error', 'file', null));
  const prompt = typeof body['prompt'] === 'string' ? ` [prompt: ${body['prompt']}]` : '';
  const text = `${task === 'transcribe' ? 'Transcript' : 'Translation'} of ${file.filename}: ${file.data.toString('utf8')}${prompt}`;
  const format = typeof body['response_format'] === 'string' ? body['response_format'] : 'json';
  if (format === 'text') return { text };
  if (format === 'srt') return { text: `1\n00:00:00,000 --> 00:00:01,000\n${text}\n` };
  if (format === 'vtt') return { text: `WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n${text}\n` };
  const tokens = countTokens(text);
  const usage = String(body['model']).startsWith('gpt-4o') ? { type: 'tokens', input_tokens: file.data.length, output_tokens: tokens, total_tokens: file.data.length + tokens } : { type: 'duration', seconds: 1 };
  if (format === 'verbose_json') {
    const segment = { id: 0, seek: 0, start: 0, end: 1, text, tokens: [], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 };
    return { json: { task, language: 'english', duration: 1, text, segments: [segment], usage } };
  }
  return { json: { text, usage } };
}

/** OpenAI's image edit answer: gpt-image-1's base64 PNG per image sent, with token usage. */
export function imageEditAnswer(name: string, created: number, body: Json): Json | FakeError {
  const images = filesOf(body).filter((f) => f.field === 'image' || f.field === 'image[]');
  if (images.length === 0) return fail(400, errorBody("'image' is a required property", 'invalid_request_error', 'image', null));
  return imagesAnswer(name, created, { ...body, n: body['n'] === undefined ? 1 : Number(body['n']) });
}

/**
 * The events of a streamed image generation or edit (gpt-image-1, `stream: true`):
 * `partial_images` partial images, then the completed one with usage.
 */
export function imageEvents(kind: 'image_generation' | 'image_edit', created: number, body: Json): Json[] {
  const partials = typeof body['partial_images'] === 'number' ? body['partial_images'] : Number(body['partial_images'] ?? 0);
  const common = { created_at: created, size: '1024x1024', quality: 'auto', background: 'auto', output_format: 'png' };
  const input = countTokens(String(body['prompt'] ?? ''));
  const events: Json[] = Array.from({ length: partials }, (_, i) => ({ type: `${kind}.partial_image`, b64_json: ONE_PIXEL_PNG, partial_image_index: i, ...common }));
  events.push({ type: `${kind}.completed`, b64_json: ONE_PIXEL_PNG, ...common, usage: { input_tokens: input, output_tokens: 272, total_tokens: input + 272, input_tokens_details: { text_tokens: input, image_tokens: 0 } } });
  return events;
}

/** The events of speech with `stream_format: sse`: the audio in three base64 deltas, then done with usage. */
export function speechEvents(audio: Buffer, input: string): Json[] {
  const third = Math.ceil(audio.length / 3);
  const events: Json[] = [];
  for (let i = 0; i < audio.length; i += third) events.push({ type: 'speech.audio.delta', audio: audio.subarray(i, i + third).toString('base64') });
  const tokens = countTokens(input);
  events.push({ type: 'speech.audio.done', usage: { input_tokens: tokens, output_tokens: audio.length, total_tokens: tokens + audio.length } });
  return events;
}

/** The events of a streamed transcription (gpt-4o-transcribe, `stream=true`): word deltas, then done with usage. */
export function transcriptEvents(text: string, usage: unknown): Json[] {
  return [...(text.match(/\S+\s*/g) ?? []).map((delta) => ({ type: 'transcript.text.delta', delta })), { type: 'transcript.text.done', text, usage }];
}
