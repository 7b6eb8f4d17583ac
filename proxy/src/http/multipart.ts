// Requests sent as multipart/form-data (audio transcriptions and translations, image edits): read
// whole within the body limit (the model to route by may come after the file, as the OpenAI SDKs
// send it) and parsed with undici's form-data parser; the adapter writes the parts again for the
// backend with its model (and masked text fields) in place (adapters/form.ts).
import { apiError, type ApiError } from '../api/errors.ts';
import type { ClientRequest, FormPart, Operation } from '../adapters/types.ts';

/** The operations a client sends as multipart/form-data. */
export const FORM_OPERATIONS: ReadonlySet<Operation> = new Set(['transcriptions', 'translations', 'image_edits']);

export function isMultipart(contentType: string): boolean {
  return contentType.trim().toLowerCase().startsWith('multipart/form-data');
}

const bad = (param: string, message: string): ApiError => apiError(400, 'invalid_request_error', 'invalid_value', message, param);

/** The parts of a multipart body, or a 400 when it does not parse. */
export async function parseForm(raw: Buffer, contentType: string): Promise<FormPart[] | ApiError> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch (e) {
    return apiError(400, 'invalid_request_error', 'invalid_request', `the multipart/form-data body does not parse: ${(e as Error).message}`);
  }
  const parts: FormPart[] = [];
  for (const [name, value] of form) {
    if (typeof value === 'string') parts.push({ name, value });
    else parts.push({ name, filename: value.name, type: value.type || 'application/octet-stream', data: Buffer.from(await value.arrayBuffer()) });
  }
  return parts;
}

/** The request of a multipart operation, or the 400 naming what is missing or not relayed. */
export function formRequest(op: Operation, parts: readonly FormPart[], raw: Buffer, requestId: string): ClientRequest | ApiError {
  const fields: Record<string, unknown> = {};
  for (const p of parts) if ('value' in p) fields[p.name] = p.value;
  const model = fields.model;
  if (typeof model !== 'string' || model === '') return apiError(400, 'invalid_request_error', 'missing_model', 'you must provide a model field: it picks the route', 'model');
  const file = (name: string) => parts.some((p) => 'data' in p && (p.name === name || p.name === `${name}[]`));
  if (op === 'image_edits') {
    if (!file('image')) return bad('image', 'image (a file) is required');
    if (typeof fields.prompt !== 'string' || fields.prompt === '') return bad('prompt', 'prompt must be a non-empty string');
  } else if (!file('file')) return bad('file', 'file (the audio) is required');
  // Transcript deltas and partial images come as event streams; a translation has none.
  const stream = fields.stream === 'true';
  if (stream && op === 'translations') return bad('stream', 'translations are not streamed: leave stream out');
  return { operation: op, raw, body: fields, model, stream, clientWantsUsage: false, requestId, form: parts };
}
