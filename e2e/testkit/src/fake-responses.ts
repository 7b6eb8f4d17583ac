// The fake's Responses API (fake-openai.ts serves it): the answer to a create request, JSON and
// its stream's events, and the stored-response endpoints, as OpenAI's wire format has them.
import { randomBytes } from 'node:crypto';
import { countTokens, errorBody, isObject, streamPieces } from './fake-content.ts';

/** A response the fake keeps (store is not false), with its input items as OpenAI lists them. */
export interface StoredResponse {
  response: Record<string, unknown>;
  input: Record<string, unknown>[];
}

/** A created response: the JSON answer, and the events of its stream (numbered from 0). */
export interface CreatedResponse {
  response: Record<string, unknown>;
  events: Record<string, unknown>[];
}

/** An error answer: the status and OpenAI's error body. */
export interface FakeError {
  status: number;
  error: string;
}

const fail = (status: number, error: string): FakeError => ({ status, error });

/** A Responses API stream event: named by an `event:` line carrying its type. */
export function namedSse(obj: Record<string, unknown>): string {
  return `event: ${String(obj['type'])}\ndata: ${JSON.stringify(obj)}\n\n`;
}
const reply = (status: number, body: unknown) => ({ status, body });

/** An OpenAI-style object id: the prefix, then 48 random hex digits. */
function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** The text of a Responses message's content or a tool output: a string, or its parts' texts. */
function itemText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: unknown) => (isObject(p) && typeof p['text'] === 'string' ? p['text'] : ''))
    .filter((t) => t !== '')
    .join(' ');
}

/**
 * Input items as OpenAI stores and lists them: a string input is one user message; messages
 * get an id, a status and content parts (input_text, or output_text for assistant messages
 * echoed back); other items (function_call, function_call_output, ...) keep what they have
 * and get an id and status when they lack one.
 */
function normaliseInput(input: unknown): Record<string, unknown>[] {
  const items: unknown[] = typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return items.filter(isObject).map((item) => {
    const type = typeof item['type'] === 'string' ? item['type'] : 'message';
    if (type !== 'message') {
      return { ...item, id: typeof item['id'] === 'string' ? item['id'] : newId(type === 'function_call' ? 'fc' : 'item'), status: item['status'] ?? 'completed' };
    }
    const role = item['role'];
    const content = item['content'];
    const partType = role === 'assistant' ? 'output_text' : 'input_text';
    const parts = typeof content === 'string' ? [{ type: partType, text: content, ...(role === 'assistant' ? { annotations: [] } : {}) }] : content;
    return { id: typeof item['id'] === 'string' ? item['id'] : newId('msg'), type: 'message', role, status: 'completed', content: parts };
  });
}

/**
 * The answer to POST /v1/responses (see fake-openai.ts for the behaviour); the response is kept
 * in `storedResponses` unless the request says store: false.
 */
