// What a request of the operations beyond chat, completions and embeddings must hold before it
// is routed (the fields the operation cannot do without, and what the gateway does not relay);
// the rest of the body goes to the backend as it came.
import type { Operation } from '../adapters/types.ts';
import { Errors, type ApiError } from '../api/errors.ts';
import { previousResponse } from '../responses/requests.ts';
import type { ResponseOrigin } from '../responses/ids.ts';

/** Cohere's documented maximum per request; larger lists are refused rather than sent. */
export const MAX_RERANK_DOCUMENTS = 10_000;

/** The first problem of a rerank body (the field and why), or null when it can be routed. */
export function rerankProblem(b: Readonly<Record<string, unknown>>): { field: string; message: string } | null {
  if (typeof b.query !== 'string' || b.query === '') return { field: 'query', message: 'query must be a non-empty string' };
  const docs = b.documents;
  if (!Array.isArray(docs) || docs.length === 0) return { field: 'documents', message: 'documents must be a non-empty array of strings or objects' };
  if (docs.length > MAX_RERANK_DOCUMENTS) return { field: 'documents', message: `documents holds ${docs.length} entries, more than the ${MAX_RERANK_DOCUMENTS} allowed` };
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i];
    if (typeof d !== 'string' && (typeof d !== 'object' || d === null || Array.isArray(d))) return { field: 'documents', message: `documents[${i}] must be a string or an object` };
  }
  const n = b.top_n;
  if (n !== undefined && n !== null && !(Number.isInteger(n) && (n as number) > 0)) return { field: 'top_n', message: 'top_n must be a positive integer' };
  return null;
}

type Problem = { field: string; message: string } | null;

/** The first problem of a rerank, moderations or image generation body, or null. */
export function operationProblem(op: Operation, b: Readonly<Record<string, unknown>>): Problem {
  if (op === 'rerank') return rerankProblem(b);
  if (op === 'moderations') {
    const input = b.input;
    if (typeof input === 'string' ? input === '' : !Array.isArray(input) || input.length === 0) return { field: 'input', message: 'input must be a non-empty string or array' };
    return null;
  }
  if (op === 'images') {
    if (typeof b.prompt !== 'string' || b.prompt === '') return { field: 'prompt', message: 'prompt must be a non-empty string' };
    return null;
  }
  if (op === 'responses') {
    const input = b.input;
    if (input !== undefined && input !== null && typeof input !== 'string' && !Array.isArray(input)) return { field: 'input', message: 'input must be a string or an array of input items' };
    if (b.previous_response_id !== undefined && b.previous_response_id !== null && typeof b.previous_response_id !== 'string') return { field: 'previous_response_id', message: 'previous_response_id must be a string' };
    return null;
  }
  if (op === 'speech') {
    if (typeof b.input !== 'string' || b.input === '') return { field: 'input', message: 'input must be a non-empty string' };
    return null;
  }
  return null;
}

/**
 * The checks of a request of the operations beyond chat, completions and embeddings: an error
 * for the client, null when it goes on as it came, or (the Responses API's previous_response_id)
 * the endpoint the request must reach and its body with the backend's own id.
 */
export function operationRequest(op: Operation, b: Record<string, unknown>, tenant: string): { error: ApiError } | { raw: Buffer; origin: ResponseOrigin } | null {
  const bad = operationProblem(op, b);
  if (bad !== null) return { error: Errors.badField(bad.field, bad.message) };
  if (op !== 'responses') return null;
  const prev = previousResponse(b, tenant);
  return prev !== null && 'status' in prev ? { error: prev } : prev;
}

/**
 * Whether the answer is an event stream: `stream: true` for chat, completions, the Responses API
 * and image generation (partial images); `stream_format: sse` for speech (audio deltas).
 */
export function streams(op: Operation, b: Readonly<Record<string, unknown>>): boolean {
  if (op === 'speech') return b.stream_format === 'sse';
  return b.stream === true && (op === 'chat' || op === 'completions' || op === 'responses' || op === 'images');
}
