// What a finished request records, built from its Exchange: the audit record, the gen_ai
// observation and the `--log-content` line. Pure builders; createHandler's finishRequest writes them.
import type { Exchange } from '../exchange.ts';
import { promptCapture } from '../masking/content-log.ts';
import type { BackendRuntime } from '../runtime/runtime.ts';
import type { AuditRecord } from '../telemetry/audit.ts';
import type { GenAiRequest } from '../telemetry/gen-ai.ts';

/** The backend that answered, if one did (looked up once per request). */
export function servedBackend(ex: Exchange): BackendRuntime | undefined {
  if (ex.route === null || ex.backend === '') return undefined;
  for (const e of ex.route.endpoints) if (e.backend.name === ex.backend) return e.backend;
  return undefined;
}

/** The audit record (docs/audit.md); `cost` at the serving backend's pricing. */
export function auditRecordOf(ex: Exchange, route: string, seconds: number, cost: number): AuditRecord {
  const out = ex.out;
  const id = ex.identity;
  const url = ex.req.url ?? '';
  const q = url.indexOf('?');
  return {
    time: new Date().toISOString(),
    requestId: ex.requestId,
    tenant: id?.tenant.id ?? '',
    keyId: id?.keyId ?? '',
    subject: id && id.keyId === '' ? id.user : '',
    clientIp: ex.req.socket.remoteAddress ?? '',
    method: ex.req.method ?? '',
    path: q < 0 ? url : url.slice(0, q),
    model: ex.client?.model ?? '',
    route,
    backend: ex.backend,
    // Past the limits a request is the upstream's to answer: an error then is a failure, not a refusal.
    decision: out.status > 0 && out.status < 400 ? 'allowed' : ex.route !== null ? 'failed' : 'refused',
    reason: out.status >= 400 || out.status === 0 ? out.errorCode : '',
    detail: ex.detail,
    status: out.status,
    stream: ex.client?.stream ?? false,
    tokensIn: ex.tokensIn,
    tokensOut: ex.tokensOut,
    cost,
    masks: ex.masks,
    durationMs: Math.round(seconds * 1e4) / 10,
    responseMasks: ex.responseMasks,
  };
}

/** The gen_ai observation of a request that reached a route. */
export function genAiRequestOf(ex: Exchange, seconds: number, served: BackendRuntime | undefined, cost: number): GenAiRequest {
  const out = ex.out;
  const errorType = out.errorCode !== '' ? out.errorCode : out.status >= 400 ? String(out.status) : '';
  return {
    operation: ex.client.operation,
    tenant: ex.identity!.tenant.id,
    route: ex.route!,
    backend: ex.backend,
    adapter: served?.ir.adapter ?? '',
    backendModel: served?.ir.model,
    model: ex.client.model,
    errorType,
    seconds,
    firstTokenSeconds: ex.client.stream && errorType === '' && out.startedAt > 0 ? (out.startedAt - ex.startedAt) / 1000 : -1,
    tokensIn: ex.tokensIn,
    tokensOut: ex.tokensOut,
    cost,
  };
}

/** `--log-content`: the prompt as sent upstream and the answer as the client got it, both masked. */
export function contentRecordOf(ex: Exchange): Record<string, unknown> {
  const tenant = ex.identity!.tenant;
  const prompt = promptCapture(ex.client.body, tenant.maskRequests !== null);
  const completion = ex.capture!.end();
  return {
    requestId: ex.requestId,
    tenant: tenant.id,
    prompt: prompt.text,
    promptTruncated: prompt.truncated,
    completion,
    completionTruncated: ex.capture!.truncated,
  };
}
