import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientRequest } from '../adapters/types.ts';
import type { Identity, RouteRuntime, Runtime } from '../runtime/runtime.ts';
import type { Attempt } from './attempt.ts';

/** Per-request state, one object of fixed shape from arrival to the log line. */
export class Exchange {
  runtime!: Runtime;
  identity: Identity | null = null;
  client!: ClientRequest;
  route: RouteRuntime | null = null;
  backend = '';
  status = 0;
  tokensIn = 0;
  tokensOut = 0;
  clientGone = false;
  timedOut = false;
  streamError = '';
  attempt: Attempt | null = null;
  hashValue = '';

  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly startedAt: number;
  readonly draining: () => boolean;

  constructor(req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: number, draining: () => boolean) {
    this.req = req;
    this.res = res;
    this.requestId = requestId;
    this.startedAt = startedAt;
    this.draining = draining;
  }
}
