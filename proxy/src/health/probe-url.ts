import type { BackendIR } from '@jairouter/crds';

/**
 * The URL an active probe GETs: the route's `healthCheck.active.path` under the endpoint URL
 * when set, otherwise the cheapest endpoint the backend's engine or provider answers:
 * vLLM `/health` and Ollama `/api/version` (at the server's root, not under `/v1`), the model
 * list elsewhere. Null when the adapter has no probe that works unsigned (Bedrock signs every
 * request with SigV4): such endpoints are not probed unless a path is set.
 */
export function probeUrl(backend: BackendIR, url: string, origin: string, path: string | undefined): string | null {
  if (path !== undefined) return url.replace(/\/+$/, '') + (path.startsWith('/') ? path : '/' + path);
  const base = url.replace(/\/+$/, '');
  switch (backend.adapter) {
    case 'vllm':
      return `${origin}/health`;
    case 'ollama':
      return `${origin}/api/version`;
    case 'anthropic':
    case 'cohere':
      return `${origin}/v1/models`;
    case 'gemini':
      return `${origin}/${backend.options.apiVersion === 'v1' ? 'v1' : 'v1beta'}/models`;
    case 'azure-openai': {
      const v = backend.options.apiVersion;
      return v === 'v1' ? `${origin}/openai/v1/models` : `${origin}/openai/models?api-version=${encodeURIComponent(String(v))}`;
    }
    case 'bedrock':
      return null;
    default:
      // openai, xinference, localai, gpustack, huggingface, dashscope, hunyuan: GET {url}/models.
      return `${base}/models`;
  }
}