export function createResponse(name: string, body: Record<string, unknown>, storedResponses: Map<string, StoredResponse>): CreatedResponse | FakeError {
  const rawInput = body['input'];
  if (typeof rawInput !== 'string' && !Array.isArray(rawInput)) {
    return fail(400, errorBody("Missing required parameter: 'input'.", 'invalid_request_error', 'input', 'missing_required_parameter'));
  }
  const previousId = typeof body['previous_response_id'] === 'string' ? body['previous_response_id'] : null;
  if (previousId !== null && !storedResponses.has(previousId)) {
    return fail(404, errorBody(`Previous response with id '${previousId}' not found.`, 'invalid_request_error', 'previous_response_id', 'previous_response_not_found'));
  }
  const input = normaliseInput(rawInput);
  // A tool's output must answer a call the model made: in this input or in the previous response.
  const calls = [...(previousId !== null ? (storedResponses.get(previousId)?.response['output'] as unknown[]) : []), ...input];
  for (const out of input) {
    if (out['type'] !== 'function_call_output') continue;
    if (!calls.some((c) => isObject(c) && c['type'] === 'function_call' && c['call_id'] === out['call_id'])) {
      return fail(400, errorBody(`No tool call found for function call output with call_id ${String(out['call_id'])}.`, 'invalid_request_error', 'input', null));
    }
  }
  const instructions = typeof body['instructions'] === 'string' ? body['instructions'] : null;
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const fnTool = tools.find((t): t is Record<string, unknown> => isObject(t) && t['type'] === 'function' && typeof t['name'] === 'string');
  const last = input.at(-1);
  let userText = '';
  for (const item of input) if (item['type'] === 'message' && item['role'] === 'user') userText = itemText(item['content']);

  const call =
    last?.['type'] !== 'function_call_output' && fnTool !== undefined
      ? { type: 'function_call', id: newId('fc'), call_id: newId('call'), name: fnTool['name'] as string, arguments: '{"city":"Paris"}', status: 'completed' }
      : undefined;
  const text =
    last?.['type'] === 'function_call_output'
      ? `The tool said: ${itemText(last['output'])}`
      : `Hello from ${name}: ${userText}${previousId !== null ? ` [after ${previousId}]` : ''}`;
  const message = { type: 'message', id: newId('msg'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
  const item = call ?? message;

  const inputTokens = input.reduce((n, it) => n + countTokens(itemText(it['content'] ?? it['output'] ?? it['arguments'])), countTokens(instructions ?? ''));
  const outputTokens = countTokens(call?.arguments ?? text);
  const createdAt = Math.floor(Date.now() / 1000);
  const store = body['store'] !== false;
  const id = newId('resp');
  // The fields OpenAI's Response object always carries, the request's settings echoed back.
  const response = (status: 'in_progress' | 'completed', output: unknown[]) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    completed_at: status === 'completed' ? createdAt : null,
    error: null,
    incomplete_details: null,
    instructions,
    max_output_tokens: typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : null,
    model: body['model'],
    output,
    parallel_tool_calls: body['parallel_tool_calls'] !== false,
    previous_response_id: previousId,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store,
    temperature: typeof body['temperature'] === 'number' ? body['temperature'] : 1,
    text: isObject(body['text']) ? body['text'] : { format: { type: 'text' } },
    tool_choice: body['tool_choice'] ?? 'auto',
    tools,
    top_p: typeof body['top_p'] === 'number' ? body['top_p'] : 1,
    truncation: body['truncation'] === 'auto' ? 'auto' : 'disabled',
    usage:
      status === 'completed'
        ? {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: inputTokens + outputTokens,
          }
        : null,
    user: null,
    metadata: isObject(body['metadata']) ? body['metadata'] : {},
  });
  const done = response('completed', [item]);
  if (store) storedResponses.set(id, { response: done, input });

  const at = { item_id: item.id, output_index: 0 };
  const events: Record<string, unknown>[] = [
    { type: 'response.created', response: response('in_progress', []) },
    { type: 'response.in_progress', response: response('in_progress', []) },
  ];
  if (call !== undefined) {
    const half = Math.ceil(call.arguments.length / 2);
    events.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...call, arguments: '', status: 'in_progress' } },
      { type: 'response.function_call_arguments.delta', ...at, delta: call.arguments.slice(0, half) },
      { type: 'response.function_call_arguments.delta', ...at, delta: call.arguments.slice(half) },
      { type: 'response.function_call_arguments.done', ...at, name: call.name, arguments: call.arguments },
    );
  } else {
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    events.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...message, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', ...at, content_index: 0, part },
      ...streamPieces(text).map((delta) => ({ type: 'response.output_text.delta', ...at, content_index: 0, delta, logprobs: [] })),
      { type: 'response.output_text.done', ...at, content_index: 0, text, logprobs: [] },
      { type: 'response.content_part.done', ...at, content_index: 0, part: { ...part, text } },
    );
  }
  events.push({ type: 'response.output_item.done', output_index: 0, item }, { type: 'response.completed', response: done });
  // OpenAI numbers a stream's events from 0, the type first.
  const numbered = events.map(({ type, ...rest }, i) => ({ type, sequence_number: i, ...rest }));
  return { response: done, events: numbered };
}

/**
 * The stored-response endpoints: GET and DELETE /v1/responses/{id}, POST .../cancel (OpenAI
 * cancels only background responses, and this fake has none) and GET .../input_items (newest
 * first unless ?order=asc, all on one page).
 */
export function storedResponseAnswer(method: string, url: string, id: string, sub: string, storedResponses: Map<string, StoredResponse>): { status: number; body: unknown } {
  const known = storedResponses.get(id);
  const route = `${method} ${sub}`;
  if (route !== 'GET ' && route !== 'DELETE ' && route !== 'POST /cancel' && route !== 'GET /input_items') {
    return reply(404, errorBody(`Invalid URL (${method} ${url.split('?')[0]})`, 'invalid_request_error', null, null));
  }
  if (known === undefined) return reply(404, errorBody(`Response with id '${id}' not found.`, 'invalid_request_error', null, null));
  if (route === 'GET ') return reply(200, known.response);
  if (route === 'DELETE ') {
    storedResponses.delete(id);
    return reply(200, { id, object: 'response', deleted: true });
  }
  if (route === 'POST /cancel') return reply(400, errorBody('Only background responses can be cancelled.', 'invalid_request_error', null, null));
  const asc = new URL(url, 'http://fake').searchParams.get('order') === 'asc';
  const data = asc ? known.input : [...known.input].reverse();
  return reply(200, { object: 'list', data, first_id: data[0]?.['id'] ?? null, last_id: data.at(-1)?.['id'] ?? null, has_more: false });
}
