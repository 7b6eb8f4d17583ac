import type { BackendIR } from '@jairouter/crds';

/**
 * Where a backend lists the models it serves, and how to read the answer: the OpenAI-compatible
 * `GET {url}/models` (`data[].id`), Ollama's `GET /api/tags` (`models[].name`), and the hosted
 * providers' model lists. Null when there is nothing useful to list: a backend whose `model` is
 * set serves that one model under every name the route matches, Azure's deployment names are
 * chosen per resource, and Bedrock needs signed requests.
 */
export function modelListUrl(backend: BackendIR, url: string, origin: string): string | null {
  if (backend.model !== undefined) return null;
  switch (backend.adapter) {
    case 'ollama':
      return `${origin}/api/tags`;
    case 'anthropic':
    case 'cohere':
      return `${origin}/v1/models`;
    case 'gemini':
      return `${origin}/${backend.options.apiVersion === 'v1' ? 'v1' : 'v1beta'}/models`;
    case 'azure-openai':
    case 'bedrock':
      return null;
    default:
      return `${url.replace(/\/+$/, '')}/models`;
  }
}

/** The model names in a model-list answer of any of those shapes; [] when it has none. */
export function modelNames(body: unknown): string[] {
  if (body === null || typeof body !== 'object') return [];
  const b = body as { data?: unknown; models?: unknown };
  const out: string[] = [];
  for (const item of [...(Array.isArray(b.data) ? b.data : []), ...(Array.isArray(b.models) ? b.models : [])] as unknown[]) {
    const i = item as { id?: unknown; name?: unknown } | null;
    const name = typeof i?.id === 'string' ? i.id : typeof i?.name === 'string' ? i.name : undefined;
    // Gemini names its models `models/<id>`; clients send the id.
    if (name) out.push(name.startsWith('models/') ? name.slice(7) : name);
  }
  return out;
}
