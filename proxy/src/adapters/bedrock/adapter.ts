import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';
import type { Adapter, ClientRequest, Operation, ResponseMode, ResponseTranslator, UpstreamRequest, Usage } from '../types.ts';
import { USER_AGENT, forwardableHeaders } from '../upstream-headers.ts';
import { converseRequest, embeddingFamily, embeddingsRequest, rerankRequest, type EmbeddingFamily } from './request.ts';
import { rerankFromCohere } from '../cohere/rerank.ts';
import { imagesFromBedrock, imagesToBedrock } from './images.ts';
import { UnsupportedRequest } from '../types.ts';
import { bedrockErrorMessage, chatCompletion, embeddingsList, errorType, openAIError, usageOf, type CompletionMeta } from './response.ts';
import { cachedCredentials, regionFromHost, signRequest, type AwsCredentials, type CredentialProvider } from './sign.ts';
import { ConverseStreamTranslator, EventStreamDecoder } from './stream.ts';

/**
 * Amazon Bedrock: chat through the Converse API (`POST {url}/model/{modelId}/converse`, and
 * `/converse-stream` in AWS event-stream framing), embeddings through InvokeModel
 * (`/model/{modelId}/invoke`, Titan and Cohere bodies), rerank through InvokeModel too (Cohere
 * Rerank's body) and image generation (Titan Image Generator, Nova Canvas).
 *
 * Credential (credentialsRef):
 *   JSON {"accessKeyId","secretAccessKey","sessionToken"?}   SigV4, service bedrock
 *   any other string                                          a Bedrock API key, as Authorization: Bearer
 *   none                                                      the AWS default credential chain, SigV4
 * Options:
 *   region   the SigV4 region; from the host (bedrock-runtime.<region>.amazonaws.com) when unset,
 *            else us-east-1
 */
export interface BedrockDeps {
  /** The clock (ms since the epoch): signing dates, credential expiry, `created`. */
  now: () => number;
  /** Credentials for backends without a credentialsRef (the AWS default chain in the proxy). */
  defaultCredentials: CredentialProvider;
}

const DEFAULT_REGION = 'us-east-1';

type Auth = { kind: 'bearer'; header: string } | { kind: 'sigv4'; credentials: CredentialProvider };

export function bedrock(deps: BedrockDeps): Adapter {
  const chain = cachedCredentials(deps.defaultCredentials, deps.now);
  // Parsed once per backend of a config version (BackendIR objects live as long as it does).
  const auths = new WeakMap<BackendIR, Auth>();
  const authOf = (backend: BackendIR): Auth => {
    let a = auths.get(backend);
    if (!a) {
      a = parseCredential(backend, chain);
      auths.set(backend, a);
    }
    return a;
  };

  return {
    name: 'bedrock',
    supports: (op: Operation) => op === 'chat' || op === 'embeddings' || op === 'rerank' || op === 'images',
    async toUpstream(req: ClientRequest, backend: BackendIR, basePath: string, origin: string): Promise<UpstreamRequest> {
      const modelId = backend.model ?? req.model;
      const model = `${basePath}/model/${encodeURIComponent(modelId)}`;
      let path: string;
      let body: string;
      if (req.operation === 'images' && req.stream) throw new UnsupportedRequest('stream', 'bedrock image models make whole images: leave stream out');
      if (req.operation === 'embeddings' || req.operation === 'rerank' || req.operation === 'images') {
        body = JSON.stringify(
          req.operation === 'rerank' ? rerankRequest(req.body, modelId) : req.operation === 'images' ? imagesToBedrock(req.body, modelId) : embeddingsRequest(req.body, modelId),
        );
        path = `${model}/invoke`;
      } else {
        body = JSON.stringify(converseRequest(req.body));
        path = `${model}/${req.stream ? 'converse-stream' : 'converse'}`;
      }
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      };
      const auth = authOf(backend);
      if (auth.kind === 'bearer') {
        headers.authorization = auth.header;
      } else {
        const region = typeof backend.options.region === 'string' ? backend.options.region : (regionFromHost(new URL(origin).hostname) ?? DEFAULT_REGION);
        Object.assign(headers, await signRequest({ credentials: await auth.credentials(), region, origin, path, headers, body, now: new Date(deps.now()) }));
      }
      headers.accept = req.stream ? 'application/vnd.amazon.eventstream' : 'application/json';
      headers['user-agent'] = USER_AGENT;
      headers['x-request-id'] = req.requestId;
      return { path, headers, body };
    },
    authHeaders(backend: BackendIR): Record<string, string> {
      // A SigV4 signature covers the path and expires, so probes cannot carry one: they go
      // unsigned (docs/adapters.md: leave healthCheck.active off for SigV4 backends).
      const auth = authOf(backend);
      return auth.kind === 'bearer' ? { authorization: auth.header } : {};
    },
    translator(req: ClientRequest, backend: BackendIR): ResponseTranslator {
      const modelId = backend.model ?? req.model;
      const meta: CompletionMeta = { id: `chatcmpl-${req.requestId}`, created: Math.floor(deps.now() / 1000), model: modelId };
      return new BedrockTranslator(req, meta, req.operation === 'embeddings' ? embeddingFamily(modelId) : undefined);
    },
  };
}

