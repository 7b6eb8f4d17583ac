import type { IncomingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type Adapter, type ClientRequest, type ResponseTranslator, type UpstreamRequest } from '../../adapters/types.ts';
import { Errors, type ApiError } from '../../api/errors.ts';
import { estimateTokens } from '../../runtime/capabilities.ts';
import { UntranslatableField, anthropicToOpenAI } from './request.ts';
import { AnthropicIngressTranslator } from './translator.ts';

/**
 * The Anthropic-compatible ingress (`POST /v1/messages`, `/v1/messages/count_tokens`): an
 * Anthropic request becomes the canonical OpenAI ClientRequest once, here, keeping the original
 * for a backend that speaks Anthropic (which gets it as it came); answers of other backends are
 * translated back by AnthropicIngressTranslator around the backend's own translator.
 */
export const MESSAGES = '/v1/messages';
export const COUNT_TOKENS = '/v1/messages/count_tokens';

type Json = Record<string, unknown>;

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : undefined;
}

/** The parsed body with its model checked, or the client's error. */
function parseBody(raw: Buffer): { body: Json; model: string } | ApiError {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return Errors.invalidJson((e as Error).message);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return Errors.notAnObject();
  const b = body as Json;
  if (b.model === undefined || b.model === null || b.model === '') return Errors.missingModel();
  if (typeof b.model !== 'string') return Errors.modelNotString(Array.isArray(b.model) ? 'an array' : `a ${typeof b.model}`);
  return { body: b, model: b.model };
}

function translate(body: Json): { openai: Json } | UntranslatableField {
  try {
    return { openai: anthropicToOpenAI(body) };
  } catch (e) {
    if (e instanceof UntranslatableField) return e;
    throw e;
  }
}

/** A Messages request as the ClientRequest the pipeline routes, or the client's error. */
export function messagesRequest(raw: Buffer, headers: IncomingHttpHeaders, requestId: string): ClientRequest | ApiError {
  const parsed = parseBody(raw);
  if ('status' in parsed) return parsed;
  const { body, model } = parsed;
  if (typeof body.max_tokens !== 'number') return Errors.badField('max_tokens', 'max_tokens: Field required (a number)');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return Errors.badField('stream', 'stream must be a boolean');
  const stream = body.stream === true;
  // Without an OpenAI form the request may still go to an Anthropic backend as it came; for
  // routing and accounting it is then only its model and stream flag.
  const translated = translate(body);
  const untranslatable = translated instanceof UntranslatableField ? { field: translated.field, message: translated.message } : undefined;
  const openai = translated instanceof UntranslatableField ? { model, messages: [], stream } : translated.openai;
  return {
    operation: 'chat',
    raw: Buffer.from(JSON.stringify(openai)),
    body: openai,
    model,
    stream,
    clientWantsUsage: stream,
    requestId,
    ingress: { schema: 'anthropic', raw, body, version: header(headers, 'anthropic-version'), beta: header(headers, 'anthropic-beta'), untranslatable },
  };
}

/**
 * `count_tokens`: the proxy's own estimate (the same as capability routing uses, about four
 * characters a token), answered without calling a backend, so it works for every route and
 * costs no provider quota. Anthropic's exact count would need an Anthropic backend.
 */
export function countTokens(raw: Buffer): { model: string; answer: string } | ApiError {
  const parsed = parseBody(raw);
  if ('status' in parsed) return parsed;
  const translated = translate(parsed.body);
  if (translated instanceof UntranslatableField) return Errors.badField(translated.field, translated.message);
  return { model: parsed.model, answer: JSON.stringify({ input_tokens: estimateTokens('chat', { ...translated.openai, max_tokens: 0 }) }) };
}

/** The upstream request of an attempt: a request without an OpenAI form is refused by every backend that does not pass it through. */
export function upstreamRequest(adapter: Adapter, client: ClientRequest, backend: BackendIR, basePath: string, origin: string): UpstreamRequest | Promise<UpstreamRequest> {
  const u = client.ingress?.untranslatable;
  if (u !== undefined && adapter.passesThrough !== client.ingress!.schema) throw new UnsupportedRequest(u.field, `${u.message} (backend ${backend.name}, adapter ${adapter.name})`);
  return adapter.toUpstream(client, backend, basePath, origin);
}

/** The translator an attempt uses: the backend's own when it speaks the client's API, else wrapped. */
export function ingressTranslator(client: ClientRequest, inner: ResponseTranslator, passesThrough: string | undefined): ResponseTranslator {
  if (client.ingress === undefined || passesThrough === client.ingress.schema) return inner;
  return new AnthropicIngressTranslator(inner, client.model);
}
