// Some providers and self-hosted servers repeat the credential they refused in their error
// message ("Incorrect API key provided: sk-..."). The proxy relays an upstream's message to the
// client (upstream_auth_failed, bad_gateway, upstream_rate_limited), a 4xx answer with its
// headers as it came, a translated answer (a provider's error turned into an OpenAI error body,
// Hunyuan's errors that come with HTTP 200) and stream events (an error event after the stream
// started), so the gateway's own credential would reach a tenant: every translator is scrubbed
// of it here.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import type { Adapter, ClientRequest, ResponseMode, ResponseTranslator, Usage } from './types.ts';

export const REDACTED = '<redacted>';

/** The secrets in a backend credential: the whole value, and each string member of a JSON credential (AWS, Tencent Cloud key pairs) of 8 characters or more. */
export function credentialSecrets(credential: string | undefined): string[] {
  if (!credential) return [];
  const out = [credential];
  // Only a text that can be a JSON object is parsed: a thrown SyntaxError costs microseconds.
  if (!/^\s*\{/.test(credential)) return out;
  try {
    const j = JSON.parse(credential) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) for (const v of Object.values(j)) if (typeof v === 'string' && v.length >= 8) out.push(v);
  } catch {
    // not JSON: the whole value is the secret
  }
  return out;
}

/**
 * The forms a secret takes in an upstream's text: as is, JSON-escaped (a quote, backslash or
 * control character in it), with `/` escaped (PHP's and some Java encoders' `\/`), with `<`, `>`
 * and `&` escaped (Go's encoding/json). Forms equal to another are left out.
 */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const all = [secret, json, json.replaceAll('/', '\\/'), json.replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026')];
  return all.filter((f, i) => all.indexOf(f) === i);
}

/** `text` with every occurrence of each secret replaced by <redacted>. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** Above this size a body is searched by Buffer#indexOf (native, fast on long texts); below, by `Secrets.has`'s loop (no native call set-up). */
const NATIVE_SEARCH_FROM = 4096;

/**
 * A backend credential's secrets in every form an upstream may write them, longest first (the
 * whole JSON credential before its members), as text, and as bytes to look for in a body.
 * Computed once per backend (`secretsOf`).
 */
export class Secrets {
  readonly texts: readonly string[];
  /** What is searched for: the forms that contain no other form (where one of those is, the other is too). */
  private readonly needles: readonly Buffer[];
  /** The shortest needle's length, and the Horspool shift of each byte over the needles' first `min` bytes. */
  private readonly min: number;
  private readonly shift = new Uint8Array(256);

  constructor(credential: string | undefined) {
    const texts = [...new Set(credentialSecrets(credential).flatMap(forms))].sort((a, b) => b.length - a.length);
    this.texts = texts;
    const bytes = texts.map((t) => Buffer.from(t, 'utf8'));
    this.needles = bytes.filter((b, i) => !bytes.some((o, j) => j !== i && o.length < b.length && b.includes(o)));
    this.min = Math.min(255, ...this.needles.map((n) => n.length));
    this.shift.fill(this.min);
    // A byte at distance d from the end of a needle's first `min` bytes: the window may end d bytes further; 0 means compare here.
    for (const n of this.needles) for (let j = 0; j < this.min; j++) this.shift[n[j]!] = Math.min(this.shift[n[j]!]!, this.min - 1 - j);
  }

  get empty(): boolean {
    return this.texts.length === 0;
  }

  /** `text` without any of the secrets. */
  redact(text: string): string {
    return redact(text, this.texts);
  }

  /** `b` itself when it holds none of the secrets (nothing allocated), else a scrubbed copy. */
  scrub(b: Buffer): Buffer {
    return this.has(b) ? Buffer.from(redact(b.toString('utf8'), this.texts), 'utf8') : b;
  }

  /**
   * Whether `b` holds a secret. A stream event of a few hundred bytes is searched in one pass
   * for every needle (Horspool over their common prefix length: a byte that is in no needle
   * skips `min` bytes), which costs a fraction of one Buffer#indexOf call per needle.
   */
  has(b: Buffer): boolean {
    const needles = this.needles;
    const n = b.length;
    if (n >= NATIVE_SEARCH_FROM || this.min < 4) {
      for (let k = 0; k < needles.length; k++) if (b.indexOf(needles[k]!) >= 0) return true;
      return false;
    }
    const m = this.min;
    const shift = this.shift;
    for (let i = m - 1; i < n; ) {
      const s = shift[b[i]!]!;
      if (s !== 0) {
        i += s;
        continue;
      }
      const start = i - m + 1;
      for (let k = 0; k < needles.length; k++) if (matchAt(b, start, needles[k]!)) return true;
      i++;
    }
    return false;
  }
}

