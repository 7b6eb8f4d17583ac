// OpenAI image generation requests (POST /v1/images/generations) as what a provider's own image
// API needs, for the adapters that translate them (gemini: Imagen's predict; bedrock: Titan Image
// Generator and Nova Canvas through InvokeModel), and their base64 images back as OpenAI's
// answer. Pure. What a provider cannot honour is refused naming the field.
import { UnsupportedRequest } from './types.ts';

type Json = Record<string, unknown>;

/** What the translated image APIs take of an OpenAI request. */
export interface ImageAsk {
  prompt: string;
  n: number;
  /** Pixels asked for (`size`), or null for the provider's default (`size` absent or `auto`). */
  size: { width: number; height: number } | null;
  /** OpenAI's `quality`, when given. */
  quality: string | null;
}

/** Members every translation honours (or that have no effect on the image: `user`). */
const COMMON = new Set(['model', 'prompt', 'n', 'size', 'response_format', 'user']);

/**
 * The common part of an image request, for `where` (named in refusals); `extra` lists the
 * members the provider's translation reads itself. Images come back as base64 only (there is no
 * URL to hand out), so `response_format: url` is refused; so is a stream.
 */
export function imageAsk(b: Readonly<Json>, where: string, extra: readonly string[] = []): ImageAsk {
  for (const k of Object.keys(b)) {
    if (b[k] === undefined || b[k] === null || COMMON.has(k) || extra.includes(k)) continue;
    throw new UnsupportedRequest(k, `${k} is not supported by ${where}`);
  }
  if (b.response_format === 'url') throw new UnsupportedRequest('response_format', `${where} returns images as base64 only: ask for response_format b64_json (or leave it out)`);
  const n = b.n ?? 1;
  if (!Number.isInteger(n) || (n as number) < 1) throw new UnsupportedRequest('n', 'n must be a positive integer');
  let size: ImageAsk['size'] = null;
  if (b.size !== undefined && b.size !== null && b.size !== 'auto') {
    const m = typeof b.size === 'string' ? /^(\d{2,5})x(\d{2,5})$/.exec(b.size) : null;
    if (!m) throw new UnsupportedRequest('size', `size must be WIDTHxHEIGHT (1024x1024) or auto, got ${JSON.stringify(b.size)}`);
    size = { width: Number(m[1]), height: Number(m[2]) };
  }
  return { prompt: b.prompt as string, n: n as number, size, quality: typeof b.quality === 'string' ? b.quality : null };
}

/** OpenAI's image answer for base64 images. */
export function imagesAnswer(images: readonly string[], created: number): Json {
  return { created, data: images.map((b64_json) => ({ b64_json })) };
}
