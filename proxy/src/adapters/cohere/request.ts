import { UnsupportedRequest } from '../types.ts';

type Json = Record<string, unknown>;

/**
 * Fields of an OpenAI chat request Cohere has no equivalent for, which would change the answer
 * if dropped (the value that asks for nothing is let through).
 */
const REFUSED: Array<[field: string, asks: (v: unknown) => boolean, why: string]> = [
  ['n', (v) => typeof v === 'number' && v > 1, 'answers with one choice'],
  ['logprobs', (v) => v === true, 'cannot return log probabilities in OpenAI form'],
  ['top_logprobs', (v) => v !== undefined && v !== null && v !== 0, 'cannot return log probabilities in OpenAI form'],
  ['logit_bias', (v) => !!v && typeof v === 'object' && Object.keys(v).length > 0, 'has no logit bias'],
  ['parallel_tool_calls', (v) => v === false, 'cannot be kept from calling tools in parallel'],
  ['audio', (v) => v !== undefined && v !== null, 'has no audio output'],
  ['modalities', (v) => Array.isArray(v) && v.some((m) => m !== 'text'), 'answers with text only'],
  ['web_search_options', (v) => v !== undefined && v !== null, 'has no web search in the chat API'],
];

function refuse(field: string, why: string): never {
  throw new UnsupportedRequest(field, `${field}: the cohere adapter ${why}`);
}

/** The text of an OpenAI message content (a string or parts); images are refused where they cannot go. */
function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) refuse(field, 'cannot read this content');
  return (content as Json[])
    .map((p) => {
      if (p.type === 'text') return String(p.text ?? '');
      return refuse(field, `accepts only text here, not a ${String(p.type)} part`);
    })
    .join('\n');
}

/** User content: text and images (`image_url` parts, data URLs or links, on Cohere's vision models). */
function userContent(content: unknown, field: string): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return textOf(content, field);
  return (content as Json[]).map((p, i) => {
    if (p.type === 'text') return { type: 'text', text: String(p.text ?? '') };
    if (p.type === 'image_url') {
      const img = (p.image_url ?? {}) as Json;
      const out: Json = { url: img.url };
      if (img.detail !== undefined) out.detail = img.detail;
      return { type: 'image_url', image_url: out };
    }
    return refuse(`${field}[${i}]`, `cannot send a ${String(p.type)} content part`);
  });
}

function toolCalls(calls: unknown): Json[] {
  return ((calls as Json[] | undefined) ?? []).map((c) => {
    const f = (c.function ?? {}) as Json;
    return { id: c.id, type: 'function', function: { name: f.name, arguments: typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {}) } };
  });
}

function messages(list: unknown): Json[] {
  return ((list as Json[] | undefined) ?? []).map((m, i) => {
    const field = `messages[${i}].content`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content, field) };
      case 'user':
        return { role: 'user', content: userContent(m.content, field) };
      case 'assistant': {
        const out: Json = { role: 'assistant' };
        const text = textOf(m.content, field);
        const calls = toolCalls(m.tool_calls);
        if (calls.length > 0) out.tool_calls = calls;
        if (text || calls.length === 0) out.content = text;
        return out;
      }
      case 'tool':
        return { role: 'tool', tool_call_id: m.tool_call_id, content: textOf(m.content, field) };
      default:
        return refuse(`messages[${i}].role`, `cannot send a message with role ${String(m.role)}`);
    }
  });
}

/** OpenAI's tool_choice as Cohere's: REQUIRED / NONE, and a forced tool as REQUIRED with only that tool offered. */
function toolChoice(choice: unknown, tools: Json[] | undefined): { tools: Json[] | undefined; choice: string | undefined } {
  if (choice === undefined || choice === null || choice === 'auto') return { tools, choice: undefined };
  if (choice === 'required') return { tools, choice: 'REQUIRED' };
  if (choice === 'none') return { tools, choice: 'NONE' };
  const name = ((choice as Json).function as Json | undefined)?.name;
  const only = (tools ?? []).filter((t) => (t.function as Json | undefined)?.name === name);
  if (typeof name !== 'string' || only.length === 0) refuse('tool_choice', 'can only force a tool the request offers');
  return { tools: only, choice: 'REQUIRED' };
}

function responseFormat(rf: unknown): Json | undefined {
  if (!rf || typeof rf !== 'object') return undefined;
  const f = rf as Json;
  if (f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type === 'json_schema') {
    const schema = ((f.json_schema ?? {}) as Json).schema;
    return schema ? { type: 'json_object', json_schema: schema } : { type: 'json_object' };
  }
  return refuse('response_format', `cannot answer in format ${String(f.type)}`);
}

/** An OpenAI chat request as a Cohere v2 chat request (`POST /v2/chat`). */
export function openAIToCohere(body: Readonly<Json>, model: string, stream: boolean): Json {
  for (const [field, asks, why] of REFUSED) if (asks(body[field])) refuse(field, why);
  const out: Json = { model, messages: messages(body.messages) };
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? (body.tools as Json[]) : undefined;
  for (const [i, t] of (tools ?? []).entries()) if (t.type !== 'function') refuse(`tools[${i}]`, `offers only function tools, not ${String(t.type)}`);
  const tc = toolChoice(body.tool_choice, tools);
  if (tc.tools) {
    // OpenAI's per-function `strict` is one switch for all tools in Cohere (strict_tools).
    out.tools = tc.tools.map((t) => {
      const { strict: _strict, ...f } = (t.function ?? {}) as Json;
      return { type: 'function', function: f };
    });
    if (tc.tools.some((t) => (t.function as Json | undefined)?.strict === true)) out.strict_tools = true;
  }
  if (tc.choice) out.tool_choice = tc.choice;
  const rf = responseFormat(body.response_format);
  if (rf) out.response_format = rf;
  const stop = body.stop;
  if (typeof stop === 'string') out.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) out.stop_sequences = stop;
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined && max !== null) out.max_tokens = max;
  for (const k of ['temperature', 'seed', 'frequency_penalty', 'presence_penalty'] as const) if (body[k] !== undefined && body[k] !== null) out[k] = body[k];
  if (body.top_p !== undefined && body.top_p !== null) out.p = body.top_p;
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) out.thinking = { type: effort === 'none' ? 'disabled' : 'enabled' };
  if (stream) out.stream = true;
  return out;
}

/** An OpenAI embeddings request as a Cohere v2 embed request (`POST /v2/embed`). */
export function openAIToCohereEmbed(body: Readonly<Json>, model: string): Json {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((t) => typeof t === 'string') ? input : refuse('input', 'embeds text only, not token arrays');
  const out: Json = { model, texts, input_type: 'search_document', embedding_types: ['float'] };
  if (typeof body.dimensions === 'number') out.output_dimension = body.dimensions;
  return out;
}
