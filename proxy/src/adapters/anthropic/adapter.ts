import type { BackendIR } from '@jairouter/crds';
import { completionAsChunks } from '../buffered-body.ts';
import { HeldTranslator } from '../held-translator.ts';
import type { Adapter, ClientRequest, Operation, UpstreamRequest } from '../types.ts';
import { USER_AGENT } from '../upstream-headers.ts';
import { openAIToAnthropic } from './request.ts';
import { anthropicError, errorToOpenAI, messageToOpenAI, toUsage } from './response.ts';
import { AnthropicPassThrough, passThroughRequest } from './passthrough.ts';
import { AnthropicStream } from './stream.ts';

/**
 * The `anthropic` adapter: OpenAI chat requests to Anthropic's Messages API
 * (`POST {url}/v1/messages`) and its answers, JSON and stream, back to OpenAI's shape.
 *
 * Backend options (all optional):
 *   anthropicVersion   the anthropic-version header (default 2023-06-01)
 *   beta               the anthropic-beta header (comma-separated beta names)
 *
 * `now` is the clock for `created` (adapters read no clock of their own).
 */
export const ANTHROPIC_VERSION = '2023-06-01';


export function anthropic(now: () => number = Date.now): Adapter {
  return {
    name: 'anthropic',
    passesThrough: 'anthropic',
    supports: (op: Operation) => op === 'chat',
    toUpstream,
    authHeaders,
    translator: (req) => (req.ingress?.schema === 'anthropic' ? new AnthropicPassThrough(req.stream) : new AnthropicTranslator(req, req.model, Math.floor(now() / 1000))),
  };
}

function toUpstream(req: ClientRequest, backend: BackendIR, basePath: string): UpstreamRequest {
  if (req.ingress?.schema === 'anthropic') return passThroughRequest(req, req.ingress, backend, basePath, baseHeaders(req, backend));
  const body = JSON.stringify(openAIToAnthropic(req.body, backend.model ?? req.model, req.stream));
  const headers = baseHeaders(req, backend);
  headers['content-length'] = String(Buffer.byteLength(body));
  return { path: basePath + '/v1/messages', headers, body };
}

function baseHeaders(req: ClientRequest, backend: BackendIR): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
  };
  return Object.assign(headers, authHeaders(backend));
}

export function authHeaders(backend: BackendIR): Record<string, string> {
  const opts = backend.options;
  const headers: Record<string, string> = { 'anthropic-version': typeof opts.anthropicVersion === 'string' ? opts.anthropicVersion : ANTHROPIC_VERSION };
  if (typeof opts.beta === 'string' && opts.beta) headers['anthropic-beta'] = opts.beta;
  if (backend.credential !== undefined) headers['x-api-key'] = backend.credential;
  return headers;
}

/** One attempt's Anthropic answer, as OpenAI's. */
class AnthropicTranslator extends HeldTranslator<AnthropicStream> {
  // 529 (Anthropic's overloaded) is a 5xx like the others: HeldTranslator holds it back, retried on another endpoint.
  protected openStream(): AnthropicStream {
    return new AnthropicStream(this.req.clientWantsUsage, this.created);
  }

  /** Decided with the headers (a body is relayed from them on): a 413 is a context-length 400. */
  status(upstream: number): number {
    return upstream === 413 ? 400 : upstream;
  }

  bodyEnd(): Buffer {
    const raw = this.held.take();
    if (this.upstreamStatus >= 300) {
      const e = errorToOpenAI(this.upstreamStatus, raw);
      return Buffer.from(JSON.stringify(e.body));
    }
    try {
      const m = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      if (this.req.stream) {
        // A stream was asked for and a JSON message came: the client still gets a stream.
        const c = messageToOpenAI(m, this.created);
        this.usage = toUsage(c.usage as Record<string, unknown>);
        return Buffer.from(completionAsChunks(c, this.created, this.req.clientWantsUsage));
      }
      const out = messageToOpenAI(m, this.created);
      this.usage = toUsage(out.usage as Record<string, unknown>);
      return Buffer.from(JSON.stringify(out));
    } catch {
      return Buffer.from(JSON.stringify({ error: { message: 'the Anthropic backend answered with a body that is not JSON', type: 'upstream_error', param: null, code: 'bad_gateway' } }));
    }
  }

  errorMessage(body: Buffer): string {
    return anthropicError(body).message;
  }
}
