import type { Adapter } from './types.ts';
import { anthropic } from './anthropic/adapter.ts';
import { azureOpenAI } from './azure-openai.ts';
import { cohere } from './cohere/adapter.ts';
import { bedrock } from './bedrock/adapter.ts';
import { awsDefaultCredentials } from './bedrock/default-credentials.ts';
import { gemini } from './gemini/adapter.ts';
import { openAICompatible } from './openai-compatible.ts';
import { dashScope, huggingFace, hunyuan } from './openai-like.ts';
import { redactingErrors } from './redact.ts';

const OPENAI_FAMILY = ['openai', 'vllm', 'ollama', 'xinference', 'localai', 'gpustack'] as const;
/** Self-hosted engines that also serve the Cohere/Jina rerank API at {url}/rerank (vLLM: /v1/rerank; Xinference, LocalAI, GPUStack likewise). */
const RERANKING: ReadonlySet<string> = new Set(['vllm', 'xinference', 'localai', 'gpustack']);

const registry = new Map<string, Adapter>(
  OPENAI_FAMILY.map((n) => [n, openAICompatible(n, RERANKING.has(n) ? { operations: ['chat', 'completions', 'embeddings', 'rerank'] } : {})]),
);
for (const a of [azureOpenAI(), huggingFace(), dashScope(), hunyuan(), cohere()]) registry.set(a.name, a);
registry.set('anthropic', anthropic());
// The clock signs requests and times credential refreshes; the AWS default chain serves backends without a credentialsRef.
registry.set('bedrock', bedrock({ now: () => Date.now(), defaultCredentials: awsDefaultCredentials }));
registry.set('gemini', gemini());

// An upstream's error message reaches the client: never with the backend's credential in it.
for (const [name, a] of registry) registry.set(name, redactingErrors(a));

/** The adapter for a backend's `adapter` field, or undefined when this proxy version has none. */
export function adapterFor(name: string): Adapter | undefined {
  return registry.get(name);
}

export function supportedAdapters(): string[] {
  return [...registry.keys()];
}

export type { Adapter, ClientRequest, Operation, UpstreamRequest, Usage } from './types.ts';
