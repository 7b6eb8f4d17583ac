/**
 * The correspondences between OpenAI chat and Anthropic Messages, in one place: the `anthropic`
 * adapter reads them one way (OpenAI client -> Anthropic backend) and the Anthropic ingress the
 * other (Anthropic client -> any backend), so the two directions cannot drift apart.
 */

export type OpenAIFinish = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Anthropic `stop_reason` -> OpenAI `finish_reason`. */
export const FINISH_FROM_STOP_REASON: Readonly<Record<string, OpenAIFinish>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** OpenAI `finish_reason` -> Anthropic `stop_reason` (the ingress's direction). */
export const STOP_REASON_FROM_FINISH: Readonly<Record<OpenAIFinish, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

/**
 * `reasoning_effort` -> `thinking.budget_tokens`. Anthropic's minimum budget is 1024 and the
 * budget counts inside `max_tokens`; `minimal` and `none` ask for no thinking.
 */
export const THINKING_BUDGET: Readonly<Record<string, number>> = {
  low: 1024,
  medium: 4096,
  high: 16384,
};
export const MIN_THINKING_BUDGET = 1024;

/** A thinking budget back to the nearest effort (the ingress's direction). */
export function effortFromBudget(budget: number): 'low' | 'medium' | 'high' {
  return budget >= THINKING_BUDGET.high! ? 'high' : budget >= THINKING_BUDGET.medium! ? 'medium' : 'low';
}

/** What Anthropic requires and OpenAI clients may leave out: the answer's token limit. */
export const DEFAULT_MAX_TOKENS = 4096;

/** OpenAI `tool_choice` -> Anthropic `tool_choice` (without disable_parallel_tool_use). */
export function toolChoiceToAnthropic(tc: unknown): Record<string, unknown> | undefined {
  if (tc === 'auto') return { type: 'auto' };
  if (tc === 'none') return { type: 'none' };
  if (tc === 'required') return { type: 'any' };
  if (tc && typeof tc === 'object') {
    const f = (tc as { function?: { name?: unknown } }).function;
    if (typeof f?.name === 'string') return { type: 'tool', name: f.name };
  }
  return undefined;
}

/** Anthropic `tool_choice` -> OpenAI `tool_choice`. */
export function toolChoiceToOpenAI(tc: unknown): unknown {
  if (!tc || typeof tc !== 'object') return undefined;
  const t = tc as { type?: unknown; name?: unknown };
  if (t.type === 'auto') return 'auto';
  if (t.type === 'none') return 'none';
  if (t.type === 'any') return 'required';
  if (t.type === 'tool' && typeof t.name === 'string') return { type: 'function', function: { name: t.name } };
  return undefined;
}

/** Anthropic error `type` -> the OpenAI error `type` and the status the client gets for a relayed 4xx. */
export const ERROR_FROM_ANTHROPIC: Readonly<Record<string, { type: string; status: number }>> = {
  invalid_request_error: { type: 'invalid_request_error', status: 400 },
  authentication_error: { type: 'authentication_error', status: 401 },
  permission_error: { type: 'permission_error', status: 403 },
  not_found_error: { type: 'invalid_request_error', status: 404 },
  request_too_large: { type: 'invalid_request_error', status: 400 },
  rate_limit_error: { type: 'rate_limit_error', status: 429 },
  api_error: { type: 'server_error', status: 500 },
  overloaded_error: { type: 'server_error', status: 529 },
};

/** An HTTP status -> the Anthropic error type a client of Anthropic's API expects for it. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 405:
    case 415:
    case 422:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** Anthropic's words for a prompt that does not fit the context window. */
export function isContextLengthMessage(message: string): boolean {
  return /prompt is too long|context window|too many (input )?tokens/i.test(message);
}
