import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import pkg from '../../package.json' with { type: 'json' };

/**
 * Upstream response headers not passed on: hop-by-hop ones; the upstream's own x-request-id
 * (OpenAI sends one), which never replaces ours; and those that describe the platform's
 * provider account rather than the answer (OpenAI's organization and project ids, cookies set
 * for the account's session).
 */
const NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'x-request-id', 'set-cookie', 'openai-organization', 'openai-project',
]);

/** The upstream's headers a client may see; without content-length when the body is re-framed (streams). */
export function forwardableHeaders(h: IncomingHttpHeaders, dropLength: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (NOT_FORWARDED.has(k) || (dropLength && k === 'content-length')) continue;
    out[k] = h[k];
  }
  return out;
}

/** `jairouter/<version>`: what upstream requests and probes say they are. */
export const USER_AGENT = `jairouter/${pkg.version}`;
