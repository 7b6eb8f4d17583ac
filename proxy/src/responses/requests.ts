// The Responses API on the request side: which endpoint a request about a stored response must
// reach (previous_response_id, GET/DELETE /v1/responses/{id}, cancel, input_items), decoded from
// the gateway's response ids (ids.ts), and the checks made before routing. Pure.
import { apiError, type ApiError } from '../api/errors.ts';
import type { ClientRequest } from '../adapters/types.ts';
import { decodeResponseId, type ResponseOrigin } from './ids.ts';

const PREFIX = '/v1/responses/';

const responseNotFound = (id: string, param: string | null = null): ApiError =>
  apiError(404, 'invalid_request_error', param === null ? 'not_found' : 'previous_response_not_found', `${param === null ? 'Response' : 'Previous response'} with id '${id}' not found.`, param);

/**
 * A `previous_response_id` the gateway gave out: its origin (the request is then pinned to that
 * endpoint) and the body with the backend's own id in its place; null when the request names none
 * (or a backend's own id, passed on as it came); an error when the id is another tenant's.
 */
export function previousResponse(b: Record<string, unknown>, tenant: string): { origin: ResponseOrigin; raw: Buffer } | ApiError | null {
  const prev = b.previous_response_id;
  if (typeof prev !== 'string') return null;
  const origin = decodeResponseId(prev);
  if (origin === null) return null;
  // Another tenant's response is answered exactly as one that does not exist.
  if (origin.tenant !== tenant) return responseNotFound(prev, 'previous_response_id');
  b.previous_response_id = origin.upstream;
  return { origin, raw: Buffer.from(JSON.stringify(b)) };
}

/** What a path under /v1/responses/ asks of a stored response, or null when it is no such path. */
export function storedResponsePath(path: string, method: string): { id: string; suffix: '' | '/cancel' | '/input_items'; method: 'GET' | 'POST' | 'DELETE' } | ApiError | null {
  if (!path.startsWith(PREFIX)) return null;
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const id = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
  const suffix = slash < 0 ? '' : rest.slice(slash);
  if (id === '') return apiError(404, 'invalid_request_error', 'not_found', `no route for ${path}`);
  const allowed: Record<string, readonly string[]> = { '': ['GET', 'DELETE'], '/cancel': ['POST'], '/input_items': ['GET'] };
  const methods = allowed[suffix];
  if (methods === undefined) return apiError(404, 'invalid_request_error', 'not_found', `no route for ${path}`);
  if (!methods.includes(method)) return apiError(405, 'invalid_request_error', 'method_not_allowed', `${method} is not allowed on ${path} (${methods.join(', ')})`);
  return { id, suffix: suffix as '' | '/cancel' | '/input_items', method: method as 'GET' | 'POST' | 'DELETE' };
}

/** Query parameters of input_items and retrieve that are passed on (all of OpenAI's are plain tokens). */
const QUERY = /^[A-Za-z0-9_\-.~=&%[\]]*$/;

/**
 * The request about a stored response, for the caller's tenant: routed by the model it was
 * created with and pinned to its endpoint; 404 for an id the gateway did not give out or another
 * tenant's.
 */
export function storedResponseRequest(
  target: { id: string; suffix: string; method: 'GET' | 'POST' | 'DELETE' },
  query: string,
  tenant: string,
  requestId: string,
): { client: ClientRequest; origin: ResponseOrigin } | ApiError {
  const origin = decodeResponseId(target.id);
  if (origin === null || origin.tenant !== tenant) return responseNotFound(target.id);
  if (!QUERY.test(query)) return apiError(400, 'invalid_request_error', 'invalid_value', 'the query string holds characters the gateway does not pass on', null);
  const client: ClientRequest = {
    operation: 'responses',
    raw: Buffer.alloc(0),
    body: {},
    model: origin.model,
    stream: false,
    clientWantsUsage: false,
    requestId,
    target: { method: target.method, path: `/${encodeURIComponent(origin.upstream)}${target.suffix}${query === '' ? '' : `?${query}`}` },
  };
  return { client, origin };
}
