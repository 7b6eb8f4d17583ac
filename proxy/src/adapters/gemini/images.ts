// OpenAI image generation as a Gemini image model's generateContent (gemini-2.5-flash-image,
// gemini-3-pro-image-preview...: the Gemini API's image generation; Imagen's predict is Vertex
// AI's only): the prompt as the user turn, responseModalities IMAGE, size as the nearest of the
// model's aspect ratios (within 2%, else refused) and, above 1024 pixels, an image size of 2K or
// 4K. The answer's inline images come back as OpenAI's base64 images with the token usage. Pure.
import { UnsupportedRequest } from '../types.ts';
import { imageAsk, imagesAnswer } from '../images.ts';

type Json = Record<string, unknown>;

const WHERE = 'image generation on the Gemini API (backend adapter gemini)';
/** The aspect ratios of Gemini's image models, by width / height. */
const RATIOS: readonly [string, number][] = [
  ['1:1', 1], ['2:3', 2 / 3], ['3:2', 3 / 2], ['3:4', 3 / 4], ['4:3', 4 / 3], ['9:16', 9 / 16], ['16:9', 16 / 9], ['21:9', 21 / 9],
];

/** The generateContent request for an OpenAI image generation request. */
export function imagesToGemini(b: Readonly<Json>): Json {
  const ask = imageAsk(b, WHERE, ['output_format']);
  if (ask.n !== 1) throw new UnsupportedRequest('n', `${WHERE} makes one image per request, ${ask.n} were asked for: send one request per image`);
  if (b.output_format != null && b.output_format !== 'png') throw new UnsupportedRequest('output_format', `${WHERE} makes png images, not ${String(b.output_format)}`);
  const generationConfig: Json = { responseModalities: ['IMAGE'] };
  if (ask.size !== null) {
    const { width, height } = ask.size;
    const near = RATIOS.find(([, v]) => Math.abs(width / height / v - 1) <= 0.02);
    if (near === undefined) throw new UnsupportedRequest('size', `size ${width}x${height} has no Gemini aspect ratio (${RATIOS.map(([k]) => k).join(', ')}): try 1024x1024, 1536x1024 or 1792x1024`);
    const side = Math.max(width, height);
    generationConfig.imageConfig = { aspectRatio: near[0], ...(side > 2048 ? { imageSize: '4K' } : side > 1024 ? { imageSize: '2K' } : {}) };
  }
  return { contents: [{ role: 'user', parts: [{ text: ask.prompt }] }], generationConfig };
}

/** OpenAI's answer for the model's inline images, with the usage; null when it made none (blocked). */
export function imagesFromGemini(r: Readonly<Json>, created: number): { answer: Json; input: number; output: number } | null {
  const candidates = (r.candidates as Json[] | undefined) ?? [];
  const parts = ((candidates[0]?.content as Json | undefined)?.parts as Json[] | undefined) ?? [];
  const images = parts.map((p) => (p.inlineData as Json | undefined)?.data).filter((x): x is string => typeof x === 'string' && x !== '');
  if (images.length === 0) return null;
  const u = (r.usageMetadata ?? {}) as Json;
  const input = typeof u.promptTokenCount === 'number' ? u.promptTokenCount : 0;
  const output = typeof u.candidatesTokenCount === 'number' ? u.candidatesTokenCount : 0;
  const answer = imagesAnswer(images, created);
  answer.usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
  return { answer, input, output };
}
