import { effortFromBudget, toolChoiceToOpenAI } from '../../adapters/anthropic/mapping.ts';

type Json = Record<string, unknown>;

/** A field of an Anthropic request that has no OpenAI chat equivalent: the client gets a 400 naming it. */
export class UntranslatableField extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

function refuse(field: string, why: string): never {
  throw new UntranslatableField(field, `${field} cannot be sent to this model's backend (it does not speak Anthropic's API): ${why}`);
}

/**
 * An Anthropic Messages request as the canonical OpenAI chat request every adapter reads: the
 * inverse of adapters/anthropic/request.ts, from the same mapping tables. `system` becomes a
 * system message, `tool_result` blocks `tool` messages (ahead of the rest of their user turn,
 * as OpenAI wants them right after the assistant's calls), `tool_use` blocks tool_calls,
 * images image_url parts (base64 as data URLs), `thinking` a reasoning effort. Prompt-cache
 * markers (`cache_control`) and earlier turns' thinking blocks have no OpenAI form and are left
 * out (they do not change the answer); fields that would are refused.
 */
export function anthropicToOpenAI(body: Readonly<Json>): Json {
  const messages: Json[] = [];
  const system = body.system;
  if (typeof system === 'string' && system) messages.push({ role: 'system', content: system });
  else if (Array.isArray(system) && system.length > 0) messages.push({ role: 'system', content: (system as Json[]).map((b) => textBlock(b, 'system')).join('\n') });
  if (!Array.isArray(body.messages)) refuse('messages', 'messages must be an array');
  for (const m of body.messages as Json[]) {
    if (m.role === 'user') userTurn(m.content, messages);
    else if (m.role === 'assistant') messages.push(assistantTurn(m.content));
    else refuse('messages.role', `unknown role ${JSON.stringify(m.role)}`);
  }
  const out: Json = { model: body.model, messages };
  if (typeof body.max_tokens === 'number') out.max_tokens = body.max_tokens;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (body.top_k !== undefined) refuse('top_k', 'OpenAI chat has no top_k');
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = (body.tools as Json[]).map((t) => {
      if (t.type !== undefined && t.type !== 'custom') refuse('tools', `the server tool ${String(t.type)} runs only on Anthropic's platform`);
      const fn: Json = { name: t.name, parameters: t.input_schema ?? { type: 'object', properties: {} } };
      if (typeof t.description === 'string') fn.description = t.description;
      return { type: 'function', function: fn };
    });
  }
  const tc = body.tool_choice as Json | undefined;
  if (tc) {
    const choice = toolChoiceToOpenAI(tc);
    if (choice === undefined) refuse('tool_choice', `unknown tool_choice ${JSON.stringify(tc.type)}`);
    out.tool_choice = choice;
    if (tc.disable_parallel_tool_use === true && out.tools) out.parallel_tool_calls = false;
  }
  const thinking = body.thinking as Json | undefined;
  if (thinking?.type === 'enabled') out.reasoning_effort = effortFromBudget(typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0);
  else if (thinking && thinking.type !== 'disabled') out.reasoning_effort = 'medium';
  const meta = body.metadata as Json | undefined;
  if (typeof meta?.user_id === 'string') out.user = meta.user_id;
  if (body.stream === true) {
    out.stream = true;
    // The Anthropic stream carries usage; the proxy asks every backend for it.
    out.stream_options = { include_usage: true };
  }
  return out;
}

function textBlock(b: Json, field: string): string {
  if (b.type !== 'text') refuse(field, `a ${String(b.type)} block is not accepted there`);
  return String(b.text ?? '');
}

function userTurn(content: unknown, messages: Json[]): void {
  if (typeof content === 'string') {
    messages.push({ role: 'user', content });
    return;
  }
  if (!Array.isArray(content)) refuse('messages.content', 'content must be a string or an array of blocks');
  const parts: Json[] = [];
  for (const b of content as Json[]) {
    if (b.type === 'tool_result') {
      const c = b.content;
      // OpenAI tool messages carry text only: an image a tool returned is named, not dropped unseen.
      let text = typeof c === 'string' ? c : Array.isArray(c) ? (c as Json[]).map((x) => (x.type === 'text' ? String(x.text ?? '') : `[${String(x.type)} omitted: this backend takes only text in tool results]`)).join('\n') : '';
      if (b.is_error === true) text = `Error: ${text}`;
      messages.push({ role: 'tool', tool_call_id: b.tool_use_id, content: text });
    } else if (b.type === 'text') {
      parts.push({ type: 'text', text: String(b.text ?? '') });
    } else if (b.type === 'image') {
      parts.push({ type: 'image_url', image_url: { url: imageUrl(b.source as Json | undefined) } });
    } else {
      refuse('messages.content', `${String(b.type)} blocks have no OpenAI chat equivalent`);
    }
  }
  if (parts.length > 0) messages.push({ role: 'user', content: parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts });
}

function imageUrl(source: Json | undefined): string {
  if (source?.type === 'base64') return `data:${String(source.media_type)};base64,${String(source.data)}`;
  if (source?.type === 'url') return String(source.url);
  return refuse('messages.content.source', `image source ${JSON.stringify(source?.type)} has no OpenAI equivalent`);
}

function assistantTurn(content: unknown): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  let text = '';
  const calls: Json[] = [];
  for (const b of (content as Json[] | undefined) ?? []) {
    if (b.type === 'text') text += String(b.text ?? '');
    else if (b.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    else if (b.type === 'thinking' || b.type === 'redacted_thinking') continue;
    else refuse('messages.content', `${String(b.type)} blocks have no OpenAI chat equivalent`);
  }
  const m: Json = { role: 'assistant', content: calls.length > 0 && !text ? null : text };
  if (calls.length > 0) m.tool_calls = calls;
  return m;
}
