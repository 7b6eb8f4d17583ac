// A fake of Azure OpenAI: the OpenAI wire format (the OpenAI fake answers) at Azure's paths,
// /openai/deployments/{deployment}/{operation}?api-version=... and the v1 API under /openai/v1,
// with the credential in `api-key` (or a Bearer token, as Microsoft Entra ID sends). Answers
// carry Azure's content-filter results (a stream opens with a prompt-filter chunk); `CONTENT FILTER` in the last user message gets the
// `content_filter` finish reason. Tested with the `openai` SDK's AzureOpenAI client.
import type { ServerResponse } from 'node:http';
import { handleOpenAIRequest } from './openai.ts';
import type { ProviderFake } from './scenario.ts';
import { sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;
const V1_PATH = /^\/openai\/v1\/(chat\/completions|completions|embeddings|models)$/;
const SAFE = { filtered: false, severity: 'safe' };
const FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

export async function startAzureOpenAIProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'azure-fake';
  const credential = opts.credential ?? 'azure-fake-api-key-0123456789';
  const server = await startFakeServer((req, res) => handle(name, credential, req, res));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

function azureError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse): void | Promise<void> {
  const key = req.headers['api-key'] ?? (req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined);
  if (key !== credential) {
    return azureError(res, 401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
  }
  const deployment = DEPLOYMENT_PATH.exec(req.path);
  const v1 = V1_PATH.exec(req.path);
  if (!deployment && !v1) return azureError(res, 404, '404', 'Resource not found');
  if (deployment && !req.query.get('api-version')) return azureError(res, 404, '404', 'Resource not found');
  const body = req.json as Json | undefined;
  // Deployments: the model is the deployment named in the path, whatever the body says.
  const json = deployment && body ? { ...body, model: decodeURIComponent(deployment[1]!) } : body;
  const operation = (deployment?.[2] ?? v1![1])!;
  const last = [...((json?.messages as Json[] | undefined) ?? [])].reverse().find((m) => m.role === 'user');
  if (operation === 'chat/completions' && typeof last?.content === 'string' && last.content.includes('CONTENT FILTER') && json?.stream !== true) {
    return sendJson(res, 200, {
      id: `chatcmpl-${name}-filtered`, object: 'chat.completion', created: 1700000000, model: json?.model,
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }],
      choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter',
        content_filter_results: { ...FILTER_RESULTS, violence: { filtered: true, severity: 'high' } } }],
      usage: { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 },
    });
  }
  // Azure opens a stream with a chunk of no choices that carries the prompt's filter results.
  if (operation === 'chat/completions' && json?.stream === true) {
    const write = res.write.bind(res) as (chunk: string | Buffer) => boolean;
    let first = true;
    res.write = ((chunk: string | Buffer) => {
      if (first) {
        first = false;
        write(sse({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }] }));
      }
      return write(chunk);
    }) as typeof res.write;
  }
  const asOpenAI: FakeRequest = { ...req, path: `/v1/${operation}`, headers: { ...req.headers, authorization: `Bearer ${credential}` }, json, raw: JSON.stringify(json) };
  return handleOpenAIRequest(name, credential, asOpenAI, res);
}
