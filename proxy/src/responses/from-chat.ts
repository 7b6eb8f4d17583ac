// A chat completion (JSON or stream, in OpenAI's shape: what every adapter's translator gives) as
// a Responses API answer, for a backend served through chat (to-chat.ts). JSON becomes a
// Response object; a stream becomes the Responses events, numbered from 0: response.created,
// response.in_progress, per output item output_item.added, its deltas and done events, then
// response.completed (or response.incomplete when the output was cut by max_output_tokens or a
// content filter) with the usage. Pure apart from the clock the caller passes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import { BufferedBody } from '../adapters/buffered-body.ts';
import type { ClientRequest, ResponseMode, ResponseTranslator, Usage } from '../adapters/types.ts';

type Json = Record<string, unknown>;

const LF2 = Buffer.from('\n\n');
const newId = (prefix: string): string => `${prefix}_${randomBytes(16).toString('hex')}`;

interface MessageItem { kind: 'message'; index: number; id: string; text: string }
interface CallItem { kind: 'call'; index: number; id: string; callId: string; name: string; args: string }

/** Builds one response from chat deltas, and the events that tell a stream client about it. */
class ResponseBuilder {
  readonly id = newId('resp');
  #seq = 0;
  #started = false;
  #message: MessageItem | null = null;
  readonly #calls = new Map<number, CallItem>();
  readonly #items: (MessageItem | CallItem)[] = [];
  #finish = '';
  #usage: Json | null = null;
  readonly #req: ClientRequest;
  readonly #created: number;
  out = '';

  constructor(req: ClientRequest, created: number) {
    this.#req = req;
    this.#created = created;
  }

  #event(type: string, rest: Json): void {
    this.out += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#seq++, ...rest })}\n\n`;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    const r = this.response('in_progress');
    this.#event('response.created', { response: r });
    this.#event('response.in_progress', { response: r });
  }

  text(delta: string): void {
    if (delta === '') return;
    this.#start();
    let m = this.#message;
    if (m === null) {
      m = this.#message = { kind: 'message', index: this.#items.length, id: newId('msg'), text: '' };
      this.#items.push(m);
      this.#event('response.output_item.added', { output_index: m.index, item: { type: 'message', id: m.id, status: 'in_progress', role: 'assistant', content: [] } });
      this.#event('response.content_part.added', { item_id: m.id, output_index: m.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    }
    m.text += delta;
    this.#event('response.output_text.delta', { item_id: m.id, output_index: m.index, content_index: 0, delta, logprobs: [] });
  }

  call(index: number, id: unknown, name: unknown, args: unknown): void {
    this.#start();
    let c = this.#calls.get(index);
    if (c === undefined) {
      c = { kind: 'call', index: this.#items.length, id: newId('fc'), callId: typeof id === 'string' ? id : newId('call'), name: typeof name === 'string' ? name : '', args: '' };
      this.#calls.set(index, c);
      this.#items.push(c);
      this.#event('response.output_item.added', { output_index: c.index, item: { type: 'function_call', id: c.id, call_id: c.callId, name: c.name, arguments: '', status: 'in_progress' } });
    }
    if (typeof args === 'string' && args !== '') {
      c.args += args;
      this.#event('response.function_call_arguments.delta', { item_id: c.id, output_index: c.index, delta: args });
    }
  }

  finish(reason: unknown): void {
    if (typeof reason === 'string') this.#finish = reason;
  }

  usage(u: Json): void {
    const num = (v: unknown) => (typeof v === 'number' ? v : 0);
    const pd = (u.prompt_tokens_details ?? {}) as Json;
    const cd = (u.completion_tokens_details ?? {}) as Json;
    this.#usage = {
      input_tokens: num(u.prompt_tokens),
      input_tokens_details: { cached_tokens: num(pd.cached_tokens) },
      output_tokens: num(u.completion_tokens),
      output_tokens_details: { reasoning_tokens: num(cd.reasoning_tokens) },
      total_tokens: num(u.prompt_tokens) + num(u.completion_tokens),
    };
  }

  /** Closes every open item and the response (stream events). */
  end(): void {
    this.#start();
    for (const it of this.#items) {
      if (it.kind === 'message') {
        this.#event('response.output_text.done', { item_id: it.id, output_index: it.index, content_index: 0, text: it.text, logprobs: [] });
        this.#event('response.content_part.done', { item_id: it.id, output_index: it.index, content_index: 0, part: { type: 'output_text', text: it.text, annotations: [] } });
      } else {
        this.#event('response.function_call_arguments.done', { item_id: it.id, output_index: it.index, name: it.name, arguments: it.args });
      }
      this.#event('response.output_item.done', { output_index: it.index, item: item(it) });
    }
    const r = this.response('done');
    this.#event(r.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: r });
  }

  /** The Response object: in progress (no output yet), or done with its output and usage. */
  response(state: 'in_progress' | 'done'): Json {
    const b = this.#req.body;
    const cut = this.#finish === 'length' ? 'max_output_tokens' : this.#finish === 'content_filter' ? 'content_filter' : null;
    const done = state === 'done';
    return {
      id: this.id,
      object: 'response',
      created_at: this.#created,
      status: done ? (cut === null ? 'completed' : 'incomplete') : 'in_progress',
      background: false,
      error: null,
      incomplete_details: done && cut !== null ? { reason: cut } : null,
      instructions: b.instructions ?? null,
      max_output_tokens: b.max_output_tokens ?? null,
      metadata: b.metadata ?? {},
      model: this.#req.model,
      output: done ? this.#items.map(item) : [],
      parallel_tool_calls: b.parallel_tool_calls !== false,
      previous_response_id: null,
      reasoning: { effort: (b.reasoning as Json | undefined)?.effort ?? null, summary: null },
      // Served through chat: nothing is kept, so the id cannot be used again.
      store: false,
      temperature: b.temperature ?? null,
      text: b.text ?? { format: { type: 'text' } },
      tool_choice: b.tool_choice ?? 'auto',
      tools: b.tools ?? [],
      top_p: b.top_p ?? null,
      truncation: 'disabled',
      usage: done ? this.#usage : null,
      user: b.user ?? null,
    };
  }
}

