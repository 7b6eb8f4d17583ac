import type { IncomingMessage } from 'node:http';
import type { ClientRequest } from './adapters/types.ts';
import type { BudgetHold } from './limits/budget.ts';
import type { ContentCapture } from './masking/content-log.ts';
import type { Taken } from './limits/engine.ts';
import type { ClientResponse } from './response/client-response.ts';
import type { Identity, RouteRuntime, Runtime } from './runtime/runtime.ts';
import type { ResponseOrigin } from './responses/ids.ts';
import type { Keep } from './responses/kept.ts';
import type { RequestTrace } from './telemetry/tracing.ts';

/** Why a request's upstream work was stopped: the `reason` of `Exchange.signal`. */
export type StopReason = 'client-gone' | 'deadline';

/** Per-request state, one object of fixed shape from arrival to the log line. */
export class Exchange {
  runtime!: Runtime;
  identity: Identity | null = null;
  client!: ClientRequest;
  route: RouteRuntime | null = null;
  backend = '';
  tokensIn = 0;
  tokensOut = 0;
  streamError = '';
  clientGone = false;
  timedOut = false;
  hashValue = '';
  /** The endpoint this request must reach: where the stored response it names lives (responses/ids.ts); null for any. */
  pin: ResponseOrigin | null = null;
  /** A Responses API request the gateway keeps the answer of, when a chat-served backend answers it (responses/kept.ts). */
  keep: Keep | null = null;
  /** Capabilities the request needs (Capability bits, see runtime/capabilities.ts). */
  needs = 0;
  /** Estimated prompt tokens plus requested output tokens; 0 when no backend of the route has a contextWindow. */
  tokenEstimate = 0;
  /** What the request took from its limits, settled when it finishes; null when no limit applied. */
  taken: Taken[] | null = null;
  /** The tenant budget's reservation, settled with the real cost when the request finishes. */
  budgetHold: BudgetHold | null = null;
  /** Masks applied to the request, by rule (counts only). */
  masks: Record<string, number> = {};
  /** Masks applied to what the client received, by rule (counts only). */
  responseMasks: Record<string, number> = {};
  /** The answer's text as the client received it, for `--log-content`; null when off. */
  capture: ContentCapture | null = null;
  /** Upstream attempts started, over every route tried. */
  attempts = 0;
  /** Counted in its tenant's requests in flight (--max-inflight-per-tenant). */
  holdsSlot = false;
  /** Some upstream answered 429 (steers Adaptive limits). */
  upstreamThrottled = false;
  /** Why it was refused, for the request log: the rule that limited it, the grant that was missing. */
  detail = '';
  /** The request's spans (telemetry/tracing.ts); null when tracing is off, and then nothing else is traced. */
  trace: RequestTrace | null = null;

  readonly req: IncomingMessage;
  readonly out: ClientResponse;
  readonly requestId: string;
  readonly startedAt: number;
  readonly draining: () => boolean;
  /** Aborted when the client goes away or the request deadline passes; upstream attempts stop on it. */
  private readonly stopper = new AbortController();

  constructor(req: IncomingMessage, out: ClientResponse, requestId: string, startedAt: number, draining: () => boolean) {
    this.req = req;
    this.out = out;
    this.requestId = requestId;
    this.startedAt = startedAt;
    this.draining = draining;
  }

  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  /** Stops the request's upstream work; the first reason is the signal's. */
  stop(reason: StopReason): void {
    if (reason === 'client-gone') this.clientGone = true;
    else this.timedOut = true;
    if (!this.stopper.signal.aborted) this.stopper.abort(reason);
  }
}
