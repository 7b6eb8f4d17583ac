import pino from 'pino';
import { LineBatcher, type Sink } from './logger.ts';

/**
 * The audit trail: one JSON line per request on its own stream (`--audit-log`), separate from
 * the operational log, so it can be shipped and kept under other rules. Who, what, which
 * decision, what it cost; never content, keys or tokens. docs/audit.md is the schema, and
 * audit.test.ts pins the field set.
 */
export interface AuditRecord {
  /** RFC 3339 with milliseconds. */
  time: string;
  requestId: string;
  /** `namespace/name`, '' when the caller was not authenticated. */
  tenant: string;
  /** The API key's id (`secret/entry`), '' for a token or no credential. */
  keyId: string;
  /** A token's user claim (JWT subject by default), '' otherwise. */
  subject: string;
  clientIp: string;
  method: string;
  path: string;
  /** The model the client asked for ('' when none was read). */
  model: string;
  route: string;
  backend: string;
  /** allowed: answered by a backend (or the proxy itself, for model lists); refused: by the gateway (`reason`). */
  decision: 'allowed' | 'refused' | 'failed';
  /** The error code answered (invalid_api_key, invalid_token, model_not_allowed, rate_limit_exceeded, budget_exceeded, ...), '' when allowed. */
  reason: string;
  /** What exactly refused it: the failed token check, the limit id, the missing grant ('' when none). */
  detail: string;
  status: number;
  stream: boolean;
  tokensIn: number;
  tokensOut: number;
  /** At the serving backend's pricing, in its unit (0 without pricing). */
  cost: number;
  /** Masks applied to the request before it left, by rule name (counts only). */
  masks: Record<string, number>;
  durationMs: number;
  /** Masks applied to the answer the client received, by rule name (counts only). */
  responseMasks: Record<string, number>;
}

/** The field names of AuditRecord in the order they are written (the schema's contract). */
export const AUDIT_FIELDS = [
  'time', 'requestId', 'tenant', 'keyId', 'subject', 'clientIp', 'method', 'path', 'model', 'route', 'backend',
  'decision', 'reason', 'detail', 'status', 'stream', 'tokensIn', 'tokensOut', 'cost', 'masks', 'durationMs', 'responseMasks',
] as const;

export interface AuditLog {
  write(r: AuditRecord): void;
  flushSync(): void;
}

/** `target`: a file path (appended to), `stdout` or `stderr`; `sink` replaces it in tests. */
export function createAuditLog(target: string, sink?: Sink): AuditLog {
  const dest = new LineBatcher(
    sink ?? pino.destination({ dest: target === 'stdout' ? 1 : target === 'stderr' ? 2 : target, sync: true, mkdir: true, append: true }),
  );
  return {
    write(r: AuditRecord): void {
      // Field order fixed by construction: the object literal is built in AUDIT_FIELDS order.
      dest.write(JSON.stringify(r) + '\n');
    },
    flushSync: () => dest.flushSync(),
  };
}
