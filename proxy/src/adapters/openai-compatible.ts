import type { IncomingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import { encodeForm } from './form.ts';
import { spliceRequest } from './json-splice.ts';
import { SseRelay } from './openai-sse-relay.ts';
import { usageFromBody } from './openai-usage.ts';
import type { Adapter, ClientRequest, Operation, ResponseMode, ResponseTranslator, UpstreamRequest, Usage } from './types.ts';
import { USER_AGENT, forwardableHeaders } from './upstream-headers.ts';

/**
 * One adapter for every server that speaks the OpenAI API: OpenAI itself, vLLM, Ollama (/v1),
 * Xinference, LocalAI, GPUStack. Bytes pass through untouched, both ways, unless the model
 * must be rewritten or usage must be requested for a stream; then only those bytes change.
 *
 * Backend options (all optional):
 *   authHeader   header carrying the credential (default authorization)
 *   authPrefix   prefix before the credential (default "Bearer " for authorization, "" otherwise)
 *   organization / project   OpenAI-Organization / OpenAI-Project headers
 *   header.<Name>            a static extra header
 */
const PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  rerank: '/rerank',
  moderations: '/moderations',
  images: '/images/generations',
  speech: '/audio/speech',
  responses: '/responses',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
  image_edits: '/images/edits',
};

/**
 * The event that ends the event streams of operations other than chat and completions (which
 * end with `[DONE]`): partial images, audio deltas, transcript deltas.
 */
const TERMINAL_EVENT: Partial<Record<Operation, Buffer>> = {
  images: Buffer.from('"image_generation.completed"'),
  image_edits: Buffer.from('"image_edit.completed"'),
  speech: Buffer.from('"speech.audio.done"'),
  transcriptions: Buffer.from('"transcript.text.done"'),
};

/** What every server of the OpenAI API serves; `OpenAIVariant.operations` says when one serves more. */
const OPENAI_OPERATIONS: readonly Operation[] = ['chat', 'completions', 'embeddings'];

/** Error bodies kept to read the upstream's message (the rest is dropped). */
const USAGE_BODY_CAP = 8 * 1024 * 1024;

/**
 * What a provider that speaks the OpenAI API with small differences changes (Azure OpenAI,
 * Hugging Face, DashScope, Hunyuan); every hook is optional and the default is OpenAI's.
 */
export interface OpenAIVariant {
  /** The operations the server serves (default chat, completions, embeddings; see adapters/index.ts for who serves more). */
  readonly operations?: readonly Operation[];
  /** The credential header when `options.authHeader` is unset (authorization). */
  readonly authHeader?: string;
  /** The upstream path (basePath + /chat/completions, ...). */
  path?(req: ClientRequest, backend: BackendIR, basePath: string): string;
  /** False when the model travels in the path and the body's model is left as the client sent it. */
  modelInBody?(backend: BackendIR, req: ClientRequest): boolean;
  /** False when the upstream rejects `stream_options`: a stream's usage is then not captured unless it sends it anyway. */
  streamUsage?(backend: BackendIR): boolean;
  /**
   * Members of the request body this provider names differently: key -> new value, or undefined
   * to remove it (the body is then re-serialised); null when nothing changes. Throws
   * UnsupportedRequest for a field the provider cannot honour.
   */
  adjust?(req: ClientRequest): Record<string, unknown> | null;
}

export function openAICompatible(name: string, variant: OpenAIVariant = {}): Adapter {
  const auth = (backend: BackendIR) => authHeaders(backend, variant.authHeader ?? 'authorization');
  return {
    name,
    supports: (op: Operation) => (variant.operations ?? OPENAI_OPERATIONS).includes(op),
    toUpstream: (req, backend, basePath) => toUpstream(req, backend, basePath, variant, auth),
    authHeaders: auth,
    translator: (req) => new PassThrough(req),
  };
}

