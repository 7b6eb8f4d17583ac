import type { IncomingHttpHeaders } from 'node:http';

/** Headers a browser client may read from our answers. */
const EXPOSED = 'x-request-id, x-jairouter-route, x-jairouter-backend, retry-after';
/** Request headers allowed when a preflight names none. */
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-api-key, x-request-id';

/**
 * Cross-origin access for browser clients, off unless origins are configured
 * (`--cors-allow-origin`). `*` allows every origin; the proxy never uses cookies, so
 * credentials mode is not offered and the key travels in the Authorization header.
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    this.origins = new Set(origins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  }

  /** The Access-Control-Allow-Origin value for a request's Origin, or null when it is not allowed. */
  allow(origin: string | undefined): string | null {
    if (origin === undefined) return null;
    if (this.any) return '*';
    return this.origins.has(origin.toLowerCase()) ? origin : null;
  }

  /** Headers added to every answer to an allowed cross-origin request. */
  responseHeaders(allowed: string): Record<string, string> {
    return allowed === '*'
      ? { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED }
      : { 'access-control-allow-origin': allowed, 'access-control-expose-headers': EXPOSED, vary: 'Origin' };
  }

  /** The answer to a preflight from an allowed origin. */
  preflightHeaders(allowed: string, req: IncomingHttpHeaders): Record<string, string> {
    const requested = req['access-control-request-headers'];
    return {
      'access-control-allow-origin': allowed,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': typeof requested === 'string' && requested.length > 0 ? requested : DEFAULT_ALLOWED_HEADERS,
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Headers',
    };
  }
}
