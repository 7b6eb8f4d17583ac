import type { BackendIR } from '@jairouter/crds';
import { completionAsChunks } from '../buffered-body.ts';
import { HeldTranslator } from '../held-translator.ts';
import { SseEvents } from '../sse-events.ts';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest, type Usage } from '../types.ts';
import { USER_AGENT } from '../upstream-headers.ts';

/**
 * DashScope's native text-generation API (`options.api: native`): `POST
 * {origin}/api/v1/services/aigc/text-generation/generation` with a Bearer credential, streams
 * with `X-DashScope-SSE: enable` and `incremental_output`, answers in `result_format: message`.
 */

type Json = Record<string, unknown>;

export const DASHSCOPE_GENERATION_PATH = '/api/v1/services/aigc/text-generation/generation';

/** OpenAI fields that go into `parameters` under the same name. */
const PARAMETERS = ['temperature', 'top_p', 'seed', 'stop', 'presence_penalty', 'tools', 'tool_choice', 'response_format', 'enable_thinking'];
/** Harmless to drop. */
const DROPPED = new Set(['model', 'messages', 'stream', 'stream_options', 'user', 'parallel_tool_calls', 'max_tokens', 'max_completion_tokens', 'reasoning_effort', 'n']);

function refuse(field: string, why: string): never {
  throw new UnsupportedRequest(field, `${field}: the dashscope adapter (native API) ${why}`);
}

function text(content: unknown, field: string): unknown {
  if (!Array.isArray(content)) return content ?? '';
  return content
    .map((p) => {
      const part = p as Json;
      if (part.type !== 'text') refuse(field, `takes text content only (text-generation), not ${String(part.type)} parts`);
      return String(part.text ?? '');
    })
    .join('');
}

/** The text-generation body of an OpenAI chat request. */
export function toDashScope(body: Readonly<Json>, model: string, stream: boolean): Json {
  for (const k of Object.keys(body)) {
    if (DROPPED.has(k) || PARAMETERS.includes(k) || body[k] === null || body[k] === undefined) continue;
    refuse(k, 'has no equivalent for it');
  }
  if (typeof body.n === 'number' && body.n > 1) refuse('n', `answers with one choice, so n=${body.n} cannot be honoured`);
  const messages = (body.messages as Json[]).map((m, i) => {
    const out: Json = { ...m, role: m.role === 'developer' ? 'system' : m.role, content: text(m.content, `messages[${i}].content`) };
    if (out.content === null) out.content = '';
    return out;
  });
  const parameters: Json = { result_format: 'message' };
  if (stream) parameters.incremental_output = true;
  for (const k of PARAMETERS) if (body[k] !== undefined && body[k] !== null) parameters[k] = body[k];
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') parameters.max_tokens = max;
  // Qwen's thinking switch, as in compatible mode: an effort asks for thinking, none turns it off.
  if (body.reasoning_effort !== undefined && body.reasoning_effort !== null && parameters.enable_thinking === undefined) parameters.enable_thinking = body.reasoning_effort !== 'none';
  return { model, input: { messages }, parameters };
}

/** `auth`: the credential and static headers, as compatible mode sends them (options authHeader, authPrefix, header.<Name>). */
export function dashScopeNativeToUpstream(req: ClientRequest, backend: BackendIR, auth: Record<string, string>): UpstreamRequest {
  if (req.operation !== 'chat') refuse('model', `serves chat completions only, not ${req.operation}`);
  const body = JSON.stringify(toDashScope(req.body, backend.model ?? req.model, req.stream));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
  };
  if (req.stream) headers['x-dashscope-sse'] = 'enable';
  Object.assign(headers, auth);
  return { path: DASHSCOPE_GENERATION_PATH, headers, body };
}

function toUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const x = u as Json;
  return { promptTokens: Number(x.input_tokens ?? 0), completionTokens: Number(x.output_tokens ?? 0) };
}

function openAIUsage(u: Usage): Json {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens };
}

const FINISH: Record<string, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls' };

/** An OpenAI chat.completion from a text-generation answer. */
export function generationToOpenAI(r: Json, model: string, created: number): Json {
  const output = (r.output ?? {}) as Json;
  const choices = ((output.choices ?? []) as Json[]).map((c, i) => {
    const m = (c.message ?? {}) as Json;
    const calls = Array.isArray(m.tool_calls) && m.tool_calls.length ? (m.tool_calls as Json[]).map((t) => ({ id: t.id, type: 'function', function: t.function })) : undefined;
    const message: Json = { role: 'assistant', content: calls && !m.content ? null : String(m.content ?? '') };
    if (calls) message.tool_calls = calls;
    if (typeof m.reasoning_content === 'string' && m.reasoning_content) message.reasoning_content = m.reasoning_content;
    return { index: i, message, logprobs: null, finish_reason: calls ? 'tool_calls' : (FINISH[String(c.finish_reason)] ?? 'stop') };
  });
  return { id: String(r.request_id ?? ''), object: 'chat.completion', created, model, choices, usage: openAIUsage(toUsage(r.usage) ?? { promptTokens: 0, completionTokens: 0 }) };
}