/** The credential as SigV4 keys (JSON) or a Bedrock API key; the default chain without one. Never echoes the secret. */
function parseCredential(backend: BackendIR, chain: CredentialProvider): Auth {
  const c = backend.credential;
  if (c === undefined) return { kind: 'sigv4', credentials: chain };
  if (!c.startsWith('{')) return { kind: 'bearer', header: `Bearer ${c}` };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(c) as Record<string, unknown>;
  } catch {
    throw new Error(`bedrock backend "${backend.name}": the credential starts with "{" but is not JSON`);
  }
  if (typeof j.accessKeyId !== 'string' || typeof j.secretAccessKey !== 'string') {
    throw new Error(`bedrock backend "${backend.name}": a JSON credential needs accessKeyId and secretAccessKey`);
  }
  const creds: AwsCredentials = { accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey, ...(typeof j.sessionToken === 'string' ? { sessionToken: j.sessionToken } : {}) };
  return { kind: 'sigv4', credentials: () => Promise.resolve(creds) };
}

/**
 * One attempt's Bedrock answer in OpenAI's form. Held back for a retry: 5xx, 429, 401/403 (the
 * gateway's credential), 408 and 424 (ModelTimeoutException, ModelErrorException: the model
 * failed, not the request). Other 4xx become OpenAI error bodies; 2xx bodies and event streams
 * are translated.
 */
class BedrockTranslator implements ResponseTranslator {
  usage: Usage | null = null;
  private chunks: Buffer[] = [];
  private upstreamStatus = 0;
  private type = '';
  private inputTokens: number | undefined;
  private decoder: EventStreamDecoder | null = null;
  private events: ConverseStreamTranslator | null = null;
  private readonly req: ClientRequest;
  private readonly meta: CompletionMeta;
  private readonly family: EmbeddingFamily | undefined;
  /** A 2xx that is a failure for the client (an image request answered with no image). */
  private failedStatus: number | undefined;

  constructor(req: ClientRequest, meta: CompletionMeta, family: EmbeddingFamily | undefined) {
    this.req = req;
    this.meta = meta;
    this.family = family;
  }

  get complete(): boolean {
    return this.events?.complete ?? false;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    if (status >= 500 || status === 429 || status === 401 || status === 403 || status === 408 || status === 424) return 'error';
    this.upstreamStatus = status;
    this.type = errorType(headers['x-amzn-errortype']);
    const count = Number(headers['x-amzn-bedrock-input-token-count']);
    if (Number.isFinite(count) && headers['x-amzn-bedrock-input-token-count'] !== undefined) this.inputTokens = count;
    if (status < 300 && this.req.stream && String(headers['content-type'] ?? '').includes('application/vnd.amazon.eventstream')) {
      this.decoder = new EventStreamDecoder();
      this.events = new ConverseStreamTranslator(this.meta, this.req.clientWantsUsage);
      return 'stream';
    }
    return 'body';
  }

  /** Asked after bodyEnd (a held body is committed with its first bytes). */
  status(upstream: number): number {
    return this.failedStatus ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = forwardableHeaders(upstream, true);
    delete h['x-amzn-errortype'];
    h['content-type'] = mode === 'stream' ? 'text/event-stream' : 'application/json';
    return h;
  }

  body(chunk: Buffer): null {
    this.chunks.push(chunk);
    return null;
  }

  bodyEnd(): Buffer {
    const raw = Buffer.concat(this.chunks);
    this.chunks = [];
    if (this.upstreamStatus >= 300) {
      return Buffer.from(JSON.stringify(openAIError(this.upstreamStatus, this.type, bedrockErrorMessage(raw)).body));
    }
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return Buffer.from(JSON.stringify({ error: { message: 'bedrock answered a body that is not JSON', type: 'upstream_error', param: null, code: 'bad_gateway' } }));
    }
    if (this.req.operation === 'rerank') return Buffer.from(JSON.stringify(rerankFromCohere(j, this.req.body)));
    if (this.req.operation === 'images') {
      const images = imagesFromBedrock(j, this.meta.created);
      if (images !== null) return Buffer.from(JSON.stringify(images));
      this.failedStatus = 400;
      const why = typeof j.error === 'string' ? `: ${j.error}` : '';
      return Buffer.from(JSON.stringify({ error: { message: `the Bedrock image model returned no image${why}`, type: 'invalid_request_error', param: 'prompt', code: 'content_policy_violation' } }));
    }
    const out = this.family
      ? embeddingsList(this.family, j, this.meta.model, this.req.body.encoding_format, this.inputTokens)
      : chatCompletion(j, this.meta);
    this.usage = usageOf(out.usage as Record<string, unknown>);
    return Buffer.from(JSON.stringify(out));
  }

  stream(chunk: Buffer): Buffer | null {
    const events = this.events!;
    if (events.failure !== null || events.complete) return null;
    let out: string;
    try {
      out = events.translate(this.decoder!.push(chunk));
    } catch (e) {
      // A corrupt frame (bad CRC, impossible length): nothing more can be read from this stream.
      events.failure = `undecodable event stream: ${(e as Error).message}`;
      return null;
    }
    this.usage = events.usage;
    return out ? Buffer.from(out) : null;
  }

  streamRest(): Buffer | null {
    const rest = this.events?.finish() ?? '';
    this.usage = this.events?.usage ?? this.usage;
    return rest ? Buffer.from(rest) : null;
  }

  errorMessage(body: Buffer): string {
    return bedrockErrorMessage(body);
  }
}
