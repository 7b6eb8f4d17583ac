import { STOP_REASON_FROM_FINISH, anthropicErrorType, type OpenAIFinish } from '../../adapters/anthropic/mapping.ts';

type Json = Record<string, unknown>;

/** OpenAI usage as Anthropic's: cached prompt tokens are counted apart from `input_tokens`. */
export function usageToAnthropic(u: Json | undefined | null): Json {
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const cached = n((u?.prompt_tokens_details as Json | undefined)?.cached_tokens);
  return { input_tokens: Math.max(0, n(u?.prompt_tokens) - cached), output_tokens: n(u?.completion_tokens), cache_creation_input_tokens: 0, cache_read_input_tokens: cached };
}

export function stopReason(finish: unknown): string {
  return STOP_REASON_FROM_FINISH[finish as OpenAIFinish] ?? 'end_turn';
}

/** Anthropic message ids start with msg_; the backend's id follows. */
export function messageId(id: unknown): string {
  return `msg_${typeof id === 'string' && id ? id.replace(/[^A-Za-z0-9_-]/g, '') : 'jairouter'}`;
}

/** An OpenAI chat.completion as an Anthropic message, named with the model the client asked for. */
export function completionToMessage(c: Json, model: string): Json {
  const choice = ((c.choices as Json[] | undefined) ?? [])[0] ?? {};
  const msg = (choice.message ?? {}) as Json;
  const content: Json[] = [];
  if (typeof msg.reasoning_content === 'string' && msg.reasoning_content) content.push({ type: 'thinking', thinking: msg.reasoning_content, signature: '' });
  if (typeof msg.content === 'string' && msg.content) content.push({ type: 'text', text: msg.content });
  for (const t of (msg.tool_calls as Json[] | undefined) ?? []) {
    const f = (t.function ?? {}) as Json;
    content.push({ type: 'tool_use', id: t.id, name: f.name, input: parseInput(f.arguments) });
  }
  return { id: messageId(c.id), type: 'message', role: 'assistant', model, content, stop_reason: stopReason(choice.finish_reason), stop_sequence: null, usage: usageToAnthropic(c.usage as Json | undefined) };
}

export function parseInput(a: unknown): unknown {
  if (typeof a !== 'string' || !a.trim()) return {};
  try {
    return JSON.parse(a);
  } catch {
    // Anthropic's tool input is an object: a model's broken JSON is kept where a client can see it.
    return { _raw: a };
  }
}

/** An OpenAI error body (relayed 4xx) as Anthropic's, typed by status. */
export function errorToAnthropic(status: number, body: Buffer): string {
  let message = '';
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message;
    if (typeof m === 'string') message = m;
  } catch {
    message = body.toString('utf8').slice(0, 500);
  }
  return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message: message || `the backend answered ${status}` } });
}
