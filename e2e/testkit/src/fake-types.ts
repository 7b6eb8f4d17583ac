// The contract of the fake OpenAI backend (fake-openai.ts): its failure modes, options, and
// what it records about each request.
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';

export const FAKE_MODES = [
  'ok',
  'error500',
  'error429',
  'reset',
  'hang',
  'hangBeforeFirstByte',
  'streamBreak',
  'streamTruncate',
  'slowStream',
] as const;
export type FakeMode = (typeof FAKE_MODES)[number];

export interface FakeModeOptions {
  /** slowStream: delay before every chunk, in ms (default 50). */
  chunkDelayMs?: number;
  /**
   * streamBreak / streamTruncate: content chunks sent (after the role chunk) before the socket
   * is destroyed (streamBreak) or the response is ended cleanly without finish_reason or
   * [DONE] (streamTruncate). Default 2.
   */
  breakAfterChunks?: number;
  /**
   * Streams (any mode): write every SSE event in pieces of this many bytes, each flushed
   * separately, so events (and multi-byte UTF-8 characters) straddle network reads.
   */
  fragmentBytes?: number;
  /** Also apply the mode to GET /health and GET /v1/models (default false: health probes stay green). */
  affectHealth?: boolean;
  /** Health probes (GET /health, /v1/models) get 503 whatever the mode, while inference follows the mode. */
  failHealth?: boolean;
  /** error429: the Retry-After header sent (default "1"). */
  retryAfter?: string;
}

export interface FakeOptions {
  port?: number;
  host?: string;
  /** Shown in every reply ("Hello from <name>") and in the x-fake-backend header. */
  name?: string;
  /** Model ids listed by GET /v1/models (default ["fake-model"]). */
  models?: string[];
  /** Dimensions of embedding vectors when the request gives none (default 8). */
  embeddingDimensions?: number;
}

/** What happened to a request: set once the exchange is over. */
export type RequestOutcome =
  | 'pending'
  | 'completed' // the whole response was written
  | 'aborted' // the peer closed the connection before the response was complete
  | 'reset' // the fake destroyed the socket on purpose (reset, streamBreak)
  | 'killed'; // kill()/close() destroyed it while pending

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The Authorization header as received (provider credentials), if any. */
  authorization: string | undefined;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  rawBody: string;
  /** The mode the request was answered in. */
  mode: FakeMode;
  /** Whether the request asked for a stream. */
  stream: boolean;
  outcome: RequestOutcome;
  receivedAt: number;
}

export interface FakeBackendEvents {
  request: [RecordedRequest];
  /** The request's exchange ended (see `outcome`). */
  done: [RecordedRequest];
}

export interface FakeBackend {
  readonly name: string;
  readonly port: number;
  readonly host: string;
  /** Base URL ending in /v1, e.g. http://127.0.0.1:41234/v1 (what a backend `url:` points at). */
  readonly url: string;
  /** Every request received, in order (health probes included). */
  readonly requests: RecordedRequest[];
  readonly events: EventEmitter<FakeBackendEvents>;
  readonly mode: FakeMode;
  setMode(mode: FakeMode, options?: FakeModeOptions): void;
  /** POST requests under /v1/ (chat, completions, embeddings, responses, ...). */
  inferenceRequests(): RecordedRequest[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Ids of the Responses API responses the fake holds (created with store not false, not deleted), oldest first. */
  storedResponses(): string[];
  /** Resolves with the first recorded request (past or future) matching `pred`. */
  waitForRequest(pred?: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves with the first request (past or future) whose exchange ended matching `pred`. */
  waitForDone(pred?: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Stops listening and destroys every open socket; a connection is refused afterwards. */
  kill(): Promise<void>;
  /** Listens again on the same port after kill(). */
  restart(): Promise<void>;
  /** Like kill(), for good. */
  close(): Promise<void>;
}
