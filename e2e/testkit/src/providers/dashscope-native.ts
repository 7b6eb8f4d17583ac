// A fake of DashScope's native text-generation API: `POST /api/v1/services/aigc/text-generation/generation`
// with a Bearer credential, `{model, input: {messages}, parameters}` in, `output.choices[].message`
// and `usage{input_tokens, output_tokens}` out (result_format message); with `X-DashScope-SSE:
// enable` a stream of `event:result` events (incremental_output), finish_reason "null" until the
// last; errors as `{code, message, request_id}` with the HTTP status. Driven by the shared scenario.
import type { ServerResponse } from 'node:http';
import { scenarioFromOpenAI } from './openai.ts';
import { pieces, respond, streamPlan, type ProviderFake, type ScenarioErrorKind } from './scenario.ts';
import { sendEvents, sendJson, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

export const DASHSCOPE_GENERATION_PATH = '/api/v1/services/aigc/text-generation/generation';

const ERRORS: Record<ScenarioErrorKind, [status: number, code: string]> = {
  invalid_request: [400, 'InvalidParameter'],
  authentication: [401, 'InvalidApiKey'],
  permission: [403, 'AccessDenied'],
  not_found: [404, 'ModelNotFound'],
  rate_limit: [429, 'Throttling.RateQuota'],
  server: [500, 'InternalError'],
  overloaded: [503, 'ServiceUnavailable'],
  context_length: [400, 'InvalidParameter'],
};

export async function startDashScopeNativeProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'dashscope-native-fake';
  const credential = opts.credential ?? 'sk-dashscope-fake-credential';
  const server = await startFakeServer((req, res) => handle(name, credential, req, res));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { code, message, request_id: 'fake-request-id' });
}

async function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== `Bearer ${credential}`) return error(res, 401, 'InvalidApiKey', 'Invalid API-key provided.');
  if (req.method !== 'POST' || req.path !== DASHSCOPE_GENERATION_PATH) return error(res, 404, 'NotFound', `${req.method} ${req.path} is not found.`);
  const body = req.json as Json | undefined;
  const input = body?.input as Json | undefined;
  if (!body || !input || !Array.isArray(input.messages)) return error(res, 400, 'InvalidParameter', 'input.messages is required.');
  const p = (body.parameters ?? {}) as Json;
  const stream = req.headers['x-dashscope-sse'] === 'enable';
  if (stream && p.incremental_output !== true) return error(res, 400, 'InvalidParameter', 'this fake streams incremental output only.');
  const scenario = scenarioFromOpenAI({ model: body.model, messages: input.messages, tools: p.tools, tool_choice: p.tool_choice, stop: p.stop, max_tokens: p.max_tokens, response_format: p.response_format, enable_thinking: p.enable_thinking, stream });
  const reply = respond(name, scenario);
  if (reply.kind === 'error') {
    const [status, code] = ERRORS[reply.error];
    return error(res, status, code, reply.error === 'context_length' ? `Range of input length should be [1, 30720]: ${reply.message}` : reply.message);
  }
  const usage = { input_tokens: reply.usage.input, output_tokens: reply.usage.output, total_tokens: reply.usage.input + reply.usage.output };
  const toolCalls = reply.toolCalls.map((c, index) => ({ index, id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  if (!stream) {
    const message: Json = { role: 'assistant', content: reply.text };
    if (toolCalls.length) message.tool_calls = toolCalls;
    if (reply.reasoning) message.reasoning_content = reply.reasoning;
    return sendJson(res, 200, { request_id: 'fake-request-id', output: { choices: [{ finish_reason: reply.finish, message }] }, usage });
  }
  const events: string[] = [];
  const event = (message: Json, finish = 'null') => `id:${events.length + 1}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify({ request_id: 'fake-request-id', output: { choices: [{ message: { role: 'assistant', ...message }, finish_reason: finish }] }, usage })}\n\n`;
  if (reply.reasoning) for (const r of pieces(reply.reasoning)) events.push(event({ content: '', reasoning_content: r }));
  for (const t of pieces(reply.text)) events.push(event({ content: t }));
  if (toolCalls.length) events.push(event({ content: '', tool_calls: toolCalls }));
  events.push(event({ content: '' }, reply.finish));
  await sendEvents(res, 'text/event-stream', events, streamPlan(scenario));
}
