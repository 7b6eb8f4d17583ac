import type { Usage } from '../types.ts';
import { callId } from './tool-ids.ts';

type Json = Record<string, unknown>;

/** Gemini finish reasons as OpenAI's (anything else, e.g. OTHER or MALFORMED_FUNCTION_CALL, is stop). */
const FINISH: Record<string, string> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

/** The OpenAI finish_reason of a Gemini finishReason, given whether the answer called tools. */
export function finishReason(reason: unknown, calledTools: boolean): string {
  const f = FINISH[String(reason)] ?? 'stop';
  return f === 'stop' && calledTools ? 'tool_calls' : f;
}

/**
 * Gemini's usageMetadata as OpenAI usage: completion tokens include the thinking tokens (as
 * OpenAI counts reasoning), which are also reported as reasoning_tokens; cached prompt tokens
 * as cached_tokens.
 */
export function usageToOpenAI(u: Json | undefined): Json {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const prompt = num(u?.promptTokenCount) + num(u?.toolUsePromptTokenCount);
  const thoughts = num(u?.thoughtsTokenCount);
  const completion = num(u?.candidatesTokenCount) + thoughts;
  const usage: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const cached = num(u?.cachedContentTokenCount);
  if (cached > 0) usage.prompt_tokens_details = { cached_tokens: cached };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

export function toUsage(u: Json): Usage {
  return { promptTokens: u.prompt_tokens as number, completionTokens: u.completion_tokens as number };
}

/** What a candidate's parts say, in OpenAI's terms. `firstCall` numbers the calls (a stream counts on across chunks). */
export function readParts(parts: unknown, firstCall: number): { text: string; reasoning: string; toolCalls: Json[] } {
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const p of (Array.isArray(parts) ? parts : []) as Json[]) {
    const fc = p.functionCall as Json | undefined;
    if (fc) {
      toolCalls.push({
        id: callId(firstCall + toolCalls.length, p.thoughtSignature),
        type: 'function',
        function: { name: String(fc.name ?? ''), arguments: JSON.stringify(fc.args ?? {}) },
      });
    } else if (typeof p.text === 'string') {
      if (p.thought === true) reasoning += p.text;
      else text += p.text;
    }
  }
  return { text, reasoning, toolCalls };
}

/** A Gemini GenerateContentResponse as an OpenAI chat.completion. `created` is seconds since the epoch. */
export function responseToOpenAI(r: Json, model: string, id: string, created: number): Json {
  const cand = ((r.candidates as Json[] | undefined) ?? [])[0];
  const { text, reasoning, toolCalls } = readParts((cand?.content as Json | undefined)?.parts, 0);
  const message: Json = { role: 'assistant', content: toolCalls.length > 0 && text === '' ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning_content = reasoning;
  // No candidate at all: the prompt itself was blocked (promptFeedback.blockReason).
  const finish = cand ? finishReason(cand.finishReason, toolCalls.length > 0) : 'content_filter';
  return {
    id: typeof r.responseId === 'string' ? `chatcmpl-${r.responseId}` : id,
    object: 'chat.completion',
    created,
    model: typeof r.modelVersion === 'string' ? r.modelVersion : model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: usageToOpenAI(r.usageMetadata as Json | undefined),
  };
}

/**
 * A batchEmbedContents answer as an OpenAI embeddings list. Gemini reports usage only for some
 * models: without usageMetadata the prompt tokens are estimated from the inputs (4 characters
 * a token), which is what the request log then shows.
 */
export function embeddingsToOpenAI(r: Json, model: string, inputs: readonly string[], base64: boolean): Json {
  const data = ((r.embeddings as Json[] | undefined) ?? []).map((e, index) => {
    const values = (e.values as number[] | undefined) ?? [];
    return { object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values };
  });
  const u = r.usageMetadata as Json | undefined;
  const prompt = typeof u?.promptTokenCount === 'number' ? u.promptTokenCount : inputs.reduce((n, t) => n + Math.ceil(t.length / 4), 0);
  return { object: 'list', data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } };
}

/** Google's error statuses as OpenAI error types and the client's status. */
const ERROR_TYPES: Record<string, [status: number, type: string]> = {
  INVALID_ARGUMENT: [400, 'invalid_request_error'],
  FAILED_PRECONDITION: [400, 'invalid_request_error'],
  OUT_OF_RANGE: [400, 'invalid_request_error'],
  UNAUTHENTICATED: [401, 'authentication_error'],
  PERMISSION_DENIED: [403, 'permission_error'],
  NOT_FOUND: [404, 'invalid_request_error'],
  RESOURCE_EXHAUSTED: [429, 'rate_limit_error'],
  INTERNAL: [500, 'server_error'],
  UNAVAILABLE: [503, 'server_error'],
  DEADLINE_EXCEEDED: [504, 'server_error'],
};

export interface GoogleError {
  status: string | null;
  message: string;
  /** ErrorInfo reasons (API_KEY_INVALID, ...). */
  reasons: string[];
  /** RetryInfo.retryDelay in milliseconds. */
  retryDelayMs: number | undefined;
}

/** `{"error":{code,message,status,details}}` read, or empty. Google sends it as an array in some stream errors. */
export function googleError(body: Buffer | string): GoogleError {
  const none: GoogleError = { status: null, message: '', reasons: [], retryDelayMs: undefined };
  try {
    let j = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as unknown;
    if (Array.isArray(j)) j = j[0];
    const e = (j as { error?: Json }).error;
    if (!e || typeof e !== 'object') return none;
    const reasons: string[] = [];
    let retryDelayMs: number | undefined;
    for (const d of (Array.isArray(e.details) ? e.details : []) as Json[]) {
      if (typeof d.reason === 'string') reasons.push(d.reason);
      const delay = typeof d.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
      if (delay) retryDelayMs = Math.round(Number(delay[1]) * 1000);
    }
    return { status: typeof e.status === 'string' ? e.status : null, message: typeof e.message === 'string' ? e.message.slice(0, 500) : '', reasons, retryDelayMs };
  } catch {
    return none;
  }
}

/** Gemini's words for a prompt over the model's input limit. */
export function isContextLength(message: string): boolean {
  return /input token count|exceeds the maximum number of tokens|too many tokens|context (window|length)/i.test(message);
}

/**
 * A relayed Gemini 4xx as an OpenAI error body. An invalid API key comes as 400
 * (API_KEY_INVALID): that is the gateway's credential, so it says so (code upstream_auth_failed),
 * though the status, decided before the body arrives, stays 400.
 */
export function errorToOpenAI(status: number, body: Buffer): Json {
  const e = googleError(body);
  const text = e.message || `the Gemini backend answered ${status}`;
  if (e.reasons.includes('API_KEY_INVALID')) {
    return { error: { message: `the backend refused the gateway's credential: ${text}`, type: 'api_error', param: null, code: 'upstream_auth_failed' } };
  }
  if ((status === 400 || status === 413) && isContextLength(text)) {
    return { error: { message: text, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } };
  }
  const type = (e.status ? ERROR_TYPES[e.status]?.[1] : undefined) ?? 'invalid_request_error';
  const code = status === 404 || e.status === 'NOT_FOUND' ? 'model_not_found' : null;
  return { error: { message: text, type, param: null, code } };
}
