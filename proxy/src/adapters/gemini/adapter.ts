import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import { HeldTranslator } from '../held-translator.ts';
import { UnsupportedRequest, type Adapter, type ClientRequest, type Operation, type ResponseMode, type UpstreamRequest } from '../types.ts';
import { USER_AGENT } from '../upstream-headers.ts';
import { chatToGemini } from './request.ts';
import { embeddingsToOpenAI, errorToOpenAI, googleError, responseToOpenAI } from './response.ts';
import { GeminiStream } from './stream.ts';
import { imagesFromGemini, imagesToGemini } from './images.ts';

/**
 * The `gemini` adapter: OpenAI chat and embeddings requests to the Gemini API
 * (`POST {url}/{apiVersion}/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
 * `:batchEmbedContents`; image generation through an image model's `:generateContent`) with the credential in `x-goog-api-key`, and the answers, JSON and
 * stream, back to OpenAI's shape.
 *
 * Backend options (all optional):
 *   apiVersion   v1beta (default) or v1, the API version in the path
 *
 * `now` is the clock for `created` (adapters read no clock of their own).
 */
export const API_VERSIONS = ['v1beta', 'v1'] as const;


export function gemini(now: () => number = Date.now): Adapter {
  return {
    name: 'gemini',
    supports: (op: Operation) => op === 'chat' || op === 'embeddings' || op === 'images',
    toUpstream,
    authHeaders,
    translator: (req, backend) => new GeminiTranslator(req, upstreamModel(req, backend), Math.floor(now() / 1000)),
  };
}

/** The model id without the `models/` prefix Gemini's resource names carry. */
function upstreamModel(req: ClientRequest, backend: BackendIR): string {
  const m = backend.model ?? req.model;
  return m.startsWith('models/') ? m.slice(7) : m;
}

function apiVersion(backend: BackendIR): string {
  const v = backend.options.apiVersion;
  if (v === undefined || v === '') return 'v1beta';
  // It becomes a path segment: nothing that could leave it.
  if (typeof v !== 'string' || !/^v[0-9a-z]+$/.test(v)) throw new UnsupportedRequest('options.apiVersion', `the gemini backend ${backend.name} has an apiVersion that is not an API version (v1beta, v1)`);
  return v;
}

function toUpstream(req: ClientRequest, backend: BackendIR, basePath: string): UpstreamRequest {
  const model = upstreamModel(req, backend);
  const base = `${basePath}/${apiVersion(backend)}/models/${encodeURIComponent(model)}`;
  let path: string;
  let body: string;
  if (req.operation === 'embeddings') {
    path = `${base}:batchEmbedContents`;
    body = JSON.stringify(embeddingsToGemini(req.body, model));
  } else if (req.operation === 'images') {
    if (req.stream) throw new UnsupportedRequest('stream', 'image generation on the Gemini API (backend adapter gemini) makes whole images: leave stream out');
    path = `${base}:generateContent`;
    body = JSON.stringify(imagesToGemini(req.body));
  } else if (req.operation === 'chat') {
    path = req.stream ? `${base}:streamGenerateContent?alt=sse` : `${base}:generateContent`;
    body = JSON.stringify(chatToGemini(req.body));
  } else {
    throw new UnsupportedRequest('prompt', 'the gemini adapter serves chat completions and embeddings, not legacy completions');
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
  };
  Object.assign(headers, authHeaders(backend));
  return { path, headers, body };
}

function authHeaders(backend: BackendIR): Record<string, string> {
  return backend.credential !== undefined ? { 'x-goog-api-key': backend.credential } : {};
}

/** The embeddings inputs as texts (token arrays have no Gemini equivalent). */
export function embeddingInputs(body: Readonly<Record<string, unknown>>): string[] {
  const input = body.input;
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((i) => typeof i === 'string')) return input as string[];
  throw new UnsupportedRequest('input', 'input: the gemini adapter embeds text only (not token arrays)');
}

