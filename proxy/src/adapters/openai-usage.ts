import { lastObjectValue } from './json-scan.ts';
import type { Usage } from './types.ts';

/** Token usage from a complete OpenAI-style response body (its last `"usage"` object), or null. */
export function usageFromBody(body: Buffer): Usage | null {
  const u = lastObjectValue(body, 'usage');
  return u ? toUsage(u) : null;
}

/**
 * OpenAI's usage object (`prompt_tokens`, `completion_tokens`) as the proxy counts it. A rerank
 * answer (vLLM, Jina) reports only `total_tokens`: all of them read, none generated; an image
 * generation answer `input_tokens` and `output_tokens`.
 */
export function toUsage(u: Record<string, unknown>): Usage {
  // Image generation (gpt-image-1) names them as the Responses API does.
  const p = u.prompt_tokens ?? u.input_tokens;
  const c = u.completion_tokens ?? u.output_tokens;
  const t = u.total_tokens;
  if (typeof p !== 'number' && typeof c !== 'number' && typeof t === 'number') return { promptTokens: t, completionTokens: 0 };
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}
