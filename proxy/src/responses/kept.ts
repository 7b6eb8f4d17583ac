// The responses the gateway keeps (store.ts), as the Responses API uses them: a request that
// continues one (`previous_response_id`) gets its turns replayed ahead of its own input, and
// GET, DELETE, input_items and cancel on a kept id are answered by the gateway. Pure.
import { randomBytes } from 'node:crypto';
import { apiError, type ApiError } from '../api/errors.ts';
import type { KeptResponse } from './store.ts';

type Json = Record<string, unknown>;

/** A Responses API request's relation to what the gateway keeps. */
export interface Keep {
  /** The id the new response is kept under; null when it is not kept (store: false, or no store). */
  readonly id: string | null;
  /** The kept response it continues, echoed as its previous_response_id. */
  readonly previous: string | null;
  /** Keeps the finished Response object (called once, when the answer is complete). */
  save(response: Json): void;
}

export const previousNotFound = (id: string): ApiError =>
  apiError(404, 'invalid_request_error', 'previous_response_not_found', `Previous response with id '${id}' not found.`, 'previous_response_id');

const notFound = (id: string): ApiError => apiError(404, 'invalid_request_error', 'not_found', `Response with id '${id}' not found.`, null);

/** A request's input as input items (a string is one user message). */
export function inputItems(input: unknown): Json[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return Array.isArray(input) ? (input as Json[]) : [];
}

/**
 * An earlier item as input again, in the form every backend takes: without the ids and status
 * the gateway gave it (a backend that keeps responses would look those ids up and not find them).
 */
function replayed(it: Json): Json {
  switch (it.type ?? 'message') {
    case 'message':
      return { type: 'message', role: it.role, content: it.content };
    case 'function_call':
      return { type: 'function_call', call_id: it.call_id, name: it.name, arguments: it.arguments };
    case 'function_call_output':
      return { type: 'function_call_output', call_id: it.call_id, output: it.output };
    default: {
      const { id: _id, status: _status, ...rest } = it;
      return rest;
    }
  }
}

/**
 * Puts the turns of `kept` (its input, then its output) ahead of the request's own input, in
 * place, and drops `previous_response_id`: any backend, whatever it keeps, can then answer.
 * Instructions are not carried over, as the Responses API defines. Returns where the request's
 * own input starts.
 */
export function continueConversation(b: Json, kept: KeptResponse): number {
  const earlier = [...kept.input, ...((kept.response.output as Json[] | undefined) ?? [])].map(replayed);
  b.input = [...earlier, ...inputItems(b.input)];
  delete b.previous_response_id;
  return earlier.length;
}

const ID_PREFIX: Record<string, string> = { message: 'msg', function_call: 'fc', function_call_output: 'fco' };

/**
 * An input item as the Responses API lists it (input_items): with an id, and a message's text as
 * content parts (input_text; output_text for the assistant's).
 */
function listed(it: Json): Json {
  const type = String(it.type ?? 'message');
  const id = typeof it.id === 'string' ? it.id : `${ID_PREFIX[type] ?? 'item'}_${randomBytes(16).toString('hex')}`;
  if (type !== 'message') return { ...it, id };
  const content = typeof it.content === 'string' ? [{ type: it.role === 'assistant' ? 'output_text' : 'input_text', text: it.content }] : it.content;
  return { type: 'message', id, status: 'completed', role: it.role, content };
}

/** The record kept of a finished response: the whole input, as input_items lists it. */
export function keptRecord(tenant: string, response: Json, input: unknown, ownFrom: number): KeptResponse {
  return { tenant, response, input: inputItems(input).map(listed), ownFrom };
}

export type KeptAsk = { suffix: '' | '/cancel' | '/input_items'; method: 'GET' | 'POST' | 'DELETE' };

/** What to do for a request on a kept id: answer with a body, delete, or an error. */
export function keptAnswer(id: string, ask: KeptAsk, query: URLSearchParams, kept: KeptResponse | null, tenant: string): { body: Json } | { delete: Json } | ApiError {
  // Another tenant's response is answered exactly as one that does not exist.
  if (kept === null || kept.tenant !== tenant) return notFound(id);
  if (ask.suffix === '/cancel') {
    return apiError(400, 'invalid_request_error', 'invalid_value', `Response '${id}' cannot be cancelled: only background responses can be, and a response served through chat completions never is one.`, null);
  }
  if (ask.method === 'DELETE') return { delete: { id, object: 'response', deleted: true } };
  if (ask.suffix === '') {
    if (query.get('stream') === 'true') return apiError(400, 'invalid_request_error', 'invalid_value', 'stream: only a background response can be streamed again, and this one is complete', 'stream');
    return { body: kept.response };
  }
  return inputItemsPage(kept.input.slice(kept.ownFrom), query);
}

/** One page of input_items: `order` (desc by default), `limit` (1-100, 20 by default), `after`. */
function inputItemsPage(items: Json[], q: URLSearchParams): { body: Json } | ApiError {
  const order = q.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') return apiError(400, 'invalid_request_error', 'invalid_value', `order must be asc or desc, got '${order}'`, 'order');
  const limitText = q.get('limit') ?? '20';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) return apiError(400, 'invalid_request_error', 'invalid_value', `limit must be a whole number from 1 to 100, got '${limitText}'`, 'limit');
  const list = order === 'asc' ? items : [...items].reverse();
  let from = 0;
  const after = q.get('after');
  if (after !== null) {
    const i = list.findIndex((it) => it.id === after);
    if (i < 0) return apiError(400, 'invalid_request_error', 'invalid_value', `after names no input item of this response: '${after}'`, 'after');
    from = i + 1;
  }
  const data = list.slice(from, from + limit);
  return {
    body: {
      object: 'list',
      data,
      first_id: (data[0]?.id as string | undefined) ?? null,
      last_id: (data.at(-1)?.id as string | undefined) ?? null,
      has_more: from + limit < list.length,
    },
  };
}
