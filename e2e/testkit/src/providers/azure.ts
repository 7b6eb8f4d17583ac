// A fake of Azure OpenAI: the OpenAI wire format (the OpenAI fake answers) at Azure's paths,
// /openai/deployments/{deployment}/{operation}?api-version=... and the v1 API under /openai/v1,
// with the credential in `api-key` (or a Bearer token, as Microsoft Entra ID sends). Answers
// carry Azure's content-filter results (a stream opens with a prompt-filter chunk); `CONTENT FILTER` in the last user message gets the
// `content_filter` finish reason. Tested with the `openai` SDK's AzureOpenAI client.
import type { ServerResponse } from 'node:http';
import { formBody, imageEditAnswer, imagesAnswer, speechAnswer, transcriptionAnswer } from '../fake-endpoints.ts';
import { createResponse, storedResponseAnswer, type FakeError, type StoredResponse } from '../fake-responses.ts';
import { handleOpenAIRequest } from './openai.ts';
import type { ProviderFake } from './scenario.ts';
import { sendEvents, sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;
/** Images and audio, also under a deployment. */
const MEDIA_PATH = /^\/openai\/deployments\/([^/]+)\/(images\/generations|images\/edits|audio\/speech|audio\/transcriptions|audio\/translations)$/;
const V1_PATH = /^\/openai\/v1\/(chat\/completions|completions|embeddings|models)$/;
/** The Responses API: /openai/responses?api-version=... (model = the deployment) or /openai/v1/responses. */
const RESPONSES_PATH = /^\/openai\/(v1\/)?responses(?:\/([^/]+)(\/cancel|\/input_items)?)?$/;
const SAFE = { filtered: false, severity: 'safe' };
const FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

export async function startAzureOpenAIProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'azure-fake';
  const credential = opts.credential ?? 'azure-fake-api-key-0123456789';
  const stored = new Map<string, StoredResponse>();
  const server = await startFakeServer((req, res) => handle(name, credential, req, res, stored));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

function azureError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse, stored: Map<string, StoredResponse>): void | Promise<void> {
  const key = req.headers['api-key'] ?? (req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined);
  if (key !== credential) {
    return azureError(res, 401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
  }
  const responses = RESPONSES_PATH.exec(req.path);
  if (responses) return responsesApi(name, req, res, stored, responses);
  const media = MEDIA_PATH.exec(req.path);
  if (media) return req.query.get('api-version') ? mediaApi(name, req, res, media[2]!) : azureError(res, 404, '404', 'Resource not found');
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

/** Azure's Responses API: OpenAI's (fake-responses.ts), stored per fake; dated paths need api-version. */
function responsesApi(name: string, req: FakeRequest, res: ServerResponse, stored: Map<string, StoredResponse>, m: RegExpExecArray): void | Promise<void> {
  if (!m[1] && !req.query.get('api-version')) return azureError(res, 404, '404', 'Resource not found');
  if (m[2] !== undefined) {
    const a = storedResponseAnswer(req.method, `${req.path}?${req.query.toString()}`, decodeURIComponent(m[2]), m[3] ?? '', stored);
    return sendJson(res, a.status, typeof a.body === 'string' ? JSON.parse(a.body) : a.body);
  }
  if (req.method !== 'POST') return azureError(res, 404, '404', 'Resource not found');
  const a = createResponse(name, (req.json ?? {}) as Json, stored);
  if ('error' in a) return sendJson(res, a.status, JSON.parse(a.error));
  if ((req.json as Json | undefined)?.stream !== true) return sendJson(res, 200, a.response);
  return sendEvents(res, 'text/event-stream', a.events.map((e) => sse(e, String(e.type))));
}

/** Images and audio at a deployment: OpenAI's answers (fake-endpoints.ts); uploads as multipart. */
async function mediaApi(name: string, req: FakeRequest, res: ServerResponse, operation: string): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  const body = type.startsWith('multipart/form-data') ? await formBody(req.bytes, type) : ((req.json ?? {}) as Json);
  const fail = (e: FakeError) => sendJson(res, e.status, JSON.parse(e.error));
  const plain = (contentType: string, data: string | Buffer) => {
    res.writeHead(200, { 'content-type': contentType });
    res.end(data);
  };
  if (operation === 'audio/speech') {
    const a = speechAnswer(body);
    return 'error' in a ? fail(a) : plain(a.type, a.audio);
  }
  if (operation.startsWith('audio/')) {
    const a = transcriptionAnswer(operation.endsWith('translations') ? 'translate' : 'transcribe', body);
    return 'error' in a ? fail(a) : 'json' in a ? sendJson(res, 200, a.json) : plain('text/plain; charset=utf-8', a.text);
  }
  const a = operation === 'images/edits' ? imageEditAnswer(name, 1700000000, body) : imagesAnswer(name, 1700000000, body);
  return 'error' in a && typeof a.status === 'number' ? fail(a as unknown as FakeError) : sendJson(res, 200, a);
}
