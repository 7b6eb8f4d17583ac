// A fake of Anthropic's Messages API wire format (messages, streaming events, tool use,
// thinking, count_tokens, errors), driven by the shared scenario. Tested with the official
// `@anthropic-ai/sdk`.
import type { ServerResponse } from 'node:http';
import { pieces, respond, streamPlan, words, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioRequest } from './scenario.ts';
import { sendEvents, sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

const ERROR_TYPES: Record<ScenarioErrorKind, [status: number, type: string]> = {
  invalid_request: [400, 'invalid_request_error'],
  authentication: [401, 'authentication_error'],
  permission: [403, 'permission_error'],
  not_found: [404, 'not_found_error'],
  rate_limit: [429, 'rate_limit_error'],
  server: [500, 'api_error'],
  overloaded: [529, 'overloaded_error'],
  context_length: [400, 'invalid_request_error'],
};

const STOP_REASONS = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

function blocksText(content: unknown): { text: string; images: number; toolUses: Json[]; toolResults: Json[] } {
  if (typeof content === 'string') return { text: content, images: 0, toolUses: [], toolResults: [] };
  const texts: string[] = [];
  let images = 0;
  const toolUses: Json[] = [];
  const toolResults: Json[] = [];
  for (const b of (content as Json[] | undefined) ?? []) {
    if (b.type === 'text') texts.push(String(b.text));
    else if (b.type === 'image') images++;
    else if (b.type === 'tool_use') toolUses.push(b);
    else if (b.type === 'tool_result') toolResults.push(b);
  }
  return { text: texts.join(' '), images, toolUses, toolResults };
}

/** An Anthropic Messages request as the scenario sees it. */
export function scenarioFromAnthropic(body: Json): ScenarioRequest {
  const sys = body.system;
  const system = typeof sys === 'string' ? sys : Array.isArray(sys) ? (sys as Json[]).map((b) => String(b.text)).join('\n') : '';
  const messages: ScenarioMessage[] = [];
  for (const m of (body.messages as Json[] | undefined) ?? []) {
    const { text, images, toolUses, toolResults } = blocksText(m.content);
    if (toolResults.length > 0) {
      const results = toolResults.map((r) => ({ id: String(r.tool_use_id), content: typeof r.content === 'string' ? r.content : blocksText(r.content).text }));
      messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults: results });
      if (text) messages.push({ role: 'user', text, images, toolCalls: [], toolResults: [] });
      continue;
    }
    const toolCalls = toolUses.map((u) => ({ id: String(u.id), name: String(u.name), arguments: JSON.stringify(u.input ?? {}) }));
    messages.push({ role: m.role === 'assistant' ? 'assistant' : 'user', text, images, toolCalls, toolResults: [] });
  }
  const tc = body.tool_choice as Json | undefined;
  const stop = body.stop_sequences;
  return {
    model: String(body.model),
    system,
    messages,
    tools: ((body.tools as Json[] | undefined) ?? []).map((t) => String(t.name)),
    toolChoice: tc?.type === 'none' ? 'none' : tc?.type === 'any' ? 'required' : tc?.type === 'tool' ? { name: String(tc.name) } : 'auto',
    json: false,
    stop: Array.isArray(stop) ? stop.map(String) : [],
    maxTokens: body.max_tokens as number | undefined,
    reasoning: (body.thinking as Json | undefined)?.type === 'enabled',
    stream: body.stream === true,
  };
}

export async function startAnthropicProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'anthropic-fake';
  const credential = opts.credential ?? 'sk-ant-fake-credential';
  const server = await startFakeServer((req, res) => handle(name, credential, req, res));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

function error(res: ServerResponse, status: number, type: string, message: string, retryAfter?: string): void {
  const headers: Record<string, string> = { 'request-id': 'req_fake' };
  if (retryAfter) headers['retry-after'] = retryAfter;
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: 'req_fake' }, headers);
}

