import type { BackendIR } from '@jairouter/crds';
import { completionAsChunks } from '../buffered-body.ts';
import { HeldTranslator } from '../held-translator.ts';
import { SseEvents } from '../sse-events.ts';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest, type Usage } from '../types.ts';
import { USER_AGENT } from '../upstream-headers.ts';
import { tc3Authorization } from './tc3.ts';

/**
 * Tencent Hunyuan's native API (`options.api: native`): the Tencent Cloud API action
 * ChatCompletions, version 2023-09-01, POSTed to the backend's url (https://hunyuan.tencentcloudapi.com)
 * and signed with TC3-HMAC-SHA256 from the credential `{"secretId","secretKey"}`. Answers, errors
 * included, come with HTTP 200: the client status is chosen from the body.
 */

type Json = Record<string, unknown>;

/** Fields passed on, or harmless to drop; any other field set is refused (it would change the answer). */
const HANDLED = new Set(['model', 'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'tools', 'tool_choice', 'user', 'n', 'parallel_tool_calls']);

export interface HunyuanCredential {
  secretId: string;
  secretKey: string;
}

/** The credential's `{"secretId","secretKey"}`, or null when it is not that. */
export function parseCredential(credential: string | undefined): HunyuanCredential | null {
  if (credential === undefined) return null;
  try {
    const c = JSON.parse(credential) as Json;
    if (typeof c.secretId === 'string' && typeof c.secretKey === 'string' && c.secretId && c.secretKey) return { secretId: c.secretId, secretKey: c.secretKey };
  } catch {
    // not JSON
  }
  return null;
}

function refuse(field: string, why: string): never {
  throw new UnsupportedRequest(field, `${field}: the hunyuan adapter (native API) ${why}`);
}

function text(content: unknown, field: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => {
        const part = p as Json;
        if (part.type !== 'text') refuse(field, `takes text content only, not ${String(part.type)} parts`);
        return String(part.text ?? '');
      })
      .join('');
  }
  return refuse(field, 'takes text content only');
}

/** The ChatCompletions body of an OpenAI chat request. */
export function toHunyuan(body: Readonly<Json>, model: string, stream: boolean): Json {
  for (const k of Object.keys(body)) {
    if (HANDLED.has(k) || body[k] === null || body[k] === undefined) continue;
    refuse(k, 'has no equivalent for it');
  }
  if (typeof body.n === 'number' && body.n > 1) refuse('n', `answers with one choice, so n=${body.n} cannot be honoured`);
  const messages = (body.messages as Json[]).map((m, i) => {
    const role = String(m.role);
    const field = `messages[${i}].content`;
    if (role === 'developer' || role === 'system') return { Role: 'system', Content: text(m.content, field) };
    if (role === 'user') return { Role: 'user', Content: text(m.content, field) };
    if (role === 'tool') return { Role: 'tool', Content: text(m.content, field), ToolCallId: String(m.tool_call_id ?? '') };
    if (role === 'assistant') {
      const out: Json = { Role: 'assistant', Content: text(m.content, field) };
      const calls = m.tool_calls as Json[] | undefined;
      if (calls?.length) {
        out.ToolCalls = calls.map((c) => {
          const f = c.function as Json;
          return { Id: c.id, Type: 'function', Function: { Name: f.name, Arguments: f.arguments } };
        });
      }
      return out;
    }
    return refuse(`messages[${i}].role`, `has no role ${role}`);
  });
  const out: Json = { Model: model, Messages: messages, Stream: stream };
  if (typeof body.temperature === 'number') out.Temperature = body.temperature;
  if (typeof body.top_p === 'number') out.TopP = body.top_p;
  const tools = body.tools as Json[] | undefined;
  if (tools?.length) {
    out.Tools = tools.map((t, i) => {
      if (t.type !== 'function') refuse(`tools[${i}].type`, 'takes function tools only');
      const f = t.function as Json;
      return { Type: 'function', Function: { Name: f.name, Description: f.description ?? '', Parameters: JSON.stringify(f.parameters ?? { type: 'object', properties: {} }) } };
    });
  }
  const choice = body.tool_choice;
  if (choice === 'none' || choice === 'auto') out.ToolChoice = choice;
  else if (choice === 'required') refuse('tool_choice', 'cannot require a tool call without naming the tool');
  else if (choice && typeof choice === 'object') {
    out.ToolChoice = 'custom';
    out.CustomTool = { Type: 'function', Function: { Name: ((choice as Json).function as Json).name } };
  }
  return out;
}

