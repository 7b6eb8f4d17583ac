import type { Adapter, Operation } from './types.ts';
import { anthropic } from './anthropic/adapter.ts';
import { azureOpenAI } from './azure-openai.ts';
import { cohere } from './cohere/adapter.ts';
import { bedrock } from './bedrock/adapter.ts';
import { awsDefaultCredentials } from './bedrock/default-credentials.ts';
import { gemini } from './gemini/adapter.ts';
import { openAICompatible } from './openai-compatible.ts';
import { dashScope, huggingFace, hunyuan } from './openai-like.ts';
import { redactingErrors } from './redact.ts';

/**
 * The OpenAI-compatible servers and what each serves beyond chat, completions and embeddings:
 * OpenAI moderations, image generation and speech; the self-hosted engines the Cohere/Jina rerank
 * API at {url}/rerank (vLLM: /v1/rerank), and Xinference, LocalAI and GPUStack image generation and
 * speech (text to speech at {url}/audio/speech) too; audio transcriptions (OpenAI, vLLM, Xinference,
 * LocalAI, GPUStack), translations (OpenAI, vLLM, Xinference) and image edits (OpenAI) as multipart.
 */
const OPENAI_FAMILY: Readonly<Record<string, readonly Operation[]>> = {
  openai: ['moderations', 'images', 'speech', 'responses', 'transcriptions', 'translations', 'image_edits'],
  vllm: ['rerank', 'responses', 'transcriptions', 'translations'],
  ollama: [],
  xinference: ['rerank', 'images', 'speech', 'transcriptions', 'translations'],
  localai: ['rerank', 'images', 'speech', 'transcriptions'],
  gpustack: ['rerank', 'images', 'speech', 'transcriptions'],
};

const registry = new Map<string, Adapter>(
  Object.entries(OPENAI_FAMILY).map(([n, more]) => [n, openAICompatible(n, { operations: ['chat', 'completions', 'embeddings', ...more] })]),
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
