import type { Usage } from '../types.ts';
import type { EmbeddingFamily } from './request.ts';

/** Bedrock answers -> OpenAI's: chat completions, embeddings lists and error bodies. Pure. */

type Json = Record<string, unknown>;

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

export function finishReason(stopReason: unknown): FinishReason {
  return STOP_REASONS[String(stopReason)] ?? 'stop';
}

/** OpenAI's usage object from Converse's: cache reads and writes are part of the prompt, as OpenAI counts it. */
export function openAIUsage(u: Json | undefined): Json {
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const cacheRead = n(u?.cacheReadInputTokens);
  const prompt = n(u?.inputTokens) + cacheRead + n(u?.cacheWriteInputTokens);
  const completion = n(u?.outputTokens);
  const out: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (u?.cacheReadInputTokens !== undefined) out.prompt_tokens_details = { cached_tokens: cacheRead };
  return out;
}

export function usageOf(openAI: Json): Usage {
  return { promptTokens: Number(openAI.prompt_tokens ?? 0), completionTokens: Number(openAI.completion_tokens ?? 0) };
}

export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** A Converse response as an OpenAI chat.completion. */
export function chatCompletion(r: Json, meta: CompletionMeta): Json {
  const message = ((r.output as Json | undefined)?.message ?? {}) as Json;
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const block of (Array.isArray(message.content) ? message.content : []) as Json[]) {
    if (typeof block.text === 'string') text += block.text;
    const tu = block.toolUse as Json | undefined;
    if (tu) toolCalls.push({ id: String(tu.toolUseId), type: 'function', function: { name: String(tu.name), arguments: JSON.stringify(tu.input ?? {}) } });
    const rc = block.reasoningContent as Json | undefined;
    const rt = rc?.reasoningText as Json | undefined;
    if (typeof rt?.text === 'string') reasoning += rt.text;
  }
  const msg: Json = { role: 'assistant', content: toolCalls.length > 0 && text === '' ? null : text, refusal: null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  if (reasoning) msg.reasoning_content = reasoning;
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finishReason(r.stopReason) }],
    usage: openAIUsage(r.usage as Json | undefined),
  };
}

function encode(v: number[], format: unknown): number[] | string {
  if (format !== 'base64') return v;
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}

/**
 * An InvokeModel embeddings answer as an OpenAI embeddings list. `inputTokens` is Bedrock's
 * x-amzn-bedrock-input-token-count header (Cohere's body has no count).
 */
export function embeddingsList(family: EmbeddingFamily, r: Json, model: string, encodingFormat: unknown, inputTokens: number | undefined): Json {
  let vectors: number[][];
  let tokens = inputTokens;
  if (family === 'titan') {
    vectors = [(r.embedding as number[] | undefined) ?? []];
    if (typeof r.inputTextTokenCount === 'number') tokens = r.inputTextTokenCount;
  } else {
    const e = r.embeddings;
    // v3 answers a list of vectors; with embedding_types (and Embed v4) they come by type.
    vectors = Array.isArray(e) ? (e as number[][]) : (((e as Json | undefined)?.float as number[][] | undefined) ?? []);
  }
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encode(v, encodingFormat) })),
    model,
    usage: { prompt_tokens: tokens ?? 0, total_tokens: tokens ?? 0 },
  };
}

/** The error's name from x-amzn-errortype (`ValidationException:http://internal...`), or ''. */
export function errorType(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return (v ?? '').split(':')[0]!.trim();
}

/** The `message` (or `Message`) of a Bedrock error body, at most 500 characters. */
export function bedrockErrorMessage(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const j = JSON.parse(body.toString('utf8')) as Json;
    const m = j.message ?? j.Message;
    return typeof m === 'string' ? m.slice(0, 500) : '';
  } catch {
    return '';
  }
}

const CONTEXT_LENGTH = /input is too long|too many input tokens|prompt is too long|context window|maximum context length|too many tokens/i;

/** A Bedrock 4xx answer as an OpenAI error body and the client's status. */
export function openAIError(status: number, type: string, message: string): { status: number; body: Json } {
  if (status === 400 && type === 'ValidationException' && CONTEXT_LENGTH.test(message)) {
    return { status: 400, body: { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } };
  }
  const code = status === 404 ? 'model_not_found' : null;
  return { status, body: { error: { message: message || `bedrock answered ${status}${type ? ` (${type})` : ''}`, type: 'invalid_request_error', param: null, code } } };
}
