import type { ServerResponse } from 'node:http';

/** OpenAI-style error: `{"error": {message, type, param, code}}`. Never carries a stack or a secret. */
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

export function errorBody(e: ApiError): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } });
}

export function sendError(res: ServerResponse, e: ApiError, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(e);
  res.statusCode = e.status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (extraHeaders) for (const k in extraHeaders) res.setHeader(k, extraHeaders[k]!);
  res.end(body);
}

export const Errors = {
  notFound: (path: string) => apiError(404, 'invalid_request_error', 'not_found', `no route for ${path}`),
  methodNotAllowed: (method: string, path: string) =>
    apiError(405, 'invalid_request_error', 'method_not_allowed', `${method} is not allowed on ${path}`),
  invalidJson: (detail: string) => apiError(400, 'invalid_request_error', 'invalid_json', `request body is not valid JSON: ${detail}`),
  notAnObject: () => apiError(400, 'invalid_request_error', 'invalid_request', 'request body must be a JSON object'),
  missingModel: () => apiError(400, 'invalid_request_error', 'missing_model', 'you must provide a model parameter', 'model'),
  badField: (param: string, message: string) => apiError(400, 'invalid_request_error', 'invalid_value', message, param),
  missingKey: () =>
    apiError(401, 'authentication_error', 'missing_api_key', 'no API key provided: send Authorization: Bearer <key>'),
  invalidKey: () => apiError(401, 'authentication_error', 'invalid_api_key', 'incorrect API key provided'),
  suspended: (tenant: string) => apiError(403, 'permission_error', 'tenant_suspended', `tenant ${tenant} is suspended`),
  modelNotAllowed: (model: string) =>
    apiError(403, 'permission_error', 'model_not_allowed', `you are not allowed to use model ${model}`, 'model'),
  modelNotFound: (model: string) =>
    apiError(404, 'invalid_request_error', 'model_not_found', `the model ${model} does not exist`, 'model'),
  tooLarge: (limit: number) =>
    apiError(413, 'invalid_request_error', 'request_too_large', `request body exceeds the limit of ${limit} bytes`),
  noHealthyBackend: (route: string) =>
    apiError(503, 'service_unavailable', 'no_healthy_backend', `no healthy backend for route ${route}`),
  badGateway: (detail: string) => apiError(502, 'upstream_error', 'bad_gateway', `upstream request failed: ${detail}`),
  timeout: (detail: string) => apiError(504, 'timeout', 'upstream_timeout', `upstream timed out: ${detail}`),
  draining: () => apiError(503, 'service_unavailable', 'shutting_down', 'the proxy is shutting down'),
  unsupported: (op: string, adapter: string) =>
    apiError(400, 'invalid_request_error', 'unsupported_operation', `${op} is not supported by the ${adapter} adapter`),
} as const;

/** Sockets node:http answered with 408 (--request-read-timeout), so their request logs say 408, not 499. */
export const readTimedOut = new WeakSet<object>();

/**
 * A response for a request node:http could not hand to the handler (malformed HTTP, headers
 * too large, a request not received within --request-read-timeout): an OpenAI-style body
 * written straight to the socket, then the connection closes.
 */
export function clientErrorResponse(err: Error & { code?: string }): string {
  const [status, reason, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request (headers and body) was not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
        : [400, 'Bad Request', 'malformed_request', 'the request is not valid HTTP/1.1'];
  const body = errorBody(apiError(status, 'invalid_request_error', code, message));
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
