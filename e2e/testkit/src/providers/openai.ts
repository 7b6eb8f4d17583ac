// A fake of the OpenAI API's wire format (chat completions, streaming, tools, embeddings,
// errors), driven by the shared scenario. Tested with the official `openai` SDK.
import type { ServerResponse } from 'node:http';
import { embedding, pieces, respond, streamPlan, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioRequest } from './scenario.ts';
import { sendEvents, sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

const ERROR_TYPES: Record<ScenarioErrorKind, [status: number, type: string, code: string | null]> = {
  invalid_request: [400, 'invalid_request_error', null],
  authentication: [401, 'invalid_request_error', 'invalid_api_key'],
  permission: [403, 'invalid_request_error', null],
  not_found: [404, 'invalid_request_error', 'model_not_found'],
  rate_limit: [429, 'requests', 'rate_limit_exceeded'],
  server: [500, 'server_error', null],
  overloaded: [503, 'server_error', null],
  context_length: [400, 'invalid_request_error', 'context_length_exceeded'],
};

function text(content: unknown): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  let t = '';
  let images = 0;
  if (Array.isArray(content)) {
    for (const p of content as Json[]) {
      if (p.type === 'text' && typeof p.text === 'string') t += (t ? ' ' : '') + p.text;
      if (p.type === 'image_url') images++;
    }
  }
  return { text: t, images };
}

/** An OpenAI chat request as the scenario sees it. */
export function scenarioFromOpenAI(body: Json): ScenarioRequest {
  const system: string[] = [];
  const messages: ScenarioMessage[] = [];
  for (const m of (body.messages as Json[] | undefined) ?? []) {
    const role = m.role as string;
    if (role === 'system' || role === 'developer') {
      system.push(text(m.content).text);
      continue;
    }
    const { text: t, images } = text(m.content);
    if (role === 'tool') {
      messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults: [{ id: String(m.tool_call_id), content: t }] });
      continue;
    }
    const toolCalls = ((m.tool_calls as Json[] | undefined) ?? []).map((c) => {
      const f = c.function as Json;
      return { id: String(c.id), name: String(f.name), arguments: String(f.arguments) };
    });
    messages.push({ role: role === 'assistant' ? 'assistant' : 'user', text: t, images, toolCalls, toolResults: [] });
  }
  const tc = body.tool_choice as string | Json | undefined;
  const rf = body.response_format as Json | undefined;
  const stop = body.stop;
  return {
    model: String(body.model),
    system: system.join('\n'),
    messages,
    tools: ((body.tools as Json[] | undefined) ?? []).map((t) => String((t.function as Json).name)),
    toolChoice: tc === 'none' || tc === 'required' ? tc : tc && typeof tc === 'object' ? { name: String((tc.function as Json).name) } : 'auto',
    json: rf?.type === 'json_object' || rf?.type === 'json_schema',
    stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.map(String) : [],
    maxTokens: (body.max_completion_tokens ?? body.max_tokens) as number | undefined,
    // DashScope's and Hunyuan's switch for the same thing (the adapters map reasoning_effort to it).
    reasoning: body.reasoning_effort !== undefined || body.enable_thinking === true,
    stream: body.stream === true,
  };
}

export async function startOpenAIProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'openai-fake';
  const credential = opts.credential ?? 'sk-openai-fake-credential';
  const server = await startFakeServer((req, res) => handleOpenAIRequest(name, credential, req, res));
  return { name, url: `${server.origin}/v1`, credential, requests: server.requests, close: server.close };
}

function error(res: ServerResponse, kind: ScenarioErrorKind, message: string, retryAfter?: string): void {
  const [status, type, code] = ERROR_TYPES[kind];
  sendJson(res, status, { error: { message, type, param: null, code } }, retryAfter ? { 'retry-after': retryAfter } : {});
}

/**
 * Answers one request as the OpenAI API would (paths under /v1, Bearer credential); fakes of
 * providers that differ only in paths and auth (Azure OpenAI) hand it a request in OpenAI's form.
 */
export async function handleOpenAIRequest(name: string, credential: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: name }] });
  if (req.headers.authorization !== `Bearer ${credential}`) return error(res, 'authentication', 'Incorrect API key provided.');
  const body = req.json as Json | undefined;
  if (req.method !== 'POST' || !body) return sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${req.path})`, type: 'invalid_request_error', param: null, code: null } });
  if (req.path === '/v1/embeddings') {
    const inputs = Array.isArray(body.input) ? (body.input as unknown[]).map(String) : [String(body.input)];
    const tokens = inputs.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
    return sendJson(res, 200, {
      object: 'list',
      data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: embedding(t, (body.dimensions as number | undefined) ?? 8) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
  if (req.path !== '/v1/chat/completions') return sendJson(res, 404, { error: { message: `Invalid URL (POST ${req.path})`, type: 'invalid_request_error', param: null, code: null } });
  const scenario = scenarioFromOpenAI(body);
  const reply = respond(name, scenario);
  if (reply.kind === 'error') return error(res, reply.error, reply.message, reply.retryAfter);
  const id = `chatcmpl-${name}-${Date.now()}`;
  const usage = { prompt_tokens: reply.usage.input, completion_tokens: reply.usage.output, total_tokens: reply.usage.input + reply.usage.output };
  const toolCalls = reply.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  if (!scenario.stream) {
    const message: Json = { role: 'assistant', content: toolCalls.length > 0 ? null : reply.text, refusal: null };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    if (reply.reasoning) message.reasoning_content = reply.reasoning;
    return sendJson(res, 200, {
      id, object: 'chat.completion', created: 1700000000, model: scenario.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finish }], usage,
    });
  }
  const chunk = (delta: Json, finish: string | null = null, extra: Json = {}) =>
    sse({ id, object: 'chat.completion.chunk', created: 1700000000, model: scenario.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra });
  const events: string[] = [chunk({ role: 'assistant', content: '' })];
  if (reply.reasoning) for (const p of pieces(reply.reasoning)) events.push(chunk({ reasoning_content: p }));
  for (const p of pieces(reply.text)) events.push(chunk({ content: p }));
  reply.toolCalls.forEach((c, index) => {
    events.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    const a = c.arguments;
    for (const part of [a.slice(0, 5), a.slice(5)]) if (part) events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  events.push(chunk({}, reply.finish));
  const so = body.stream_options as Json | undefined;
  if (so?.include_usage === true) events.push(sse({ id, object: 'chat.completion.chunk', created: 1700000000, model: scenario.model, choices: [], usage }));
  events.push('data: [DONE]\n\n');
  await sendEvents(res, 'text/event-stream', events, streamPlan(scenario));
}
