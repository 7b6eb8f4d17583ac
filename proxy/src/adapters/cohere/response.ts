import type { Usage } from '../types.ts';

type Json = Record<string, unknown>;

/** Cohere's finish reasons as OpenAI's; ERROR and TIMEOUT are failures, not finish reasons. */
export const FINISH: Record<string, string> = {
  COMPLETE: 'stop',
  STOP_SEQUENCE: 'stop',
  MAX_TOKENS: 'length',
  TOOL_CALL: 'tool_calls',
};

export function isFailure(reason: unknown): boolean {
  return reason === 'ERROR' || reason === 'TIMEOUT';
}

/**
 * Cohere usage as OpenAI's: the billed units (what the account pays for) when present, else
 * the token counts (which include Cohere's own preamble); cached tokens when reported.
 */
export function usageToOpenAI(u: unknown): Json {
  const usage = (u ?? {}) as Json;
  const billed = (usage.billed_units ?? {}) as Json;
  const tokens = (usage.tokens ?? {}) as Json;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const prompt = num(billed.input_tokens) ?? num(tokens.input_tokens) ?? 0;
  const completion = num(billed.output_tokens) ?? num(tokens.output_tokens) ?? 0;
  const out: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (typeof usage.cached_tokens === 'number') out.prompt_tokens_details = { cached_tokens: usage.cached_tokens };
  return out;
}

export function toUsage(u: Json): Usage {
  return { promptTokens: Number(u.prompt_tokens ?? 0), completionTokens: Number(u.completion_tokens ?? 0) };
}

/** The assistant message's parts: text, thinking (reasoning) and the tool plan (reasoning too). */
function parts(message: Json): { text: string; reasoning: string } {
  let text = '';
  let reasoning = '';
  for (const c of (message.content as Json[] | undefined) ?? []) {
    if (c.type === 'text' && typeof c.text === 'string') text += c.text;
    if (c.type === 'thinking' && typeof c.thinking === 'string') reasoning += c.thinking;
  }
  if (typeof message.tool_plan === 'string' && message.tool_plan) reasoning += (reasoning ? '\n' : '') + message.tool_plan;
  return { text, reasoning };
}

/** A Cohere v2 chat response as an OpenAI chat.completion. */
export function chatToOpenAI(r: Json, model: string, created: number): Json {
  const message = (r.message ?? {}) as Json;
  const { text, reasoning } = parts(message);
  const calls = ((message.tool_calls as Json[] | undefined) ?? []).map((c) => {
    const f = (c.function ?? {}) as Json;
    return { id: c.id, type: 'function', function: { name: f.name, arguments: typeof f.arguments === 'string' ? f.arguments : '{}' } };
  });
  const out: Json = { role: 'assistant', content: calls.length > 0 && !text ? null : text, refusal: null };
  if (calls.length > 0) out.tool_calls = calls;
  if (reasoning) out.reasoning_content = reasoning;
  return {
    id: r.id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message: out, logprobs: null, finish_reason: FINISH[String(r.finish_reason)] ?? 'stop' }],
    usage: usageToOpenAI(r.usage),
  };
}

/** Float32 little-endian bytes in base64: what OpenAI sends for `encoding_format: base64`. */
function base64(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

/** A Cohere v2 embed response as an OpenAI embeddings list. */
export function embedToOpenAI(r: Json, model: string, encoding: unknown): Json {
  const vectors = (((r.embeddings ?? {}) as Json).float as number[][] | undefined) ?? [];
  const billed = (((r.meta ?? {}) as Json).billed_units ?? {}) as Json;
  const tokens = typeof billed.input_tokens === 'number' ? billed.input_tokens : 0;
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encoding === 'base64' ? base64(v) : v })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The `message` of a Cohere error body (`{"message": ...}`), at most 500 characters. */
export function cohereErrorMessage(raw: Buffer): string {
  try {
    const j = JSON.parse(raw.toString('utf8')) as Json;
    const m = j.message ?? (j.error as Json | undefined)?.message ?? j.error;
    return typeof m === 'string' ? m.slice(0, 500) : '';
  } catch {
    return '';
  }
}

const TOO_MANY_TOKENS = /too many tokens|context length|too long/i;

/** The client status for a relayed Cohere error status: 422 (invalid) and 413 are 400s, 498 (invalid token) the gateway's credential. */
export function clientStatus(upstream: number): number {
  if (upstream === 422 || upstream === 413) return 400;
  if (upstream === 498) return 502;
  return upstream;
}

/** A Cohere error answer as an OpenAI error body, with the status the client gets. */
export function errorToOpenAI(status: number, raw: Buffer): { status: number; body: Json } {
  const message = cohereErrorMessage(raw) || `the Cohere backend answered ${status}`;
  const client = clientStatus(status);
  let type = 'invalid_request_error';
  let code: string | null = null;
  if (TOO_MANY_TOKENS.test(message) && client === 400) code = 'context_length_exceeded';
  else if (status === 404) code = 'model_not_found';
  else if (status === 498) {
    type = 'upstream_error';
    code = 'upstream_auth_failed';
  } else if (client >= 500) type = 'upstream_error';
  return { status: client, body: { error: { message, type, param: null, code } } };
}
