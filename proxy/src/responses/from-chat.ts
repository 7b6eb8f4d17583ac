// A chat completion (JSON or stream, in OpenAI's shape: what every adapter's translator gives) as
// a Responses API answer, for a backend served through chat (to-chat.ts). JSON becomes a
// Response object; a stream becomes the Responses events, numbered from 0: response.created,
// response.in_progress, per output item output_item.added, its deltas and done events, then
// response.completed (or response.incomplete when the output was cut by max_output_tokens or a
// content filter) with the usage. Pure apart from the clock the caller passes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ClientRequest, ResponseMode, ResponseTranslator } from '../adapters/types.ts';
import { WholeEventsTranslator } from '../adapters/whole-events.ts';
import type { Keep } from './kept.ts';

type Json = Record<string, unknown>;

const newId = (prefix: string): string => `${prefix}_${randomBytes(16).toString('hex')}`;

interface MessageItem { kind: 'message'; index: number; id: string; text: string }
interface CallItem { kind: 'call'; index: number; id: string; callId: string; name: string; args: string }

/** Builds one response from chat deltas, and the events that tell a stream client about it. */
class ResponseBuilder {
  readonly id: string;
  #seq = 0;
  #started = false;
  #message: MessageItem | null = null;
  readonly #calls = new Map<number, CallItem>();
  readonly #items: (MessageItem | CallItem)[] = [];
  #finish = '';
  #usage: Json | null = null;
  readonly #req: ClientRequest;
  readonly #created: number;
  readonly #keep: Keep | null;
  out = '';

  constructor(req: ClientRequest, created: number, keep: Keep | null) {
    this.#req = req;
    this.#created = created;
    this.#keep = keep;
    this.id = keep?.id ?? newId('resp');
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
      previous_response_id: this.#keep?.previous ?? null,
      reasoning: { effort: (b.reasoning as Json | undefined)?.effort ?? null, summary: null },
      // Served through chat: kept by the gateway (responses/store.ts), or not at all.
      store: (this.#keep?.id ?? null) !== null,
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
export class ChatAsResponses extends WholeEventsTranslator {
  readonly #req: ClientRequest;
  readonly #builder: ResponseBuilder;
  #done = false;

  readonly #keep: Keep | null;

  /**
   * `req`: the client's Responses request; `created`: seconds since the epoch; `keep`: the
   * gateway keeps the response (its id, and where it goes once complete), or null.
   */
  constructor(inner: ResponseTranslator, req: ClientRequest, created: number, keep: Keep | null = null) {
    super(inner);
    this.#req = req;
    this.#keep = keep;
    this.#builder = new ResponseBuilder(req, created, keep);
  }

  /** The response is complete: kept, when it is to be. */
  #completed(): void {
    this.#done = true;
    this.#keep?.save(this.#builder.response('done'));
  }

  override get complete(): boolean {
    return this.#done;
  }

  override headers(upstream: IncomingHttpHeaders, mode: ResponseMode): OutgoingHttpHeaders {
    const h = super.headers(upstream, mode);
    // A stream client gets events even from a backend that answered with JSON.
    if (this.ok && this.#req.stream) h['content-type'] = 'text/event-stream';
    return h;
  }

  protected rewriteBody(all: Buffer): Buffer | null {
    const text = all.toString('utf8');
    const b = this.#builder;
    // A chat answer replayed as a stream by the adapter, or the JSON completion.
    if (text.trimStart().startsWith('data:')) this.#sse(text);
    else {
      let chat: Json;
      try {
        chat = JSON.parse(text) as Json;
      } catch {
        return all;
      }
      feed(b, chat, false);
    }
    this.#completed();
    if (!this.#req.stream) return Buffer.from(JSON.stringify(b.response('done')));
    b.end();
    return this.#take();
  }

  protected rewriteEvents(block: Buffer): Buffer | null {
    this.#sse(block.toString('utf8'));
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
          this.#builder.end();
          this.#completed();
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
}
