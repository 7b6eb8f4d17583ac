// The values a request is keyed on by the route's balancer (hashValue) and by rate-limit rules
// (keySource): taken from the caller's identity, its address, its body or a header.
import type { IncomingHttpHeaders } from 'node:http';
import type { Exchange } from '../exchange.ts';
import type { KeySource } from '../limits/engine.ts';
import type { RouteRuntime } from '../runtime/runtime.ts';

/** A header's value as one string: the first of repeated ones, '' when absent. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name.toLowerCase()];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

/** What a limit rule's `key` may count by, for this request. */
export function keySource(ex: Exchange, model: string): KeySource {
  const id = ex.identity!;
  const headers = ex.req.headers;
  return {
    tenant: id.tenant.id,
    user: id.user,
    apiKey: id.keyId,
    clientIP: ex.req.socket.remoteAddress ?? '',
    model,
    header: (name) => headerValue(headers, name),
  };
}

/** The value IPHash and ConsistentHash (loadBalancer.hashKey) hash for this request; '' for other strategies. */
export function hashValue(ex: Exchange, rt: RouteRuntime, body: Record<string, unknown>): string {
  const s = rt.ir.loadBalancer.strategy;
  if (s === 'IPHash') return ex.req.socket.remoteAddress ?? '';
  if (s !== 'ConsistentHash') return '';
  const key = rt.ir.loadBalancer.hashKey ?? 'clientIP';
  if (key.startsWith('header:')) return headerValue(ex.req.headers, key.slice(7));
  switch (key) {
    case 'user':
      return typeof body.user === 'string' ? body.user : (ex.identity?.keyId ?? '');
    case 'tenant':
      return ex.identity?.tenant.id ?? '';
    case 'promptPrefix': {
      const m = body.messages ?? body.prompt ?? body.input;
      return JSON.stringify(Array.isArray(m) ? m[0] : m).slice(0, 512);
    }
    default:
      return ex.req.socket.remoteAddress ?? '';
  }
}
