import { apiError, errorBody } from '../api/errors.ts';

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