function item(it: MessageItem | CallItem): Json {
  if (it.kind === 'message') return { type: 'message', id: it.id, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: it.text, annotations: [] }] };
  return { type: 'function_call', id: it.id, call_id: it.callId, name: it.name, arguments: it.args, status: 'completed' };
}

/** Feeds one chat completion (JSON) or chunk to the builder. */
function feed(r: ResponseBuilder, chat: Json, chunk: boolean): void {
  const choice = (Array.isArray(chat.choices) ? chat.choices[0] : undefined) as Json | undefined;
  if (choice !== undefined) {
    const m = (chunk ? choice.delta : choice.message) as Json | undefined;
    if (m) {
      if (typeof m.content === 'string') r.text(m.content);
      if (Array.isArray(m.tool_calls)) {
        (m.tool_calls as Json[]).forEach((tc, k) => {
          const f = (tc.function ?? {}) as Json;
          r.call(typeof tc.index === 'number' ? tc.index : k, tc.id, f.name, f.arguments);
        });
      }
    }
    r.finish(choice.finish_reason);
  }
  if (chat.usage && typeof chat.usage === 'object') r.usage(chat.usage as Json);
}

/**
 * The attempt's translator for a Responses API client of a chat-served backend: wraps the
 * adapter's (OpenAI chat) translator and answers in the Responses API's shape. Error bodies are
 * OpenAI's in both APIs and pass as they are.
 */
export class ChatAsResponses implements ResponseTranslator {
  readonly #inner: ResponseTranslator;
  readonly #req: ClientRequest;
  readonly #builder: ResponseBuilder;
  readonly #held = new BufferedBody();
  #ok = false;
  #done = false;
  #pending: Buffer | null = null;

  /** `req`: the client's Responses request; `created`: seconds since the epoch. */
  constructor(inner: ResponseTranslator, req: ClientRequest, created: number) {
    this.#inner = inner;
    this.#req = req;
    this.#builder = new ResponseBuilder(req, created);
  }

  get complete(): boolean {
    return this.#done;
  }

  get usage(): Usage | null {
    return this.#inner.usage;
  }

  classify(status: number, headers: IncomingHttpHeaders): ResponseMode {
    this.#ok = status < 300;
    return this.#inner.classify(status, headers);
  }

  status(upstream: number): number {
    return this.#inner.status?.(upstream) ?? upstream;
  }

  headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = this.#inner.headers(upstream, mode);
    if (this.#ok) {
      delete h['content-length'];
      // A stream client gets events even from a backend that answered with JSON.
      if (this.#req.stream) h['content-type'] = 'text/event-stream';
    }
    return h;
  }

  body(chunk: Buffer): Buffer | null {
    const out = this.#inner.body(chunk);
    if (!this.#ok) return out;
    if (out !== null && out.length > 0) this.#held.push(out);
    return null;
  }

  bodyEnd(): Buffer | null {
    const rest = this.#inner.bodyEnd();
    if (!this.#ok) return rest;
    if (rest !== null && rest.length > 0) this.#held.push(rest);
    const text = this.#held.take().toString('utf8');
    const b = this.#builder;
    // A chat answer replayed as a stream by the adapter, or the JSON completion.
    if (text.trimStart().startsWith('data:')) this.#sse(text);
    else {
      let chat: Json;
      try {
        chat = JSON.parse(text) as Json;
      } catch {
        return Buffer.from(text);
      }
      feed(b, chat, false);
    }
    this.#done = true;
    if (!this.#req.stream) return Buffer.from(JSON.stringify(b.response('done')));
    b.end();
    return this.#take();
  }

  stream(chunk: Buffer): Buffer | null {
    const out = this.#inner.stream(chunk);
    if (out === null || out.length === 0) return out;
    const data = this.#pending ? Buffer.concat([this.#pending, out]) : out;
    const end = data.lastIndexOf(LF2);
    if (end < 0) {
      this.#pending = data;
      return null;
    }
    this.#pending = end + 2 < data.length ? data.subarray(end + 2) : null;
    this.#sse(data.toString('utf8', 0, end + 2));
    return this.#take();
  }

  streamRest(): Buffer | null {
    const rest = this.#inner.streamRest();
    const data = this.#pending ? (rest ? Buffer.concat([this.#pending, rest]) : this.#pending) : rest;
    this.#pending = null;
    if (data && data.length > 0) this.#sse(data.toString('utf8'));
    return this.#take();
  }

  /** Chat SSE events in; the builder's events accumulate (`[DONE]` ends the response). */
  #sse(text: string): void {
    for (const ev of text.split(/\r?\n\r?\n/)) {
      const line = ev.split(/\r?\n/).find((l) => l.startsWith('data:'));
      if (line === undefined) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        if (!this.#done) {
          this.#done = true;
          this.#builder.end();
        }
        continue;
      }
      try {
        feed(this.#builder, JSON.parse(data) as Json, true);
      } catch {
        // not JSON: nothing to tell the client
      }
    }
  }

  #take(): Buffer | null {
    const out = this.#builder.out;
    this.#builder.out = '';
    return out === '' ? null : Buffer.from(out);
  }

  errorMessage(body: Buffer): string {
    return this.#inner.errorMessage(body);
  }

  retryAfterMs(body: Buffer): number | undefined {
    return this.#inner.retryAfterMs?.(body);
  }
}
