import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { probeUrl } from './probe-url.ts';

const backend = (adapter: BackendIR['adapter'], options: BackendIR['options'] = {}): BackendIR => ({
  name: 'b', adapter, endpoints: [], weight: 1, priority: 0, capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options,
});

describe('probeUrl', () => {
  it('probes what each engine answers cheaply when no path is set', () => {
    expect(probeUrl(backend('vllm'), 'http://10.0.0.7:8000/v1', 'http://10.0.0.7:8000', undefined)).toBe('http://10.0.0.7:8000/health');
    expect(probeUrl(backend('ollama'), 'http://ollama:11434/v1', 'http://ollama:11434', undefined)).toBe('http://ollama:11434/api/version');
    for (const a of ['openai', 'xinference', 'localai', 'gpustack', 'huggingface', 'dashscope', 'hunyuan'] as const) {
      expect(probeUrl(backend(a), 'http://s:9997/v1/', 'http://s:9997', undefined)).toBe('http://s:9997/v1/models');
    }
    expect(probeUrl(backend('anthropic'), 'https://api.anthropic.com', 'https://api.anthropic.com', undefined)).toBe('https://api.anthropic.com/v1/models');
    expect(probeUrl(backend('gemini'), 'https://g', 'https://g', undefined)).toBe('https://g/v1beta/models');
    expect(probeUrl(backend('azure-openai', { apiVersion: '2024-10-21' }), 'https://r.openai.azure.com', 'https://r.openai.azure.com', undefined)).toBe('https://r.openai.azure.com/openai/models?api-version=2024-10-21');
    expect(probeUrl(backend('azure-openai', { apiVersion: 'v1' }), 'https://r', 'https://r', undefined)).toBe('https://r/openai/v1/models');
  });

  it('does not probe Bedrock without a path (its requests must be signed)', () => {
    expect(probeUrl(backend('bedrock'), 'https://bedrock-runtime.us-east-1.amazonaws.com', 'https://bedrock-runtime.us-east-1.amazonaws.com', undefined)).toBeNull();
  });

  it('uses healthCheck.active.path under the endpoint URL when set, whatever the adapter', () => {
    expect(probeUrl(backend('vllm'), 'http://v:8000/v1', 'http://v:8000', '/models')).toBe('http://v:8000/v1/models');
    expect(probeUrl(backend('bedrock'), 'https://b/', 'https://b', 'ping')).toBe('https://b/ping');
  });
});
