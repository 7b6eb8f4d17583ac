// A Responses API request as an OpenAI chat request, for a backend that does not serve the
// Responses API itself (every adapter speaks chat). Pure. What has no chat equivalent (built-in
// tools, stored state, file inputs...) is refused with UnsupportedRequest naming it, so the next
// backend is tried or the client gets a 400, never an answer that silently ignored it.
import type { ClientRequest } from '../adapters/types.ts';
import { UnsupportedRequest } from '../adapters/types.ts';

type Json = Record<string, unknown>;

/** Request members carried over (by name or translated), or harmless to leave out (see the comments). */
const KNOWN = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_output_tokens', 'temperature', 'top_p',
  'stream', 'text', 'reasoning', 'user', 'safety_identifier', 'metadata', 'service_tier', 'prompt_cache_key',
  // `store` asks for the response to be kept: the gateway keeps it (responses/store.ts).
  'store',
  // `include` asks for optional output content (encrypted reasoning, logprobs...): a chat backend has none to add.
  'include',
  'previous_response_id', 'background', 'truncation', 'stream_options',
]);

function refuse(field: string, why: string, backend: string): never {
  throw new UnsupportedRequest(field, `${why} (backend ${backend} is served through chat completions: it does not serve the Responses API itself)`);
}

/** The chat request for `req` (a Responses API request) to `backend`. */
export function responsesAsChat(req: ClientRequest, backend: string): ClientRequest {
  if (req.target !== undefined) refuse('id', 'a stored response is only found on a backend that serves the Responses API', backend);
  const b = req.body;
  for (const k of Object.keys(b)) if (!KNOWN.has(k) && b[k] !== undefined && b[k] !== null) refuse(k, `${k} has no chat completions equivalent`, backend);
  if (b.previous_response_id != null) refuse('previous_response_id', 'previous_response_id names a response the gateway did not keep, which only the backend that created it can find', backend);
  if (b.background === true) refuse('background', 'background responses need a backend that stores responses', backend);
  if (b.truncation === 'auto') refuse('truncation', 'truncation auto has no chat completions equivalent', backend);

  const messages: Json[] = [];
  if (typeof b.instructions === 'string' && b.instructions !== '') messages.push({ role: 'system', content: b.instructions });
  const input = b.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) for (const item of input as unknown[]) addItem(messages, item, backend);

  const chat: Json = { model: req.model, messages };
  const tools = b.tools;
  if (Array.isArray(tools) && tools.length > 0) chat.tools = tools.map((t) => chatTool(t, backend));
  if (b.tool_choice != null) chat.tool_choice = toolChoice(b.tool_choice, backend);
  if (typeof b.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = b.parallel_tool_calls;
  if (typeof b.max_output_tokens === 'number') chat.max_tokens = b.max_output_tokens;
  for (const k of ['temperature', 'top_p', 'user', 'safety_identifier', 'metadata', 'service_tier', 'prompt_cache_key'] as const) if (b[k] != null) chat[k] = b[k];
  const format = (b.text as { format?: Json } | undefined)?.format;
  if (format !== undefined && format !== null) {
    if (format.type === 'json_object') chat.response_format = { type: 'json_object' };
    else if (format.type === 'json_schema') {
      const { type: _t, ...schema } = format;
      chat.response_format = { type: 'json_schema', json_schema: schema };
    } else if (format.type !== 'text') refuse('text.format', `text.format ${String(format.type)} has no chat completions equivalent`, backend);
  }
  const reasoning = b.reasoning as { effort?: unknown; summary?: unknown } | undefined;
  if (reasoning && typeof reasoning === 'object') {
    if (reasoning.summary != null) refuse('reasoning.summary', 'reasoning summaries have no chat completions equivalent', backend);
    if (typeof reasoning.effort === 'string') chat.reasoning_effort = reasoning.effort;
  }
  if (req.stream) {
    chat.stream = true;
    // The translation reads the usage from the stream's last chunk.
    chat.stream_options = { include_usage: true };
  }
  const raw = Buffer.from(JSON.stringify(chat));
  return { operation: 'chat', raw, body: chat, model: req.model, stream: req.stream, clientWantsUsage: true, requestId: req.requestId };
}

/** Adds one input item to the chat messages (consecutive function calls join one assistant message). */
function addItem(messages: Json[], item: unknown, backend: string): void {
  if (typeof item !== 'object' || item === null) refuse('input', 'input items must be objects', backend);
  const it = item as Json;
  const type = it.type ?? 'message';
  switch (type) {
    case 'message': {
      const role = it.role === 'developer' ? 'system' : it.role;
      if (role !== 'user' && role !== 'system' && role !== 'assistant') refuse('input', `a message with role ${String(it.role)}`, backend);
      messages.push({ role, content: content(it.content, role === 'assistant', backend) });
      return;
    }
    case 'function_call': {
      const call = { id: it.call_id, type: 'function', function: { name: it.name, arguments: it.arguments } };
      const last = messages.at(-1);
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as Json[]).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output':
      messages.push({ role: 'tool', tool_call_id: it.call_id, content: typeof it.output === 'string' ? it.output : textOf(it.output) });
      return;
    // The model's own reasoning from an earlier turn: context a chat backend cannot take back in.
    case 'reasoning':
      return;
    default:
      refuse('input', `input items of type ${String(type)} have no chat completions equivalent`, backend);
  }
}

/** A message's content: a string as is; parts as chat parts (text, image URLs). */
function content(c: unknown, assistant: boolean, backend: string): unknown {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) refuse('input', 'message content must be a string or an array of parts', backend);
  if (assistant) return textOf(c);
  return (c as Json[]).map((p) => {
    if (p.type === 'input_text' || p.type === 'output_text') return { type: 'text', text: p.text };
    if (p.type === 'input_image') {
      if (typeof p.image_url !== 'string') refuse('input', 'input_image by file_id needs a backend that serves the Responses API', backend);
      return { type: 'image_url', image_url: p.detail ? { url: p.image_url, detail: p.detail } : { url: p.image_url } };
    }
    return refuse('input', `content parts of type ${String(p.type)} have no chat completions equivalent`, backend);
  });
}

function textOf(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return (c as Json[]).map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}

function chatTool(t: unknown, backend: string): Json {
  const tool = (t ?? {}) as Json;
  if (tool.type !== 'function') refuse('tools', `the ${String(tool.type)} tool is built into OpenAI's Responses API and not available on this backend`, backend);
  const fn: Json = { name: tool.name };
  if (tool.description != null) fn.description = tool.description;
  if (tool.parameters != null) fn.parameters = tool.parameters;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toolChoice(c: unknown, backend: string): unknown {
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  const o = c as Json;
  if (o?.type === 'function' && typeof o.name === 'string') return { type: 'function', function: { name: o.name } };
  return refuse('tool_choice', 'tool_choice names a built-in tool', backend);
}
