/**
 * The errors the proxy answers with, independent of how they are written: `http/` and
 * `upstream/` both use them, and the client's response (response/client-response.ts) renders
 * them in the client's API schema. Never carries a stack or a secret.
 */

import { anthropicErrorType } from '../adapters/anthropic/mapping.ts';

/**
 * The API schema a client speaks; error bodies and stream error events come out in it.
 * `responses` is OpenAI's Responses API: OpenAI's error bodies, its own stream error event.
 */
export type ApiSchema = 'openai' | 'anthropic' | 'responses';

export interface ApiError {
  status: number;
  type: string;
  code: string;
  message: string;
  param?: string | null;
}

export function apiError(status: number, type: string, code: string, message: string, param: string | null = null): ApiError {
  return { status, type, code, message, param };
}

/**
 * The error body in the client's schema: OpenAI's `{"error": {message, type, param, code}}`, or
 * Anthropic's `{"type": "error", "error": {type, message}}` with the type Anthropic uses for the
 * status (the SDKs pick their error class from the status, scripts read the type).
 */
export function errorBody(e: ApiError, schema: ApiSchema = 'openai'): string {
  if (schema === 'anthropic') return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(e.status), message: e.message } });
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } });
}

/**
 * A well-formed SSE event carrying the error, for failures after a stream started. Anthropic's
 * is named `error`. The Responses API's is named `error` too, with the members of its `error`
 * event (`type`, `code`, `message`, `param`, `sequence_number`: `sequence` is the number after
 * the stream's last event) and OpenAI's `error` object beside them, which the OpenAI SDKs raise
 * as an APIError as they do for chat.
 */
export function streamErrorEvent(e: ApiError, schema: ApiSchema = 'openai', sequence = 0): Buffer {
  if (schema === 'responses') {
    const event = { type: 'error', code: e.code, message: e.message, param: e.param ?? null, sequence_number: sequence, error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } };
    return Buffer.from('event: error\ndata: ' + JSON.stringify(event) + '\n\n');
  }
  return Buffer.from((schema === 'anthropic' ? 'event: error\n' : '') + 'data: ' + errorBody(e, schema) + '\n\n');
}