async function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.path === '/v1/models') {
    return sendJson(res, 200, { data: [{ type: 'model', id: 'claude-fake', display_name: 'Claude Fake', created_at: '2025-01-01T00:00:00Z' }], has_more: false, first_id: 'claude-fake', last_id: 'claude-fake' });
  }
  // The API takes the key as x-api-key; the SDK (1.x) sends it as a bearer token.
  if (req.headers['x-api-key'] !== credential && req.headers.authorization !== `Bearer ${credential}`) return error(res, 401, 'authentication_error', 'invalid x-api-key');
  if (typeof req.headers['anthropic-version'] !== 'string') return error(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
  const body = req.json as Json | undefined;
  if (req.method !== 'POST' || !body) return error(res, 404, 'not_found_error', `Not found: ${req.method} ${req.path}`);
  if (req.path === '/v1/messages/count_tokens') {
    const s = scenarioFromAnthropic(body);
    return sendJson(res, 200, { input_tokens: words(s.system) + s.messages.reduce((n, m) => n + words(m.text), 0) });
  }
  if (req.path !== '/v1/messages') return error(res, 404, 'not_found_error', `Not found: POST ${req.path}`);
  if (typeof body.max_tokens !== 'number') return error(res, 400, 'invalid_request_error', 'max_tokens: Field required');
  const scenario = scenarioFromAnthropic(body);
  const reply = respond(name, scenario);
  if (reply.kind === 'error') {
    const [status, type] = ERROR_TYPES[reply.error];
    return error(res, status, type, reply.message, reply.retryAfter);
  }
  const id = `msg_${name.replace(/[^a-zA-Z0-9]/g, '')}_${Date.now()}`;
  // Cut by a stop sequence: the same request without stop sequences says where.
  const uncut = scenario.stop.length > 0 ? respond(name, { ...scenario, stop: [] }) : reply;
  const stopSequence = uncut.kind === 'reply' && reply.finish === 'stop' && uncut.text !== reply.text ? (scenario.stop.find((s) => uncut.text.indexOf(s) === reply.text.length) ?? null) : null;
  const stopReason = stopSequence !== null ? 'stop_sequence' : STOP_REASONS[reply.finish];
  const usage = { input_tokens: reply.usage.input, output_tokens: reply.usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const content: Json[] = [];
  if (reply.reasoning) content.push({ type: 'thinking', thinking: reply.reasoning, signature: 'sig-fake' });
  if (reply.text || reply.toolCalls.length === 0) content.push({ type: 'text', text: reply.text });
  for (const c of reply.toolCalls) content.push({ type: 'tool_use', id: c.id.replace(/^call_/, 'toolu_'), name: c.name, input: JSON.parse(c.arguments) as Json });
  if (!scenario.stream) {
    return sendJson(res, 200, { id, type: 'message', role: 'assistant', model: scenario.model, content, stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? stopSequence : null, usage });
  }
  const events: string[] = [
    sse({ type: 'message_start', message: { id, type: 'message', role: 'assistant', model: scenario.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }, 'message_start'),
    sse({ type: 'ping' }, 'ping'),
  ];
  content.forEach((block, index) => {
    if (block.type === 'thinking') {
      events.push(sse({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }, 'content_block_start'));
      for (const p of pieces(String(block.thinking))) events.push(sse({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: p } }, 'content_block_delta'));
      events.push(sse({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'sig-fake' } }, 'content_block_delta'));
    } else if (block.type === 'text') {
      events.push(sse({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, 'content_block_start'));
      for (const p of pieces(String(block.text))) events.push(sse({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } }, 'content_block_delta'));
    } else {
      events.push(sse({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }, 'content_block_start'));
      const a = JSON.stringify(block.input);
      for (const part of [a.slice(0, 5), a.slice(5)]) if (part) events.push(sse({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } }, 'content_block_delta'));
    }
    events.push(sse({ type: 'content_block_stop', index }, 'content_block_stop'));
  });
  events.push(sse({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? stopSequence : null }, usage: { output_tokens: usage.output_tokens } }, 'message_delta'));
  events.push(sse({ type: 'message_stop' }, 'message_stop'));
  await sendEvents(res, 'text/event-stream', events, streamPlan(scenario));
}
