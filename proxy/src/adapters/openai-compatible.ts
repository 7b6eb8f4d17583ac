import type { BackendIR } from '@jairouter/crds';
import { lastObjectValue } from './json-scan.ts';
import type { Adapter, ClientRequest, Operation, UpstreamRequest, Usage } from './types.ts';

/**
 * One adapter for every server that speaks the OpenAI API: OpenAI itself, vLLM, Ollama (/v1),
 * Xinference, LocalAI, GPUStack. Bytes pass through untouched unless the model must be
 * rewritten or usage must be requested for a stream.
 *
 * Backend options (all optional):
 *   authHeader   header carrying the credential (default authorization)
 *   authPrefix   prefix before the credential (default "Bearer " for authorization, "" otherwise)
 *   organization / project   OpenAI-Organization / OpenAI-Project headers
 *   header.<Name>            a static extra header
 */
const PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

export function openAICompatible(name: string): Adapter {
  return {
    name,
    supports: () => true,
    toUpstream,
    usageFromBody,
  };
}

function toUpstream(req: ClientRequest, backend: BackendIR, basePath: string): UpstreamRequest {
  const upstreamModel = backend.model ?? req.model;
  const addUsage = req.stream && !req.clientWantsUsage && req.operation !== 'embeddings';
  let body: string | Buffer = req.raw;
  if (upstreamModel !== req.model || addUsage) {
    const copy: Record<string, unknown> = { ...req.body, model: upstreamModel };
    if (addUsage) {
      const so = req.body.stream_options;
      copy.stream_options = { ...(so && typeof so === 'object' ? so : {}), include_usage: true };
    }
    body = JSON.stringify(copy);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'x-request-id': req.requestId,
  };
  const opts = backend.options;
  if (backend.credential !== undefined) {
    const header = typeof opts.authHeader === 'string' ? opts.authHeader.toLowerCase() : 'authorization';
    const prefix = typeof opts.authPrefix === 'string' ? opts.authPrefix : header === 'authorization' ? 'Bearer ' : '';
    headers[header] = prefix + backend.credential;
  }
  if (typeof opts.organization === 'string') headers['openai-organization'] = opts.organization;
  if (typeof opts.project === 'string') headers['openai-project'] = opts.project;
  for (const k in opts) {
    if (k.startsWith('header.')) headers[k.slice(7).toLowerCase()] = String(opts[k]);
  }
  return { path: basePath + PATHS[req.operation], headers, body };
}

export function usageFromBody(body: Buffer): Usage | null {
  const u = lastObjectValue(body, 'usage');
  return u ? toUsage(u) : null;
}

export function toUsage(u: Record<string, unknown>): Usage {
  const p = u.prompt_tokens;
  const c = u.completion_tokens;
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}
