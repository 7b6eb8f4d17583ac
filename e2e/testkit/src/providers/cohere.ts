// A fake of Cohere's v2 API (POST /v2/chat, JSON and stream events; POST /v2/embed; POST /v2/rerank; errors as
// {"message"}), driven by the shared scenario. Tested with the `cohere-ai` SDK's CohereClientV2.
import type { ServerResponse } from 'node:http';
import { embedding, pieces, respond, streamPlan, words, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioRequest } from './scenario.ts';
import { rankOrder, rerankScores } from '../fake-content.ts';
import { sendEvents, sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

const STATUS: Record<ScenarioErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  rate_limit: 429,
  server: 500,
  overloaded: 503,
  context_length: 400,
};

const FINISH = { stop: 'COMPLETE', length: 'MAX_TOKENS', tool_calls: 'TOOL_CALL' } as const;

function content(c: unknown): { text: string; images: number } {
  if (typeof c === 'string') return { text: c, images: 0 };
  let text = '';
  let images = 0;
  for (const p of (Array.isArray(c) ? c : []) as Json[]) {
    if (p.type === 'text' && typeof p.text === 'string') text += (text ? ' ' : '') + p.text;
    if (p.type === 'document') text += (text ? ' ' : '') + String(((p.document ?? {}) as Json).data ?? '');
    if (p.type === 'image_url') images++;
  }
  return { text, images };
}

/** A Cohere v2 chat request as the scenario sees it. */
export function scenarioFromCohere(body: Json): ScenarioRequest {
  const system: string[] = [];
  const messages: ScenarioMessage[] = [];
  for (const m of (body.messages as Json[] | undefined) ?? []) {
    const { text, images } = content(m.content);
    if (m.role === 'system') system.push(text);
    else if (m.role === 'tool') messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults: [{ id: String(m.tool_call_id), content: text }] });
    else {
      const toolCalls = ((m.tool_calls as Json[] | undefined) ?? []).map((c) => {
        const f = (c.function ?? {}) as Json;
        return { id: String(c.id), name: String(f.name), arguments: String(f.arguments) };
      });
      messages.push({ role: m.role === 'assistant' ? 'assistant' : 'user', text, images, toolCalls, toolResults: [] });
    }
  }
  const rf = body.response_format as Json | undefined;
  const tc = body.tool_choice;
  return {
    model: String(body.model),
    system: system.join('\n'),
    messages,
    tools: ((body.tools as Json[] | undefined) ?? []).map((t) => String(((t.function ?? {}) as Json).name)),
    toolChoice: tc === 'REQUIRED' ? 'required' : tc === 'NONE' ? 'none' : 'auto',
    json: rf?.type === 'json_object',
    stop: ((body.stop_sequences as unknown[] | undefined) ?? []).map(String),
    maxTokens: body.max_tokens as number | undefined,
    reasoning: ((body.thinking ?? {}) as Json).type === 'enabled',
    stream: body.stream === true,
  };
}

export async function startCohereProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'cohere-fake';
  const credential = opts.credential ?? 'cohere-fake-api-key-0123456789';
  const server = await startFakeServer((req, res) => handle(name, credential, req, res));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

function error(res: ServerResponse, status: number, message: string, retryAfter?: string): void {
  sendJson(res, status, { id: 'err-fake', message }, retryAfter ? { 'retry-after': retryAfter } : {});
}

