// The conformance table's shape: every case the suite runs, and for each adapter the cases it
// cannot do, with the reason. The suite (proxy/test/conformance.test.ts) skips exactly these;
// docs/adapters.md's support matrix is generated from this file (`make generate`).

export const CASES = [
  'plain',
  'system prompt',
  'multi-turn',
  'streaming with usage',
  'usage without asking',
  'tool call round trip',
  'streaming tool call',
  'image input',
  'JSON mode',
  'stop sequence',
  'max tokens',
  'reasoning',
  'embeddings',
  'error 400',
  'error 401 (gateway credential)',
  'error 404',
  'error 429 (Retry-After kept)',
  'error 5xx',
  'context length',
  'client abort mid-stream',
  'upstream cut mid-stream',
] as const;
export type Case = (typeof CASES)[number];

/** Adapter -> case -> why it cannot be done. An adapter not listed here is not in the suite yet. */
export const UNSUPPORTED: Record<string, Partial<Record<Case, string>>> = {
  openai: {},
  vllm: {},
};
