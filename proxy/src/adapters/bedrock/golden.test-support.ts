// Test support for the bedrock adapter's tests (a fixed clock, static keys, request and
// backend builders, event-stream encoding); not product code.
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { BackendIR } from '@jairouter/crds';
import type { ClientRequest, Operation } from '../types.ts';

/** 2026-01-02T03:04:05Z */
export const FIXED_NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
export const KEYS = { accessKeyId: 'AKIAGOLDENEXAMPLE001', secretAccessKey: 'golden/secret/key/EXAMPLEKEY0123456789' };

export interface CaseIn {
  operation?: Operation;
  request: Record<string, unknown>;
  backend?: Partial<BackendIR>;
  origin?: string;
  answer?: { status: number; headers?: Record<string, string>; body?: unknown; events?: Array<{ type: string; payload: unknown; exception?: boolean }> };
}

export function backendIR(b: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'br', adapter: 'bedrock', endpoints: [{ url: 'https://bedrock-runtime.us-east-1.amazonaws.com' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, credential: JSON.stringify(KEYS), ...b,
  };
}

export function clientRequest(body: Record<string, unknown>, operation: Operation = 'chat'): ClientRequest {
  const so = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    operation, raw: Buffer.from(JSON.stringify(body)), body, model: String(body.model), stream: body.stream === true && operation !== 'embeddings',
    clientWantsUsage: so?.include_usage === true, requestId: 'req-golden-1',
  };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export function frames(events: Array<{ type: string; payload: unknown; exception?: boolean }> | undefined): Buffer {
  return Buffer.concat((events ?? []).map((e) => codec.encode({
    headers: {
      [e.exception ? ':exception-type' : ':event-type']: { type: 'string', value: e.type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: e.exception ? 'exception' : 'event' },
    },
    body: fromUtf8(JSON.stringify(e.payload)),
  })));
}