async function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== `Bearer ${credential}`) return error(res, 401, 'invalid api token');
  const body = req.json as Json | undefined;
  if (req.method !== 'POST' || !body) return error(res, 404, `no route for ${req.method} ${req.path}`);
  if (req.path === '/v2/embed') {
    const texts = ((body.texts as unknown[] | undefined) ?? []).map(String);
    if (!body.input_type) return error(res, 400, 'invalid request: input_type is required for embed models v3 and higher.');
    return sendJson(res, 200, {
      id: `embed-${name}`,
      embeddings: { float: texts.map((t) => embedding(t, (body.output_dimension as number | undefined) ?? 8)) },
      texts,
      meta: { api_version: { version: '2' }, billed_units: { input_tokens: texts.reduce((n, t) => n + words(t), 0) } },
      response_type: 'embeddings_by_type',
    });
  }
  if (req.path === '/v2/rerank') {
    const docs = body.documents;
    if (typeof body.query !== 'string' || !Array.isArray(docs) || docs.length === 0) return error(res, 400, 'invalid request: query and documents are required.');
    if (docs.some((d) => typeof d !== 'string')) return error(res, 400, 'invalid request: documents must be a list of strings.');
    for (const k of Object.keys(body)) if (!['model', 'query', 'documents', 'top_n', 'max_tokens_per_doc'].includes(k)) return error(res, 400, `invalid request: unknown field ${k}.`);
    const scores = rerankScores(body.query, docs);
    return sendJson(res, 200, {
      id: `rerank-${name}`,
      results: rankOrder(scores, body.top_n).map((index) => ({ index, relevance_score: scores[index] })),
      meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
    });
  }
  if (req.path !== '/v2/chat') return error(res, 404, `no route for ${req.method} ${req.path}`);
  const scenario = scenarioFromCohere(body);
  const reply = respond(name, scenario);
  if (reply.kind === 'error') {
    const message = reply.error === 'context_length' ? `too many tokens: ${reply.message}` : reply.message;
    return error(res, STATUS[reply.error], message, reply.retryAfter);
  }
  const id = `cohere-${name}-1`;
  const usage = { billed_units: { input_tokens: reply.usage.input, output_tokens: reply.usage.output }, tokens: { input_tokens: reply.usage.input + 10, output_tokens: reply.usage.output } };
  const calls = reply.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  const plan = calls.length > 0 ? `I will call ${calls.map((c) => c.function.name).join(', ')}.` : '';
  if (!scenario.stream) {
    const message: Json = { role: 'assistant' };
    const parts: Json[] = [];
    if (reply.reasoning) parts.push({ type: 'thinking', thinking: reply.reasoning });
    if (reply.text) parts.push({ type: 'text', text: reply.text });
    if (parts.length > 0) message.content = parts;
    if (calls.length > 0) {
      message.tool_plan = plan;
      message.tool_calls = calls;
    }
    return sendJson(res, 200, { id, message, finish_reason: FINISH[reply.finish], usage });
  }
  const ev = (type: string, rest: Json) => sse({ type, ...rest }, type);
  const events: string[] = [ev('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } })];
  let index = 0;
  if (reply.reasoning) {
    events.push(ev('content-start', { index, delta: { message: { content: { type: 'thinking', thinking: '' } } } }));
    for (const p of pieces(reply.reasoning)) events.push(ev('content-delta', { index, delta: { message: { content: { thinking: p } } } }));
    events.push(ev('content-end', { index }));
    index++;
  }
  if (reply.text) {
    events.push(ev('content-start', { index, delta: { message: { content: { type: 'text', text: '' } } } }));
    for (const p of pieces(reply.text)) events.push(ev('content-delta', { index, delta: { message: { content: { text: p } } } }));
    events.push(ev('content-end', { index }));
  }
  if (calls.length > 0) for (const p of pieces(plan)) events.push(ev('tool-plan-delta', { delta: { message: { tool_plan: p } } }));
  calls.forEach((c, i) => {
    events.push(ev('tool-call-start', { index: i, delta: { message: { tool_calls: { id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } } } } }));
    const a = c.function.arguments;
    for (const part of [a.slice(0, 5), a.slice(5)]) if (part) events.push(ev('tool-call-delta', { index: i, delta: { message: { tool_calls: { function: { arguments: part } } } } }));
    events.push(ev('tool-call-end', { index: i }));
  });
  events.push(ev('message-end', { delta: { finish_reason: FINISH[reply.finish], usage } }));
  await sendEvents(res, 'text/event-stream', events, streamPlan(scenario));
}
