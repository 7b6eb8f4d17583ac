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

/**
 * The value IPHash and ConsistentHash (loadBalancer.hashKey) hash for this request, and
 * LoadAware's prefix-affinity key; '' for other strategies.
 */
export function hashValue(ex: Exchange, rt: RouteRuntime, body: Record<string, unknown>): string {
  const s = rt.ir.loadBalancer.strategy;
  if (s === 'IPHash') return ex.req.socket.remoteAddress ?? '';
  if (s === 'LoadAware') {
    const p = rt.ir.loadBalancer.loadAware?.prefixAffinity;
    return p === undefined ? '' : prefixKey(body, p.blockSize, p.maxBlocks);
  }
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

/** A message's text: a string, or its text parts joined (images and audio have none). */
function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let t = '';
  for (const p of c) if (typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string') t += (p as { text: string }).text;
  return t;
}

/**
 * LoadAware's prefix-affinity key: the part of the prompt that other requests are likely to
 * share, cut to whole blocks of `blockSize` characters, at most `maxBlocks` of them ('' when
 * shorter than one block). For chat (and the Responses API's input items) that is every message
 * but the last: the system prompt and the earlier turns, which the engine's prefix cache holds
 * from the requests before; a single message is its own prefix. For a completion, the prompt.
 */
export function prefixKey(body: Readonly<Record<string, unknown>>, blockSize: number, maxBlocks: number): string {
  const limit = blockSize * maxBlocks;
  let text = typeof body.instructions === 'string' ? `system\n${body.instructions}\n` : '';
  const list = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : null;
  if (list !== null) {
    const shared = list.length > 1 ? list.length - 1 : list.length;
    for (let i = 0; i < shared && text.length < limit; i++) {
      const m = list[i] as { role?: unknown; content?: unknown; output?: unknown; arguments?: unknown } | null;
      if (m === null || typeof m !== 'object') continue;
      text += `${typeof m.role === 'string' ? m.role : ''}\n${contentText(m.content ?? m.output ?? m.arguments)}\n`;
    }
  } else if (typeof body.prompt === 'string') text += body.prompt;
  // A Responses API input string is the last user message: its own prefix only when it is alone.
  else if (typeof body.input === 'string' && text === '') text = body.input;
  const whole = Math.min(Math.floor(text.length / blockSize), maxBlocks) * blockSize;
  return whole === 0 ? '' : text.slice(0, whole);
}