export const Errors = {
  notFound: (path: string) => apiError(404, 'invalid_request_error', 'not_found', `no route for ${path}`),
  methodNotAllowed: (method: string, path: string) =>
    apiError(405, 'invalid_request_error', 'method_not_allowed', `${method} is not allowed on ${path}`),
  corsDisabled: () =>
    apiError(405, 'invalid_request_error', 'method_not_allowed', 'OPTIONS (CORS preflight) is not enabled on this proxy: start it with --cors-allow-origin ORIGIN'),
  corsOriginNotAllowed: (origin: string) =>
    apiError(403, 'permission_error', 'origin_not_allowed', `cross-origin requests from ${JSON.stringify(origin.slice(0, 200))} are not allowed (--cors-allow-origin)`),
  unsupportedMediaType: (got: string, form = false) =>
    apiError(415, 'invalid_request_error', 'unsupported_media_type', form
      ? `the request body must be multipart/form-data (a file upload) (got ${JSON.stringify(got.slice(0, 100))})`
      : `the request body must be JSON: send Content-Type: application/json (got ${JSON.stringify(got.slice(0, 100))})`),
  invalidJson: (detail: string) => apiError(400, 'invalid_request_error', 'invalid_json', `request body is not valid JSON: ${detail}`),
  notAnObject: () => apiError(400, 'invalid_request_error', 'invalid_request', 'request body must be a JSON object'),
  missingModel: () => apiError(400, 'invalid_request_error', 'missing_model', 'you must provide a model parameter', 'model'),
  modelNotString: (got: string) =>
    apiError(400, 'invalid_request_error', 'invalid_type', `model must be a string naming the model, got ${got}`, 'model'),
  badField: (param: string, message: string) => apiError(400, 'invalid_request_error', 'invalid_value', message, param),
  missingKey: () =>
    apiError(401, 'authentication_error', 'missing_api_key', 'no API key provided: send Authorization: Bearer <key> (or x-api-key: <key>)'),
  invalidKey: () => apiError(401, 'authentication_error', 'invalid_api_key', 'incorrect API key provided'),
  authLockedOut: (retryAfterS: number) =>
    apiError(429, 'rate_limit_error', 'too_many_authentication_failures', `too many failed authentications from this address; try again in ${retryAfterS} s`),
  tooDeep: (max: number) => apiError(400, 'invalid_request_error', 'json_too_deep', `request body nests objects and arrays more than ${max} levels deep`),
  tooMany: (param: string, n: number, max: number) =>
    apiError(400, 'invalid_request_error', 'too_many_items', `${param} has ${n} items; at most ${max} are accepted`, param),
  tenantBusy: (tenant: string, max: number) =>
    apiError(503, 'service_unavailable', 'tenant_concurrency_exceeded', `tenant ${tenant} already has ${max} requests in flight (--max-inflight-per-tenant); retry when one finishes`),
  /** A bearer token that looks like a JWT and failed a check; `reason` names the check, never the token. */
  invalidToken: (reason: string) => apiError(401, 'authentication_error', 'invalid_token', `the bearer token was rejected: ${reason}`),
  suspended: (tenant: string) => apiError(403, 'permission_error', 'tenant_suspended', `tenant ${tenant} is suspended`),
  /**
   * A model that exists but is not allowed for the caller gets the same answer as one that does
   * not exist (as OpenAI does), so a tenant cannot map other tenants' model names.
   */
  modelNotFound: (model: string) =>
    apiError(404, 'invalid_request_error', 'model_not_found', `the model ${model} does not exist or you do not have access to it`, 'model'),
  tooLarge: (limit: number) =>
    apiError(413, 'invalid_request_error', 'request_too_large', `request body exceeds the limit of ${limit} bytes`),
  incapable: (message: string) => apiError(400, 'invalid_request_error', 'unsupported_capability', message),
  noHealthyBackend: (route: string) =>
    apiError(503, 'service_unavailable', 'no_healthy_backend', `no healthy backend for route ${route}`),
  badGateway: (detail: string) => apiError(502, 'upstream_error', 'bad_gateway', `upstream request failed: ${detail}`),
  upstreamAuth: (status: number, message: string) =>
    apiError(502, 'upstream_error', 'upstream_auth_failed', `the backend refused the gateway's credential (${status})${message ? `: ${message}` : ''}; check the backend's credentialsRef`),
  timeout: (detail: string) => apiError(504, 'timeout', 'upstream_timeout', `upstream timed out: ${detail}`),
  /** Our own limiter refused: `what` names the rule (`RateLimitPolicy ns/name rule x`, `Tenant ns/name quota tokensPerMinute`). */
  rateLimited: (what: string, unit: 'requests' | 'tokens', retryAfterS: number, oversize?: { needs: number; limit: number }) =>
    apiError(429, 'rate_limit_error', unit === 'tokens' ? 'tokens_rate_limit_exceeded' : 'rate_limit_exceeded',
      oversize
        ? `request too large for ${what}: it reserves ${oversize.needs} tokens (prompt estimate plus max_tokens, or the gateway's default when max_tokens is not set), more than the ${oversize.limit} the limit admits at once; lower max_tokens`
        : `rate limit reached: ${what} (${unit}); try again in ${retryAfterS} s`),
  budgetExceeded: (tenant: string, period: string, retryAfterS: number) =>
    apiError(429, 'insufficient_quota', 'budget_exceeded', `tenant ${tenant} has spent its ${period}ly budget; it renews in ${retryAfterS} s`),
  upstreamRateLimited: (detail: string) => apiError(429, 'rate_limit_error', 'upstream_rate_limited', `every backend is rate limited${detail}`),
  draining: () => apiError(503, 'service_unavailable', 'shutting_down', 'the proxy is shutting down'),
  streamInterrupted: (message: string, code: 'stream_interrupted' | 'upstream_timeout') => apiError(502, 'upstream_error', code, message),
} as const;
