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
  ollama: {},
  xinference: {},
  localai: {},
  gpustack: {},
  gemini: {},
  'azure-openai': {},
  huggingface: {},
  dashscope: {},
  hunyuan: {},
  cohere: {},
  anthropic: {
    'JSON mode': 'Anthropic has no JSON mode: response_format is refused with 400 rather than emulated',
    embeddings: 'Anthropic has no embeddings API',
  },
  bedrock: {
    'JSON mode': 'the Converse API has no JSON mode: response_format is refused with 400 rather than emulated',
  },
};

/** The support matrix of docs/adapters.md: one row per case, one column per adapter in the suite. */
export function renderSupportMatrix(): string {
  const adapters = Object.keys(UNSUPPORTED).sort();
  const reasons: string[] = [];
  const cell = (adapter: string, c: Case): string => {
    const why = UNSUPPORTED[adapter]![c];
    if (!why) return 'yes';
    reasons.push(`${adapter}, ${c}: ${why}`);
    return `no (${reasons.length})`;
  };
  const lines = [`| case | ${adapters.map((a) => `\`${a}\``).join(' | ')} |`, `|---|${adapters.map(() => '---').join('|')}|`];
  for (const c of CASES) lines.push(`| ${c} | ${adapters.map((a) => cell(a, c)).join(' | ')} |`);
  if (reasons.length > 0) lines.push('', ...reasons.map((r, i) => `${i + 1}. ${r}`));
  return lines.join('\n');
}
