import { completionAsChunks } from '../buffered-body.ts';
import { HeldTranslator } from '../held-translator.ts';
import type { BackendIR } from '@jairouter/crds';
import type { Adapter, ClientRequest, Operation, UpstreamRequest } from '../types.ts';
import { USER_AGENT } from '../upstream-headers.ts';
import { openAIToCohere, openAIToCohereEmbed } from './request.ts';
import { chatToOpenAI, clientStatus, cohereErrorMessage, embedToOpenAI, errorToOpenAI, isFailure, toUsage } from './response.ts';
import { rerankFromCohere, rerankToCohere } from './rerank.ts';
import { CohereStream } from './stream.ts';

/**
 * The `cohere` adapter: OpenAI chat requests to Cohere's v2 Chat API (`POST {url}/v2/chat`,
 * streams as v2 stream events) and embeddings to `POST {url}/v2/embed`, answers translated
 * back to OpenAI's shape, and rerank requests to `POST {url}/v2/rerank` (rerank.ts). The
 * credential goes as a Bearer token.
 *
 * Backend options (all optional):
 *   header.<Name>   a static header (e.g. X-Client-Name)
 *
 * `now` is the clock for `created` (adapters read no clock of their own).
 */


export function cohere(now: () => number = Date.now): Adapter {
  return {
    name: 'cohere',
    supports: (op: Operation) => op === 'chat' || op === 'embeddings' || op === 'rerank',
    toUpstream,
    authHeaders,
    translator: (req, backend) => new CohereTranslator(req, backend.model ?? req.model, Math.floor(now() / 1000)),
  };
}

function toUpstream(req: ClientRequest, backend: BackendIR, basePath: string): UpstreamRequest {
  const model = backend.model ?? req.model;
  const embed = req.operation === 'embeddings';
  const rerank = req.operation === 'rerank';
  const body = JSON.stringify(rerank ? rerankToCohere(req.body, model) : embed ? openAIToCohereEmbed(req.body, model) : openAIToCohere(req.body, model, req.stream));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
  };
  Object.assign(headers, authHeaders(backend));
  return { path: basePath + (rerank ? '/v2/rerank' : embed ? '/v2/embed' : '/v2/chat'), headers, body };
}

function authHeaders(backend: BackendIR): Record<string, string> {
  const headers: Record<string, string> = {};
  const opts = backend.options;
  for (const k in opts) if (k.startsWith('header.')) headers[k.slice(7).toLowerCase()] = String(opts[k]);
  if (backend.credential !== undefined) headers.authorization = `Bearer ${backend.credential}`;
  return headers;
}

/** One attempt's Cohere answer, as OpenAI's. */
class CohereTranslator extends HeldTranslator<CohereStream> {
  /** The body turned out to be a failure: answered 502. */
  private failed = false;

  protected openStream(): CohereStream {
    return new CohereStream(this.req.clientWantsUsage, this.created, this.model);
  }

  /**
   * 422 (invalid) and 413 are 400s, 498 (Cohere's invalid token) is the gateway's credential
   * failing; a 200 whose answer is a failure (not JSON, or ended in ERROR or TIMEOUT) is a 502.
   * Asked after bodyEnd: a held body is committed with its first bytes.
   */
  status(upstream: number): number {
    return this.failed ? 502 : clientStatus(upstream);
  }

  bodyEnd(): Buffer {
    const raw = this.held.take();
    if (this.upstreamStatus >= 300) return Buffer.from(JSON.stringify(errorToOpenAI(this.upstreamStatus, raw).body));
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.failed = true;
      return failure('the Cohere backend answered with a body that is not JSON');
    }
    if (this.req.operation === 'rerank') return Buffer.from(JSON.stringify(rerankFromCohere(r, this.req.body)));
    if (this.req.operation === 'embeddings') {
      const out = embedToOpenAI(r, this.model, this.req.body.encoding_format);
      this.usage = toUsage(out.usage as Record<string, unknown>);
      return Buffer.from(JSON.stringify(out));
    }
    if (isFailure(r.finish_reason)) {
      this.failed = true;
      return failure(`the Cohere answer ended with ${String(r.finish_reason)}`);
    }
    const out = chatToOpenAI(r, this.model, this.created);
    this.usage = toUsage(out.usage as Record<string, unknown>);
    if (this.req.stream) return Buffer.from(completionAsChunks(out, this.created, this.req.clientWantsUsage));
    return Buffer.from(JSON.stringify(out));
  }

  errorMessage(body: Buffer): string {
    return cohereErrorMessage(body);
  }
}

function failure(message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { message, type: 'upstream_error', param: null, code: 'bad_gateway' } }));
}