/** An OpenAI embeddings request as a Gemini batchEmbedContents request. */
export function embeddingsToGemini(body: Readonly<Record<string, unknown>>, model: string): Record<string, unknown> {
  for (const k in body) {
    if (body[k] === null || body[k] === undefined || ['model', 'input', 'dimensions', 'encoding_format', 'user'].includes(k)) continue;
    throw new UnsupportedRequest(k, `${k}: the gemini adapter cannot send this embeddings field`);
  }
  const dims = typeof body.dimensions === 'number' ? body.dimensions : undefined;
  return {
    requests: embeddingInputs(body).map((text) => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(dims !== undefined ? { outputDimensionality: dims } : {}),
    })),
  };
}

/** One attempt's Gemini answer, as OpenAI's. */
class GeminiTranslator extends HeldTranslator<GeminiStream> {
  /** Set when the body shows the answer must reach the client with another status. */
  private clientStatus: number | undefined;

  protected openStream(): GeminiStream {
    return new GeminiStream(`chatcmpl-${this.req.requestId}`, this.model, this.created, this.req.clientWantsUsage);
  }

  /** Gemini streams (alt=sse) whatever its content type says: a 2xx chat stream is always parsed as one. */
  override classify(status: number, _headers: IncomingHttpHeaders): ResponseMode {
    // 401/403 are the gateway's credential failing: held back, answered 502 by the proxy.
    if (status >= 500 || status === 429 || status === 401 || status === 403) return 'error';
    this.upstreamStatus = status;
    if (status < 300 && this.req.stream && this.req.operation === 'chat') {
      this.streamer = this.openStream();
      return 'stream';
    }
    return 'body';
  }

  status(upstream: number): number {
    return this.clientStatus ?? upstream;
  }

  /** A held body is JSON, even when a stream was asked for (embeddings, errors). */
  override headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = super.headers(upstream, mode);
    h['content-type'] = mode === 'stream' ? 'text/event-stream' : 'application/json';
    return h;
  }

  bodyEnd(): Buffer {
    const raw = this.held.take();
    if (this.upstreamStatus >= 300) {
      const body = errorToOpenAI(this.upstreamStatus, raw);
      // Google answers a refused API key with 400 API_KEY_INVALID: the gateway's credential, a 502.
      if ((body.error as { code?: unknown }).code === 'upstream_auth_failed') this.clientStatus = 502;
      return Buffer.from(JSON.stringify(body));
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.clientStatus = 502;
      return Buffer.from(JSON.stringify({ error: { message: 'the Gemini backend answered a body that is not JSON', type: 'api_error', param: null, code: 'bad_upstream_response' } }));
    }
    let out: Record<string, unknown>;
    if (this.req.operation === 'images') {
      const images = imagesFromGemini(parsed, this.created);
      if (images !== null) {
        this.usage = { promptTokens: images.input, completionTokens: images.output };
        return Buffer.from(JSON.stringify(images.answer));
      }
      this.clientStatus = 400;
      return Buffer.from(JSON.stringify({ error: { message: 'the Gemini backend returned no image (blocked by its safety policy, or the model answered in text only)', type: 'invalid_request_error', param: 'prompt', code: 'content_policy_violation' } }));
    }
    if (this.req.operation === 'embeddings') {
      out = embeddingsToOpenAI(parsed, this.model, embeddingInputs(this.req.body), this.req.body.encoding_format === 'base64');
    } else {
      out = responseToOpenAI(parsed, this.model, `chatcmpl-${this.req.requestId}`, this.created);
    }
    const u = out.usage as Record<string, unknown>;
    this.usage = { promptTokens: u.prompt_tokens as number, completionTokens: (u.completion_tokens as number | undefined) ?? 0 };
    return Buffer.from(JSON.stringify(out));
  }

  /** GeminiStream flushes its partial last event with end(). */
  override streamRest(): Buffer | null {
    const out = this.streamer!.end();
    this.usage = this.streamer!.usage;
    return out;
  }

  errorMessage(body: Buffer): string {
    return googleError(body).message;
  }

  retryAfterMs(body: Buffer): number | undefined {
    return googleError(body).retryDelayMs;
  }
}
