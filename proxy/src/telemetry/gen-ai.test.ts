import { describe, expect, it } from 'vitest';
import type { RouteRuntime } from '../runtime/runtime.ts';
import { modelLabel, providerName } from './gen-ai.ts';

const route = (models: string[]) => ({ ir: { models } }) as unknown as RouteRuntime;

describe('gen_ai labels', () => {
  it('gen_ai_request_model: an exact name as configured, the longest prefix pattern matched otherwise', () => {
    const r = route(['chat', 'gpt-4*', 'gpt-4o*', '*']);
    expect(modelLabel(r, 'chat')).toBe('chat');
    expect(modelLabel(r, 'gpt-4o-mini-2024')).toBe('gpt-4o*');
    expect(modelLabel(r, 'gpt-4-turbo')).toBe('gpt-4*');
    expect(modelLabel(r, 'anything-else')).toBe('*');
  });

  it('gen_ai_provider_name: the conventions\' names where they have one, the adapter otherwise', () => {
    expect(['openai', 'azure-openai', 'anthropic', 'gemini', 'bedrock', 'cohere', 'vllm', 'ollama'].map(providerName))
      .toEqual(['openai', 'azure.ai.openai', 'anthropic', 'gcp.gemini', 'aws.bedrock', 'cohere', 'vllm', 'ollama']);
  });
});
