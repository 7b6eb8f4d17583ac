// Response ids of the Responses API as the client sees them. A stored response lives on the
// endpoint that created it (OpenAI's account, one vLLM pod's memory), so every later use of its
// id (previous_response_id, GET, DELETE, cancel, input_items) must reach that endpoint again.
// The gateway encodes where it came from into the id itself rather than keeping a mapping: no
// state to lose on a restart, nothing to share between replicas (with or without Redis), and no
// bound to pick for how long a client may come back. The id keeps OpenAI's `resp_` prefix.
import { createHash } from 'node:crypto';

const PREFIX = 'resp_jr1';

/** Where a response was stored, and its id there. */
export interface ResponseOrigin {
  /** The ModelRoute (`namespace/name`) that served it. */
  readonly route: string;
  readonly backend: string;
  /** A digest of the endpoint URL (the URL itself may name a pod: not shown to clients). */
  readonly endpoint: string;
  /** The Tenant that created it: only that tenant may use the id again. */
  readonly tenant: string;
  /** The model the client asked for, which names the route again (and the caller's grant). */
  readonly model: string;
  /** The id the backend gave it. */
  readonly upstream: string;
}

/** The short digest an encoded id names an endpoint by. */
export function endpointDigest(url: string): string {
  return createHash('sha256').update(url).digest('base64url').slice(0, 16);
}

export function encodeResponseId(o: ResponseOrigin): string {
  const payload = JSON.stringify([o.route, o.backend, o.endpoint, o.tenant, o.model, o.upstream]);
  return PREFIX + Buffer.from(payload).toString('base64url');
}

/** The origin of an id the gateway gave out, or null for any other id (a backend's own, or garbage). */
export function decodeResponseId(id: string): ResponseOrigin | null {
  if (!id.startsWith(PREFIX) || id.length > 4096) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(id.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 6 || !v.every((x) => typeof x === 'string' && x !== '')) return null;
  const [route, backend, endpoint, tenant, model, upstream] = v as string[];
  return { route: route!, backend: backend!, endpoint: endpoint!, tenant: tenant!, model: model!, upstream: upstream! };
}