export function nativeToUpstream(req: ClientRequest, backend: BackendIR, basePath: string, origin: string, now: () => number): UpstreamRequest {
  if (req.operation !== 'chat') refuse('model', `serves chat completions only, not ${req.operation}`);
  const cred = parseCredential(backend.credential);
  if (!cred) throw new UnsupportedRequest('credentialsRef', 'the hunyuan adapter (native API) needs a credential {"secretId","secretKey"}');
  const body = JSON.stringify(toHunyuan(req.body, backend.model ?? req.model, req.stream));
  const timestamp = Math.floor(now() / 1000);
  const contentType = 'application/json';
  const host = new URL(origin).host;
  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    accept: req.stream ? 'text/event-stream' : 'application/json',
    'user-agent': USER_AGENT,
    'x-request-id': req.requestId,
    'x-tc-action': 'ChatCompletions',
    'x-tc-version': '2023-09-01',
    'x-tc-timestamp': String(timestamp),
    authorization: tc3Authorization({ ...cred, service: 'hunyuan', host, contentType, payload: body, timestamp }),
  };
  const region = backend.options.region;
  if (region !== undefined) headers['x-tc-region'] = String(region);
  return { path: basePath + '/', headers, body };
}

const FINISH: Record<string, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', sensitive: 'content_filter' };

function finishReason(r: unknown): string {
  return FINISH[String(r)] ?? 'stop';
}

function toUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const x = u as Json;
  return { promptTokens: Number(x.PromptTokens ?? 0), completionTokens: Number(x.CompletionTokens ?? 0) };
}

function openAIUsage(u: Usage): Json {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens };
}

/** The client status and OpenAI error of a Tencent Cloud error code. */
export function errorToOpenAI(e: Json): { status: number; body: Json } {
  const code = String(e.Code ?? '');
  const message = String(e.Message ?? '');
  if (code.startsWith('AuthFailure')) {
    return { status: 502, body: { error: { message: `the backend refused the gateway's credential (${code})${message ? `: ${message}` : ''}; check the backend's credentialsRef`, type: 'upstream_error', param: null, code: 'upstream_auth_failed' } } };
  }
  if (code.startsWith('LimitExceeded') || code.startsWith('RequestLimitExceeded')) {
    return { status: 429, body: { error: { message: `${code}: ${message}`, type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } } };
  }
  if (code.startsWith('InvalidParameter') || code.startsWith('MissingParameter') || code.startsWith('UnknownParameter') || code.startsWith('UnsupportedOperation') || code.startsWith('ResourceNotFound') || code.startsWith('OperationDenied')) {
    const ctx = /token|length|too long|exceed/i.test(message) && /context|input|length/i.test(message);
    return { status: 400, body: { error: { message: `${code}: ${message}`, type: 'invalid_request_error', param: null, code: ctx ? 'context_length_exceeded' : code } } };
  }
  return { status: 502, body: { error: { message: `${code}: ${message}`, type: 'upstream_error', param: null, code: 'bad_gateway' } } };
}

function toolCalls(calls: unknown): Json[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return (calls as Json[]).map((c) => {
    const f = (c.Function ?? {}) as Json;
    return { id: c.Id, type: 'function', function: { name: f.Name, arguments: String(f.Arguments ?? '') } };
  });
}

/** An OpenAI chat.completion from a ChatCompletions `Response`. */
export function responseToOpenAI(r: Json, model: string, created: number): Json {
  const choices = ((r.Choices ?? []) as Json[]).map((c, i) => {
    const m = (c.Message ?? {}) as Json;
    const calls = toolCalls(m.ToolCalls);
    const message: Json = { role: 'assistant', content: calls && !m.Content ? null : String(m.Content ?? '') };
    if (calls) message.tool_calls = calls;
    if (typeof m.ReasoningContent === 'string' && m.ReasoningContent) message.reasoning_content = m.ReasoningContent;
    return { index: i, message, logprobs: null, finish_reason: calls ? 'tool_calls' : finishReason(c.FinishReason) };
  });
  const usage = toUsage(r.Usage) ?? { promptTokens: 0, completionTokens: 0 };
  return { id: String(r.Id ?? r.RequestId ?? ''), object: 'chat.completion', created: Number(r.Created ?? created), model, choices, usage: openAIUsage(usage) };
}