/** A DashScope error body `{code, message}` as OpenAI's. */
export function errorToOpenAI(status: number, raw: Buffer): Json {
  let code = '';
  let message = raw.toString('utf8').slice(0, 500);
  try {
    const e = JSON.parse(raw.toString('utf8')) as Json;
    code = String(e.code ?? '');
    message = String(e.message ?? '');
  } catch {
    // not JSON: the text as the message
  }
  const ctx = /input length|context length|too long/i.test(message);
  return { error: { message: code ? `${code}: ${message}` : message, type: status < 500 ? 'invalid_request_error' : 'upstream_error', param: null, code: ctx ? 'context_length_exceeded' : code || null } };
}

/** A text-generation stream (incremental output) as OpenAI chunks. */
export class DashScopeStream {
  complete = false;
  usage: Usage | null = null;
  private readonly events = new SseEvents();
  private started = false;
  private readonly seenCalls = new Set<number>();
  private id = '';
  private readonly clientWantsUsage: boolean;
  private readonly created: number;
  private readonly model: string;

  constructor(clientWantsUsage: boolean, created: number, model: string) {
    this.clientWantsUsage = clientWantsUsage;
    this.created = created;
    this.model = model;
  }

  push(chunk: Buffer): Buffer | null {
    let out = '';
    for (const ev of this.events.push(chunk)) out += this.event(ev.event, ev.data);
    return out ? Buffer.from(out) : null;
  }

  private chunk(delta: Json, finish: string | null): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  }

  private event(name: string, data: string): string {
    if (this.complete || !data) return '';
    let e: Json;
    try {
      e = JSON.parse(data) as Json;
    } catch {
      return '';
    }
    if (name === 'error' || (e.code && !e.output)) return `data: ${JSON.stringify(errorToOpenAI(500, Buffer.from(data)))}\n\n`;
    if (!this.id) this.id = String(e.request_id ?? '');
    const usage = toUsage(e.usage);
    if (usage) this.usage = usage;
    let out = '';
    if (!this.started) {
      this.started = true;
      out += this.chunk({ role: 'assistant', content: '' }, null);
    }
    const c = (((e.output ?? {}) as Json).choices as Json[] | undefined)?.[0];
    if (!c) return out;
    const m = (c.message ?? {}) as Json;
    if (typeof m.reasoning_content === 'string' && m.reasoning_content) out += this.chunk({ reasoning_content: m.reasoning_content }, null);
    if (typeof m.content === 'string' && m.content) out += this.chunk({ content: m.content }, null);
    if (Array.isArray(m.tool_calls)) {
      (m.tool_calls as Json[]).forEach((t, i) => {
        const index = typeof t.index === 'number' ? t.index : i;
        const f = (t.function ?? {}) as Json;
        if (!this.seenCalls.has(index)) {
          this.seenCalls.add(index);
          out += this.chunk({ tool_calls: [{ index, id: t.id, type: 'function', function: { name: f.name ?? '', arguments: '' } }] }, null);
        }
        if (f.arguments) out += this.chunk({ tool_calls: [{ index, function: { arguments: String(f.arguments) } }] }, null);
      });
    }
    const finish = c.finish_reason;
    if (finish && finish !== 'null') {
      this.complete = true;
      out += this.chunk({}, this.seenCalls.size ? 'tool_calls' : (FINISH[String(finish)] ?? 'stop'));
      if (this.clientWantsUsage && this.usage) out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: openAIUsage(this.usage) })}\n\n`;
    }
    return out;
  }
}

/** One attempt's text-generation answer, as OpenAI's. */
export class DashScopeNativeTranslator extends HeldTranslator<DashScopeStream> {
  protected openStream(): DashScopeStream {
    return new DashScopeStream(this.req.clientWantsUsage, this.created, this.model);
  }

  bodyEnd(): Buffer {
    const raw = this.held.take();
    if (this.upstreamStatus >= 300) return Buffer.from(JSON.stringify(errorToOpenAI(this.upstreamStatus, raw)));
    let r: Json;
    try {
      r = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return Buffer.from(JSON.stringify({ error: { message: 'the dashscope backend answered with a body that is not JSON', type: 'upstream_error', param: null, code: 'bad_gateway' } }));
    }
    const out = generationToOpenAI(r, this.model, this.created);
    this.usage = toUsage(r.usage);
    if (this.req.stream) return Buffer.from(completionAsChunks(out, this.created, this.req.clientWantsUsage));
    return Buffer.from(JSON.stringify(out));
  }

  errorMessage(body: Buffer): string {
    try {
      const e = JSON.parse(body.toString('utf8')) as Json;
      return e.code ? `${String(e.code)}: ${String(e.message ?? '')}` : String(e.message ?? '');
    } catch {
      return '';
    }
  }
}
