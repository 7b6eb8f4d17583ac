import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { BackendIR } from '@jairouter/crds';

export type Operation = 'chat' | 'completions' | 'embeddings' | 'rerank' | 'moderations' | 'images' | 'speech' | 'responses' | 'transcriptions' | 'translations' | 'image_edits';

/** Every operation, in the order the capability bits and messages list them. */
export const OPERATIONS: readonly Operation[] = ['chat', 'completions', 'embeddings', 'rerank', 'moderations', 'images', 'speech', 'responses', 'transcriptions', 'translations', 'image_edits'];

/** A part of a multipart/form-data request: a text field, or a file. */
export type FormPart = { readonly name: string; readonly value: string } | { readonly name: string; readonly filename: string; readonly type: string; readonly data: Buffer };

/** What the proxy parsed from the client request. Adapters never mutate it: a retry translates it again. */
export interface ClientRequest {
  readonly operation: Operation;
  /** The JSON body as the client sent it. */
  readonly raw: Buffer;
  readonly body: Readonly<Record<string, unknown>>;
  readonly model: string;
  readonly stream: boolean;
  /** The client itself asked for `stream_options.include_usage`. */
  readonly clientWantsUsage: boolean;
  readonly requestId: string;
  /**
   * A request about a stored response of the Responses API (`GET /v1/responses/{id}`, DELETE,
   * cancel, input_items) rather than a new one: the method, and the path after the backend's
   * `/responses` (the backend's own id, and the client's query string).
   */
  readonly target?: { readonly method: 'GET' | 'POST' | 'DELETE'; readonly path: string };
  /**
   * The parts of a multipart/form-data request (transcriptions, translations, image edits):
   * `body` then holds its text fields, and the backend gets the parts written again.
   */
  readonly form?: readonly FormPart[];
  /**
   * Set when the client spoke another API than OpenAI's (the Anthropic ingress): `body` and
   * `raw` are then its translation to OpenAI chat, which every adapter reads, and this is the
   * request as it came, for a backend that speaks the client's API (`Adapter.passesThrough`).
   */
  readonly ingress?: IngressRequest;
}

/** A request as it came in a non-OpenAI API, with the headers a backend of that API needs. */
export interface IngressRequest {
  readonly schema: 'anthropic';
  readonly raw: Buffer;
  readonly body: Readonly<Record<string, unknown>>;
  /** The client's API version header (anthropic-version), if any. */
  readonly version: string | undefined;
  /** The client's beta-features header (anthropic-beta), if any. */
  readonly beta: string | undefined;
  /**
   * Why the request has no OpenAI translation (a field with no equivalent), if it has none: it
   * can then only go to a backend that passes it through; the others refuse it as they refuse
   * an UnsupportedRequest (the next backend is tried, else 400 with this message).
   */
  readonly untranslatable: { readonly field: string; readonly message: string } | undefined;
}

export interface UpstreamRequest {
  /** POST unless said. */
  method?: 'GET' | 'POST' | 'DELETE';
  /** Path appended to the endpoint origin, including the endpoint's base path. */
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * How an upstream answer is handled, decided on its status and headers: `error` is held back
 * (small buffer) so another endpoint can still answer, `stream` is relayed event by event,
 * `body` is relayed as it comes.
 */
export type ResponseMode = 'error' | 'stream' | 'body';

/**
 * One attempt's view of the upstream answer, built by the adapter that built the request:
 * classifies it, turns its body or stream into what the client's API expects, captures usage
 * and reads the upstream's error message. The OpenAI pass-through hands bytes on untouched.
 */
export interface ResponseTranslator {
  classify(status: number, headers: IncomingHttpHeaders): ResponseMode;
  /** The status the client gets for a relayed answer (`body` or `stream`); the upstream's when absent. */
  status?(upstream: number): number;
  /** The client's response headers, from the upstream's (hop-by-hop and account headers dropped). */
  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders;
  /** Body bytes for the client now, or null to hold them until `bodyEnd`. */
  body(chunk: Buffer): Buffer | null;
  /** What is left to send when the body ended. */
  bodyEnd(): Buffer | null;
  /** Complete events for the client now, or null (a partial event is held). */
  stream(chunk: Buffer): Buffer | null;
  /** The partial event left when the stream ended or broke. */
  streamRest(): Buffer | null;
  /** The stream reached its terminal event (`[DONE]` for OpenAI). */
  readonly complete: boolean;
  /** Token usage once seen. */
  readonly usage: Usage | null;
  /** The upstream's own message from an error body, or ''. Never holds the proxy's secrets. */
  errorMessage(body: Buffer): string;
  /** When to try again, from an error body, for providers that say it there rather than in Retry-After (Gemini's RetryInfo). */
  retryAfterMs?(body: Buffer): number | undefined;
}

export interface Adapter {
  readonly name: string;
  /**
   * The ingress schema whose requests this adapter forwards as they came and whose answers it
   * relays untranslated (the anthropic adapter for the Anthropic ingress). For any other
   * adapter, the proxy wraps the adapter's OpenAI answer in the ingress's translator.
   */
  readonly passesThrough?: IngressRequest['schema'];
  supports(op: Operation): boolean;
  /**
   * The upstream request for one attempt. `basePath` is the endpoint URL's path without a
   * trailing slash (e.g. `/v1`), `origin` its scheme, host and port (what a request signature
   * covers). A Promise where building it is asynchronous (request signing). Throws
   * UnsupportedRequest when this backend cannot honour the request; the proxy then tries
   * another backend, or answers 400 with the message.
   */
  toUpstream(req: ClientRequest, backend: BackendIR, basePath: string, origin: string): UpstreamRequest | Promise<UpstreamRequest>;
  /** The headers that carry the backend's credential and static options (also sent by health probes). */
  authHeaders(backend: BackendIR): Record<string, string>;
  /** A fresh translator for one attempt's answer. */
  translator(req: ClientRequest, backend: BackendIR): ResponseTranslator;
}

/**
 * Thrown by `toUpstream` when the backend cannot honour what the request asks for (a field with
 * no equivalent in the provider's API that would change the answer). The message names the
 * field and the backend, for the client's 400.
 */
export class UnsupportedRequest extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}