/** A ChatCompletions stream, event by event, as OpenAI chunks. */
export class HunyuanStream {
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
    for (const ev of this.events.push(chunk)) out += this.event(ev.data);
    return out ? Buffer.from(out) : null;
  }

  rest(): Buffer | null {
    return null;
  }

  private chunk(delta: Json, finish: string | null): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  }

  private event(data: string): string {
    if (this.complete || !data || data === '[DONE]') return '';
    let e: Json;
    try {
      e = JSON.parse(data) as Json;
    } catch {
      return '';
    }
    const err = (e.Error ?? (e.Response as Json | undefined)?.Error) as Json | undefined;
    if (err) return `data: ${JSON.stringify(errorToOpenAI(err).body)}\n\n`;
    if (!this.id) this.id = String(e.Id ?? '');
    const usage = toUsage(e.Usage);
    if (usage) this.usage = usage;
    let out = '';
    if (!this.started) {
      this.started = true;
      out += this.chunk({ role: 'assistant', content: '' }, null);
    }
    const c = ((e.Choices ?? []) as Json[])[0];
    if (!c) return out;
    const d = (c.Delta ?? {}) as Json;
    if (typeof d.ReasoningContent === 'string' && d.ReasoningContent) out += this.chunk({ reasoning_content: d.ReasoningContent }, null);
    if (typeof d.Content === 'string' && d.Content) out += this.chunk({ content: d.Content }, null);
    if (Array.isArray(d.ToolCalls)) {
      (d.ToolCalls as Json[]).forEach((t, i) => {
        const index = typeof t.Index === 'number' ? t.Index : i;
        const f = (t.Function ?? {}) as Json;
        if (!this.seenCalls.has(index)) {
          this.seenCalls.add(index);
          out += this.chunk({ tool_calls: [{ index, id: t.Id, type: 'function', function: { name: f.Name, arguments: '' } }] }, null);
        }
        if (f.Arguments) out += this.chunk({ tool_calls: [{ index, function: { arguments: String(f.Arguments) } }] }, null);
      });
    }
    if (c.FinishReason) {
      this.complete = true;
      out += this.chunk({}, this.seenCalls.size ? 'tool_calls' : finishReason(c.FinishReason));
      if (this.clientWantsUsage && this.usage) out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: openAIUsage(this.usage) })}\n\n`;
    }
    return out;
  }
}

/** One attempt's ChatCompletions answer, as OpenAI's. */
export class HunyuanNativeTranslator extends HeldTranslator<HunyuanStream> {
  private clientStatus = 200;

  protected openStream(): HunyuanStream {
    return new HunyuanStream(this.req.clientWantsUsage, this.created, this.model);
  }

  protected override get answerStatus(): number {
    return this.clientStatus;
  }

  /** Chosen from the body (Response.Error comes with HTTP 200); asked after bodyEnd. */
  status(upstream: number): number {
    return this.streamer ? upstream : this.clientStatus;
  }

  bodyEnd(): Buffer {
    const raw = this.held.take();
    let r: Json | undefined;
    try {
      r = (JSON.parse(raw.toString('utf8')) as Json).Response as Json | undefined;
    } catch {
      r = undefined;
    }
    if (!r || typeof r !== 'object') {
      this.clientStatus = this.upstreamStatus >= 400 ? 400 : 502;
      return Buffer.from(JSON.stringify({ error: { message: `the hunyuan backend answered ${this.upstreamStatus} with a body that is not a Tencent Cloud API response`, type: 'upstream_error', param: null, code: 'bad_gateway' } }));
    }
    if (r.Error && typeof r.Error === 'object') {
      const e = errorToOpenAI(r.Error as Json);
      this.clientStatus = e.status;
      return Buffer.from(JSON.stringify(e.body));
    }
    this.clientStatus = 200;
    const out = responseToOpenAI(r, this.model, this.created);
    this.usage = toUsage(r.Usage);
    if (this.req.stream) return Buffer.from(completionAsChunks(out, this.created, this.req.clientWantsUsage));
    return Buffer.from(JSON.stringify(out));
  }

  errorMessage(body: Buffer): string {
    try {
      const e = ((JSON.parse(body.toString('utf8')) as Json).Response as Json).Error as Json;
      return `${String(e.Code)}: ${String(e.Message)}`;
    } catch {
      return '';
    }
  }
}
