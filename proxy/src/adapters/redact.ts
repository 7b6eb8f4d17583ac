// Some providers and self-hosted servers repeat the credential they refused in their error
// message ("Incorrect API key provided: sk-..."). The proxy relays an upstream's message to the
// client (upstream_auth_failed, bad_gateway, upstream_rate_limited), and a 4xx answer with its
// headers as it came, so the gateway's own credential would reach a tenant: every translator
// is scrubbed of it here.
import type { OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import type { Adapter, ResponseTranslator } from './types.ts';

export const REDACTED = '<redacted>';

/** The secrets in a backend credential: the whole value, and each string member of a JSON credential (AWS, Tencent Cloud key pairs) of 8 characters or more. */
export function credentialSecrets(credential: string | undefined): string[] {
  if (!credential) return [];
  const out = [credential];
  try {
    const j = JSON.parse(credential) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) for (const v of Object.values(j)) if (typeof v === 'string' && v.length >= 8) out.push(v);
  } catch {
    // not JSON: the whole value is the secret
  }
  return out;
}

/** `text` with every occurrence of each secret replaced by <redacted>. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** The adapter, its translators scrubbing the backend's credential from what reaches the client. */
export function redactingErrors(a: Adapter): Adapter {
  return {
    name: a.name,
    ...(a.passesThrough !== undefined && { passesThrough: a.passesThrough }),
    supports: (op) => a.supports(op),
    toUpstream: (req, backend, basePath, origin) => a.toUpstream(req, backend, basePath, origin),
    authHeaders: (backend) => a.authHeaders(backend),
    translator: (req, backend: BackendIR): ResponseTranslator => {
      const t = a.translator(req, backend);
      const secrets = credentialSecrets(backend.credential);
      return secrets.length === 0 ? t : scrubbing(t, secrets);
    },
  };
}

/**
 * `t`, scrubbing `secrets` from the upstream's error message, from the response headers, and
 * from a relayed error body (a 4xx passed on: held to its end, as a secret may span chunks;
 * error bodies are small). Successful bodies and streams pass as they come.
 */
function scrubbing(t: ResponseTranslator, secrets: readonly string[]): ResponseTranslator {
  const classify = t.classify.bind(t);
  const headers = t.headers.bind(t);
  const body = t.body.bind(t);
  const bodyEnd = t.bodyEnd.bind(t);
  const errorMessage = t.errorMessage.bind(t);
  let hold = false;
  const held: Buffer[] = [];
  t.classify = (status, h) => {
    const mode = classify(status, h);
    hold = mode === 'body' && status >= 400;
    return mode;
  };
  t.headers = (h, mode) => {
    const out: OutgoingHttpHeaders = { ...headers(h, mode) };
    for (const k in out) {
      const v = out[k];
      if (typeof v === 'string') out[k] = redact(v, secrets);
      else if (Array.isArray(v)) out[k] = v.map((x) => redact(x, secrets));
    }
    // The held body may change length once scrubbed.
    if (hold) delete out['content-length'];
    return out;
  };
  t.body = (chunk) => {
    const out = body(chunk);
    if (!hold) return out;
    if (out) held.push(out);
    return null;
  };
  t.bodyEnd = () => {
    const rest = bodyEnd();
    if (!hold) return rest;
    if (rest) held.push(rest);
    const all = Buffer.concat(held);
    return secrets.some((s) => all.includes(s)) ? Buffer.from(redact(all.toString('utf8'), secrets)) : all;
  };
  t.errorMessage = (b) => redact(errorMessage(b), secrets);
  return t;
}
