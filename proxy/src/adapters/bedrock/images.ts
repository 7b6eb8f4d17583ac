// OpenAI image generation as Amazon's image models on Bedrock (Titan Image Generator, Nova
// Canvas), through InvokeModel: a TEXT_IMAGE task with the prompt, n as numberOfImages, size as
// width and height, quality standard or hd as standard or premium. Other image models (Stability
// on Bedrock) take other bodies and are refused naming the model. Pure.
import { UnsupportedRequest } from '../types.ts';
import { imageAsk, imagesAnswer } from '../images.ts';

type Json = Record<string, unknown>;

const WHERE = 'Titan Image Generator and Nova Canvas on Bedrock (backend adapter bedrock)';
const QUALITY: Record<string, string> = { standard: 'standard', hd: 'premium' };

/** Whether a model id (after a cross-region prefix, or in an ARN) names one of Amazon's image models. */
export function isAmazonImageModel(modelId: string): boolean {
  return /(?:^|[./])amazon\.(?:titan-image-generator|nova-canvas)/.test(modelId);
}

/** The InvokeModel body for an OpenAI image generation request. */
export function imagesToBedrock(b: Readonly<Json>, modelId: string): Json {
  if (!isAmazonImageModel(modelId)) {
    throw new UnsupportedRequest('model', `bedrock: model "${modelId}" is not an image model this adapter knows (amazon.titan-image-generator-*, amazon.nova-canvas-*)`);
  }
  const ask = imageAsk(b, WHERE, ['quality']);
  if (ask.n > 5) throw new UnsupportedRequest('n', `${WHERE} makes at most 5 images per request, ${ask.n} were asked for`);
  const config: Json = { numberOfImages: ask.n };
  if (ask.size !== null) {
    config.width = ask.size.width;
    config.height = ask.size.height;
  }
  if (ask.quality !== null && ask.quality !== 'auto') {
    const q = QUALITY[ask.quality];
    if (q === undefined) throw new UnsupportedRequest('quality', `${WHERE} has the qualities standard and hd (premium), not ${ask.quality}`);
    config.quality = q;
  }
  return { taskType: 'TEXT_IMAGE', textToImageParams: { text: ask.prompt }, imageGenerationConfig: config };
}

/** OpenAI's answer for the model's `images`; null when there is none (`error` says why). */
export function imagesFromBedrock(r: Readonly<Json>, created: number): Json | null {
  const images = ((r.images as unknown[] | undefined) ?? []).filter((x): x is string => typeof x === 'string' && x !== '');
  return images.length === 0 ? null : imagesAnswer(images, created);
}
