import type { Usage } from '../types.ts';
import { ERROR_FROM_ANTHROPIC, FINISH_FROM_STOP_REASON, isContextLengthMessage } from './mapping.ts';

type Json = Record<string, unknown>;

/** Anthropic usage as OpenAI's: prompt tokens include the cache reads and writes Anthropic counts apart. */
export function usageToOpenAI(u: Json | undefined): Json {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const cacheRead = num(u?.cache_read_input_tokens);
  const prompt = num(u?.input_tokens) + cacheRead + num(u?.cache_creation_input_tokens);
  const completion = num(u?.output_tokens);
  const usage: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (cacheRead > 0) usage.prompt_tokens_details = { cached_tokens: cacheRead };
  return usage;
}

/** OpenAI usage as the proxy counts it. */
export function toUsage(u: Json): Usage {
  return { promptTokens: u.prompt_tokens as number, completionTokens: u.completion_tokens as number };
}

/** An Anthropic `message` as an OpenAI `chat.completion`. `created` is seconds since the epoch. */
export function messageToOpenAI(m: Json, created: number): Json {
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const b of (m.content as Json[] | undefined) ?? []) {
    if (b.type === 'text') text += String(b.text ?? '');
    else if (b.type === 'thinking') reasoning += String(b.thinking ?? '');
    else if (b.type === 'tool_use') toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
  }
  const message: Json = { role: 'assistant', content: toolCalls.length > 0 && text === '' ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning_content = reasoning;
  return {
    id: m.id,
    object: 'chat.completion',
    created,
    model: m.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH_FROM_STOP_REASON[String(m.stop_reason)] ?? 'stop' }],
    usage: usageToOpenAI(m.usage as Json | undefined),
  };
}

/** `{"type":"error","error":{type,message}}`'s type and message, or nulls. */
export function anthropicError(body: Buffer | string): { type: string | null; message: string } {
  try {
    const j = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as { error?: { type?: unknown; message?: unknown } };
    return { type: typeof j.error?.type === 'string' ? j.error.type : null, message: typeof j.error?.message === 'string' ? j.error.message.slice(0, 500) : '' };
  } catch {
    return { type: null, message: '' };
  }
}

/** A relayed Anthropic 4xx as an OpenAI error body and the client's status. */
export function errorToOpenAI(status: number, body: Buffer): { status: number; body: Json } {
  const { type, message } = anthropicError(body);
  const mapped = type ? ERROR_FROM_ANTHROPIC[type] : undefined;
  const text = message || `the Anthropic backend answered ${status}`;
  if (status === 413 || type === 'request_too_large' || isContextLengthMessage(text)) {
    return { status: 400, body: { error: { message: text, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } };
  }
  const code = status === 404 || type === 'not_found_error' ? 'model_not_found' : null;
  return { status: mapped?.status ?? status, body: { error: { message: text, type: mapped?.type ?? 'invalid_request_error', param: null, code } } };
}
