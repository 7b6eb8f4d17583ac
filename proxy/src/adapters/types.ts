import type { BackendIR } from '@jairouter/crds';

export type Operation = 'chat' | 'completions' | 'embeddings';

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
}

export interface UpstreamRequest {
  /** Path appended to the endpoint origin, including the endpoint's base path. */
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Adapter {
  readonly name: string;
  supports(op: Operation): boolean;
  /** `basePath` is the endpoint URL's path without a trailing slash, e.g. `/v1`. */
  toUpstream(req: ClientRequest, backend: BackendIR, basePath: string): UpstreamRequest;
  /** Token usage from a complete non-streaming response body, or null. */
  usageFromBody(body: Buffer): Usage | null;
}
