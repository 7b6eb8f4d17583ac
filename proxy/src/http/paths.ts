// The proxy's API paths and their operations: the request handler routes by them, the traces
// name their server spans by them.
import type { Operation } from '../adapters/types.ts';

/** The API paths that take a request body routed by model, and their operation. */
export const OPERATION_PATHS: Readonly<Record<string, Operation>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  // The Cohere/Jina rerank request (vLLM, Xinference, LocalAI, GPUStack serve it), and Cohere's v2 path.
  '/v1/rerank': 'rerank',
  '/v2/rerank': 'rerank',
  '/v1/moderations': 'moderations',
  '/v1/images/generations': 'images',
  '/v1/audio/speech': 'speech',
  '/v1/responses': 'responses',
  // multipart/form-data (http/multipart.ts)
  '/v1/audio/transcriptions': 'transcriptions',
  '/v1/audio/translations': 'translations',
  '/v1/images/edits': 'image_edits',
};