function toUpstream(
  req: ClientRequest,
  backend: BackendIR,
  basePath: string,
  variant: OpenAIVariant,
  auth: (backend: BackendIR) => Record<string, string>,
): UpstreamRequest {
  const upstreamModel = backend.model ?? req.model;
  const rewrite = upstreamModel !== req.model && (variant.modelInBody?.(backend, req) ?? true);
  const addUsage = req.stream && !req.clientWantsUsage && (req.operation === 'chat' || req.operation === 'completions') && (variant.streamUsage?.(backend) ?? true);
  if (req.form !== undefined) {
    // Multipart: the parts written again with the backend's model (http/multipart.ts).
    const { body, contentType } = encodeForm(req.form, upstreamModel);
    const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(body.length), accept: '*/*', 'user-agent': USER_AGENT, 'x-request-id': req.requestId };
    Object.assign(headers, auth(backend));
    return { path: variant.path?.(req, backend, basePath) ?? basePath + PATHS[req.operation], headers, body };
  }
  const changes = variant.adjust?.(req) ?? null;
  let body: string | Buffer = req.raw;
  if (changes) body = reserialise(req, rewrite ? upstreamModel : req.model, addUsage, changes);
  else if (rewrite || addUsage) body = spliceRequest(req.raw, rewrite ? upstreamModel : null, addUsage) ?? reserialise(req, rewrite ? upstreamModel : req.model, addUsage);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
    accept: req.stream ? 'text/event-stream' : req.operation === 'speech' ? '*/*' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
  };
  Object.assign(headers, auth(backend));
  const target = req.target;
  if (target !== undefined) {
    // A stored response (GET, DELETE, cancel, input_items): no body but a cancel's empty one.
    const none = target.method !== 'POST';
    if (none) {
      delete headers['content-type'];
      delete headers['content-length'];
    } else headers['content-length'] = '0';
    return { method: target.method, path: variant.path?.(req, backend, basePath) ?? basePath + PATHS.responses + target.path, headers, body: '' };
  }
  return { path: variant.path?.(req, backend, basePath) ?? basePath + PATHS[req.operation], headers, body };
}

function authHeaders(backend: BackendIR, defaultHeader: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const opts = backend.options;
  if (backend.credential !== undefined) {
    const header = typeof opts.authHeader === 'string' ? opts.authHeader.toLowerCase() : defaultHeader;
    const prefix = typeof opts.authPrefix === 'string' ? opts.authPrefix : header === 'authorization' ? 'Bearer ' : '';
    headers[header] = prefix + backend.credential;
  }
  if (typeof opts.organization === 'string') headers['openai-organization'] = opts.organization;
  if (typeof opts.project === 'string') headers['openai-project'] = opts.project;
  for (const k in opts) {
    if (k.startsWith('header.')) headers[k.slice(7).toLowerCase()] = String(opts[k]);
  }
  return headers;
}

/** The exact path when the byte scan gave up (an escaped key) or members change: same meaning, numbers re-printed. */
function reserialise(req: ClientRequest, model: string, addUsage: boolean, changes: Record<string, unknown> = {}): string {
  const copy: Record<string, unknown> = { ...req.body, model, ...changes };
  for (const k in changes) if (changes[k] === undefined) delete copy[k];
  if (addUsage) {
    const so = req.body.stream_options;
    copy.stream_options = { ...(so && typeof so === 'object' ? so : {}), include_usage: true };
  }
  return JSON.stringify(copy);
}

/**
 * The OpenAI answer as is: 5xx and 429 are held back for a retry, streams are relayed event by
 * event (the usage chunk the proxy asked for is removed), bodies chunk by chunk, with usage
 * read from the last `"usage"` object.
 */
class PassThrough implements ResponseTranslator {
  usage: Usage | null = null;
  private relay: SseRelay | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private ok = false;
  private ended = false;
  private readonly req: ClientRequest;

  constructor(req: ClientRequest) {
    this.req = req;
  }

  get complete(): boolean {
    return this.ended || (this.relay?.sawDone ?? false);
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    // 401/403 mean the backend refused the gateway's credential, not the client's: held back
    // and answered as a gateway fault (502), never passed on as if the client's key were wrong.
    if (status >= 500 || status === 429 || status === 401 || status === 403) return 'error';
    // Usage is read from a JSON answer only (not from speech audio, which is relayed as it comes).
    const type = String(headers['content-type'] ?? '');
    this.ok = status < 300 && (type === '' || type.includes('json'));
    if (status < 300 && this.req.stream && String(headers['content-type'] ?? '').includes('text/event-stream')) {
      // Only chat and completions streams carry usage the proxy asked for (to be left out).
      const op = this.req.operation;
      this.relay = new SseRelay(!this.req.clientWantsUsage && (op === 'chat' || op === 'completions'));
      return 'stream';
    }
    return 'body';
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode) {
    return forwardableHeaders(upstream, mode === 'stream');
  }

  body(chunk: Buffer): Buffer {
    if (this.ok && this.size < USAGE_BODY_CAP) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    return chunk;
  }

  bodyEnd(): null {
    if (this.ok) this.usage = usageFromBody(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size));
    this.chunks = [];
    return null;
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.relay!.push(chunk);
    this.usage = this.relay!.usage;
    const end = TERMINAL_EVENT[this.req.operation];
    if (end !== undefined && out !== null && !this.ended && out.indexOf(end) >= 0) this.ended = true;
    return out;
  }

  streamRest(): Buffer | null {
    const rest = this.relay!.rest();
    this.usage = this.relay!.usage;
    return rest;
  }

  errorMessage(body: Buffer): string {
    return openAIErrorMessage(body);
  }
}

/** The `error.message` (or string `error`) of an OpenAI-style error body, at most 500 characters. */
export function openAIErrorMessage(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message;
    return typeof m === 'string' ? m.slice(0, 500) : '';
  } catch {
    return '';
  }
}