function matchAt(b: Buffer, at: number, needle: Buffer): boolean {
  const len = needle.length;
  if (at + len > b.length) return false;
  for (let j = len - 1; j >= 0; j--) if (b[at + j] !== needle[j]) return false;
  return true;
}

const NONE = new Secrets(undefined);
/** Per backend: BackendIR objects live as long as their config version, so the credential is read once per version. */
const cache = new WeakMap<BackendIR, Secrets>();

/** The backend's secrets, computed on first use and kept with the backend. */
export function secretsOf(backend: BackendIR): Secrets {
  if (backend.credential === undefined || backend.credential === '') return NONE;
  let s = cache.get(backend);
  if (s === undefined) {
    s = new Secrets(backend.credential);
    cache.set(backend, s);
  }
  return s;
}

/** The adapter, its translators scrubbing the backend's credential from what reaches the client. */
export function redactingErrors(a: Adapter): Adapter {
  return {
    name: a.name,
    ...(a.passesThrough !== undefined && { passesThrough: a.passesThrough }),
    supports: (op) => a.supports(op),
    toUpstream: (req, backend, basePath, origin) => a.toUpstream(req, backend, basePath, origin),
    authHeaders: (backend) => a.authHeaders(backend),
    translator: (req: ClientRequest, backend: BackendIR): ResponseTranslator => {
      const t = a.translator(req, backend);
      const secrets = secretsOf(backend);
      return secrets.empty ? t : new Scrubbing(t, secrets);
    },
  };
}

/**
 * `t`, scrubbing the secrets from everything of the upstream's that reaches the client:
 * - the error message (5xx, 429, 401, 403), read from a scrubbed body, so a message cut at its
 *   length limit cannot keep part of a secret;
 * - the response headers;
 * - a body that is not a success (3xx, 4xx): held to its end (a secret may span chunks; such
 *   bodies are small), scrubbed, then translated, and the translation scrubbed again;
 * - what a translator gives at a body's end (the translation of a held body: Hunyuan's errors
 *   come with HTTP 200): one search over a body already parsed and re-serialised;
 * - every stream output: translators and the OpenAI relay give whole events, so a secret never
 *   spans two outputs; one pass over each output for every secret (`Secrets.has`) finds an
 *   error event after the stream started, or a successful event repeating the credential.
 * A successful body relayed as it comes (the OpenAI and Anthropic pass-through) is not: it is
 * sent chunk by chunk, with the upstream's content-length.
 */
class Scrubbing implements ResponseTranslator {
  private readonly t: ResponseTranslator;
  private readonly secrets: Secrets;
  /** Raw chunks of a held (not successful) body, null when the body is relayed. */
  private held: Buffer[] | null = null;
  /** The body is held, and scrubbed at its end: its length may change (the headers are asked for after bodyEnd). */
  private holding = false;

  constructor(t: ResponseTranslator, secrets: Secrets) {
    this.t = t;
    this.secrets = secrets;
  }

  get complete(): boolean {
    return this.t.complete;
  }

  get usage(): Usage | null {
    return this.t.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    const mode = this.t.classify(status, headers);
    if (mode === 'body' && status >= 300) {
      this.held = [];
      this.holding = true;
    }
    return mode;
  }

  status(upstream: number): number {
    return this.t.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    // Every translator builds a fresh object (forwardableHeaders): scrubbed in place.
    const out = this.t.headers(upstream, mode);
    const s = this.secrets;
    for (const k in out) {
      const v = out[k];
      if (typeof v === 'string') out[k] = s.redact(v);
      else if (Array.isArray(v)) out[k] = v.map((x) => s.redact(x));
    }
    // The held body may change length once scrubbed.
    if (this.holding) delete out['content-length'];
    return out;
  }

  body(chunk: Buffer): Buffer | null {
    if (this.held) {
      this.held.push(chunk);
      return null;
    }
    return this.t.body(chunk);
  }

  bodyEnd(): Buffer | null {
    const held = this.held;
    if (!held) {
      const rest = this.t.bodyEnd();
      if (!rest) return rest;
      const out = this.secrets.scrub(rest);
      // Nothing was sent before (the translator held it all), so the headers are still to come.
      if (out !== rest) this.holding = true;
      return out;
    }
    this.held = null;
    const raw = held.length === 1 ? held[0]! : Buffer.concat(held);
    const first = this.t.body(this.secrets.scrub(raw));
    const rest = this.t.bodyEnd();
    const out = first && rest ? Buffer.concat([first, rest]) : (first ?? rest);
    return out && this.secrets.scrub(out);
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.t.stream(chunk);
    return out && this.secrets.scrub(out);
  }

  streamRest(): Buffer | null {
    const out = this.t.streamRest();
    return out && this.secrets.scrub(out);
  }

  errorMessage(body: Buffer): string {
    return this.secrets.redact(this.t.errorMessage(this.secrets.scrub(body)));
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.t.retryAfterMs?.(body);
  }
}
