import { UnsupportedRequest } from '../types.ts';
import { DEFAULT_MAX_TOKENS, MIN_THINKING_BUDGET, THINKING_BUDGET, toolChoiceToAnthropic } from './mapping.ts';

type Json = Record<string, unknown>;
type Block = Json;

const ADAPTER = 'the anthropic adapter';

function unsupported(field: string, why: string): never {
  throw new UnsupportedRequest(field, `${field} is not supported by ${ADAPTER}: ${why}`);
}

/**
 * An OpenAI chat request as an Anthropic Messages request. System and developer messages
 * become `system`, tool results a user turn of `tool_result` blocks, consecutive turns of one
 * role are merged (Anthropic requires alternation), and `max_tokens` is supplied when the
 * client left it out. Fields that would change the answer and have no Anthropic equivalent
 * are refused (UnsupportedRequest) rather than dropped.
 */
export function openAIToAnthropic(body: Readonly<Json>, model: string, stream: boolean): Json {
  const out: Json = { model };
  const system: string[] = [];
  const messages: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  const list = body.messages;
  if (!Array.isArray(list)) unsupported('messages', 'a chat request needs a messages array');
  for (const m of list as Json[]) {
    const role = m.role;
    if (role === 'system' || role === 'developer') {
      system.push(textOf(m.content, 'messages[].content'));
    } else if (role === 'user') {
      push('user', userBlocks(m.content));
    } else if (role === 'assistant') {
      const blocks: Block[] = [];
      const text = m.content === null || m.content === undefined ? '' : textOf(m.content, 'messages[].content');
      if (text) blocks.push({ type: 'text', text });
      for (const c of (m.tool_calls as Json[] | undefined) ?? []) {
        const f = (c.function ?? {}) as Json;
        blocks.push({ type: 'tool_use', id: String(c.id), name: String(f.name), input: parseArguments(f.arguments) });
      }
      push('assistant', blocks);
    } else if (role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: String(m.tool_call_id), content: textOf(m.content, 'messages[].content') }]);
    } else {
      unsupported('messages[].role', `role ${JSON.stringify(role)} has no Anthropic equivalent`);
    }
  }
  if (system.length > 0) out.system = system.join('\n');
  out.messages = messages;

  const requested = body.max_completion_tokens ?? body.max_tokens;
  let maxTokens = typeof requested === 'number' ? requested : DEFAULT_MAX_TOKENS;
  const effort = body.reasoning_effort;
  if (typeof effort === 'string' && effort !== 'none' && effort !== 'minimal') {
    const wanted = THINKING_BUDGET[effort];
    if (wanted === undefined) unsupported('reasoning_effort', `unknown effort ${JSON.stringify(effort)}`);
    // The budget counts inside max_tokens: without a client limit the answer keeps its default
    // room beside the thinking; with one, thinking gets what the limit leaves.
    let budget = wanted;
    if (typeof requested === 'number') budget = Math.min(wanted, requested - 1);
    else maxTokens = wanted + DEFAULT_MAX_TOKENS;
    if (budget < MIN_THINKING_BUDGET) unsupported('reasoning_effort', `Anthropic needs a thinking budget of at least ${MIN_THINKING_BUDGET} tokens below max_tokens (${String(requested)})`);
    out.thinking = { type: 'enabled', budget_tokens: budget };
  }
  out.max_tokens = maxTokens;

  const stop = body.stop;
  if (typeof stop === 'string') out.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) out.stop_sequences = stop.map(String);
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (stream) out.stream = true;

  const tools = body.tools;
  if (Array.isArray(tools) && tools.length > 0) {
    out.tools = (tools as Json[]).map((t) => {
      if (t.type !== 'function') unsupported('tools[].type', `only function tools translate (got ${JSON.stringify(t.type)})`);
      const f = (t.function ?? {}) as Json;
      const tool: Json = { name: String(f.name), input_schema: f.parameters ?? { type: 'object', properties: {} } };
      if (typeof f.description === 'string') tool.description = f.description;
      return tool;
    });
  }
  if (body.tool_choice !== undefined) {
    const tc = toolChoiceToAnthropic(body.tool_choice);
    if (!tc) unsupported('tool_choice', `no Anthropic equivalent of ${JSON.stringify(body.tool_choice)}`);
    if (body.parallel_tool_calls === false && tc.type !== 'none') tc.disable_parallel_tool_use = true;
    if (out.tools || tc.type === 'none') out.tool_choice = tc;
  } else if (body.parallel_tool_calls === false && out.tools) {
    out.tool_choice = { type: 'auto', disable_parallel_tool_use: true };
  }

  const rf = body.response_format as Json | undefined;
  if (rf && rf.type !== 'text') unsupported('response_format', `Anthropic has no JSON mode (${String(rf.type)})`);
  if (typeof body.n === 'number' && body.n !== 1) unsupported('n', 'Anthropic returns one choice');
  if (body.logprobs === true) unsupported('logprobs', 'Anthropic returns no log probabilities');
  if (typeof body.frequency_penalty === 'number' && body.frequency_penalty !== 0) unsupported('frequency_penalty', 'Anthropic has no penalties');
  if (typeof body.presence_penalty === 'number' && body.presence_penalty !== 0) unsupported('presence_penalty', 'Anthropic has no penalties');
  if (body.logit_bias && typeof body.logit_bias === 'object' && Object.keys(body.logit_bias).length > 0) unsupported('logit_bias', 'Anthropic has no logit bias');
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== 'text')) unsupported('modalities', 'Anthropic answers in text only');
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  return out;
}

/** The text of a string or an array of text parts (system, tool and assistant messages). */
function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[])
    .map((p) => {
      if (p.type !== 'text') unsupported(field, `a ${String(p.type)} part is only accepted in user messages`);
      return String(p.text ?? '');
    })
    .join('');
}

/** Anthropic refuses empty text blocks; an empty user text says nothing, so it is left out. */
function userBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  return (content as Json[]).filter((p) => p.type !== 'text' || p.text).map((p): Block => {
    if (p.type === 'text') return { type: 'text', text: String(p.text ?? '') };
    if (p.type === 'image_url') return imageBlock(String(((p.image_url ?? {}) as Json).url ?? ''));
    return unsupported('messages[].content', `${String(p.type)} parts have no Anthropic equivalent`);
  });
}

/** A data URL becomes a base64 source, an http(s) link a URL source (Anthropic fetches it). */
function imageBlock(url: string): Block {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  return unsupported('messages[].content[].image_url', 'an image must be a base64 data URL or an http(s) link');
}

/** Tool-call arguments are a JSON string in OpenAI and an object in Anthropic. */
function parseArguments(a: unknown): unknown {
  if (typeof a !== 'string' || a.trim() === '') return {};
  try {
    return JSON.parse(a);
  } catch {
    return unsupported('messages[].tool_calls[].function.arguments', 'the arguments are not valid JSON, and Anthropic takes them as an object');
  }
}
