import type { BackendIR } from '@jairouter/crds';
import { openAICompatible } from './openai-compatible.ts';
import type { Adapter, ClientRequest, Operation } from './types.ts';

/**
 * Azure OpenAI: the OpenAI wire format (bytes passed through both ways, content-filter results
 * and the `content_filter` finish reason included), reached at a deployment:
 *   {url}/openai/deployments/{deployment}/chat/completions?api-version={apiVersion}
 * where the deployment is the backend's `model` (or the requested name). `apiVersion: v1` calls
 * the v1 API instead, {url}/openai/v1/chat/completions, with the model in the body as OpenAI.
 * The credential goes in `api-key` unless `options.authHeader` says otherwise (authorization
 * with "Bearer " for a Microsoft Entra ID token).
 *
 * Only the path and headers change (and, in v1 mode, the model in the body): in deployment mode
 * the body's model is the client's, which Azure ignores. stream_options is sent to capture a
 * stream's usage only from the api-version that accepts it (2024-09-01-preview, GA 2024-10-21);
 * older versions answer 400 to it.
 */
/** What Azure OpenAI serves under a deployment (the Responses API is not under one: azurePath). */
const PATHS: Readonly<Partial<Record<Operation, string>>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  images: '/images/generations',
  image_edits: '/images/edits',
  speech: '/audio/speech',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
};

/** The first dated api-version that accepts `stream_options`. */
const STREAM_OPTIONS_SINCE = '2024-09-01';

function apiVersion(backend: BackendIR): string {
  const v = backend.options.apiVersion;
  return typeof v === 'string' ? v : '';
}

const isV1 = (backend: BackendIR): boolean => apiVersion(backend) === 'v1';

export function azurePath(req: ClientRequest, backend: BackendIR, basePath: string): string {
  const version = apiVersion(backend);
  if (req.operation === 'responses') {
    // Not under a deployment: {url}/openai/responses?api-version=... with the deployment as the
    // body's model, or the v1 API. A stored response's path (and its query) follows.
    const [tail = '', query] = (req.target?.path ?? '').split('?', 2);
    if (version === 'v1') return `${basePath}/openai/v1/responses${req.target?.path ?? ''}`;
    return `${basePath}/openai/responses${tail}?${query ? `${query}&` : ''}api-version=${encodeURIComponent(version)}`;
  }
  const op = PATHS[req.operation]!;
  if (version === 'v1') return `${basePath}/openai/v1${op}`;
  const deployment = encodeURIComponent(backend.model ?? req.model);
  return `${basePath}/openai/deployments/${deployment}${op}?api-version=${encodeURIComponent(version)}`;
}

export function azureOpenAI(): Adapter {
  return openAICompatible('azure-openai', {
    authHeader: 'api-key',
    path: azurePath,
    // The Responses API takes the deployment as the body's model in every mode.
    modelInBody: (backend, req) => isV1(backend) || req.operation === 'responses',
    operations: ['chat', 'completions', 'embeddings', 'responses', 'images', 'image_edits', 'speech', 'transcriptions', 'translations'],
    // Dated versions compare as text; `preview`/`latest` and v1 are current.
    streamUsage: (backend) => {
      const v = apiVersion(backend);
      return !/^\d{4}-\d{2}-\d{2}/.test(v) || v.slice(0, 10) >= STREAM_OPTIONS_SINCE;
    },
  });
}
