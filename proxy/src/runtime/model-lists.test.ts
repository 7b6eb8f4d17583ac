import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { modelListUrl, modelNames } from './model-lists.ts';

const backend = (adapter: BackendIR['adapter'], extra: Partial<BackendIR> = {}): BackendIR => ({
  name: 'b', adapter, endpoints: [], weight: 1, priority: 0, capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {}, ...extra,
});

describe('model lists of backends', () => {
  it('asks each engine where it lists its models', () => {
    expect(modelListUrl(backend('ollama'), 'http://o:11434/v1', 'http://o:11434')).toBe('http://o:11434/api/tags');
    expect(modelListUrl(backend('vllm'), 'http://v:8000/v1/', 'http://v:8000')).toBe('http://v:8000/v1/models');
    expect(modelListUrl(backend('gemini'), 'https://g', 'https://g')).toBe('https://g/v1beta/models');
    expect(modelListUrl(backend('anthropic'), 'https://a', 'https://a')).toBe('https://a/v1/models');
  });

  it('lists nothing for a backend that serves one model under every name (backend model set), Azure or Bedrock', () => {
    expect(modelListUrl(backend('vllm', { model: 'meta-llama/Llama-3.1-8B-Instruct' }), 'http://v/v1', 'http://v')).toBeNull();
    expect(modelListUrl(backend('azure-openai'), 'https://r', 'https://r')).toBeNull();
    expect(modelListUrl(backend('bedrock'), 'https://b', 'https://b')).toBeNull();
  });

  it('reads OpenAI (data[].id), Ollama (models[].name) and Gemini (models/<id>) answers', () => {
    expect(modelNames({ object: 'list', data: [{ id: 'qwen2.5-7b' }, { id: 'llama3' }] })).toEqual(['qwen2.5-7b', 'llama3']);
    expect(modelNames({ models: [{ name: 'qwen2.5:7b', model: 'qwen2.5:7b' }] })).toEqual(['qwen2.5:7b']);
    expect(modelNames({ models: [{ name: 'models/gemini-2.5-flash' }] })).toEqual(['gemini-2.5-flash']);
    expect(modelNames({ error: 'nope' })).toEqual([]);
    expect(modelNames('x')).toEqual([]);
  });
});
