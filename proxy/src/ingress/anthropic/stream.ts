import { SseEvents, type SseEvent } from '../../adapters/sse-events.ts';
import type { Usage } from '../../adapters/types.ts';
import { messageId, stopReason } from './response.ts';

type Json = Record<string, unknown>;

function event(name: string, data: Json): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * OpenAI chat.completion.chunk events as Anthropic's Messages stream: message_start with the
 * first chunk; a content block per run of text (`text_delta`), reasoning (`thinking_delta`) or
 * tool call (`tool_use` then `input_json_delta`), each closed when another begins; on `[DONE]`
 * the last block's stop, message_delta (stop reason, usage) and message_stop. Usage comes from
 * the usage chunk the ingress asked for, or the backend translator's capture. A backend that
 * interleaves the argument fragments of parallel tool calls (OpenAI allows it; Anthropic's
 * blocks are sequential) gets a late fragment sent to its block's index after that block's
 * stop: the SDK accumulates by index, and holding every call back until the end would cost
 * the common sequential case its streaming.
 */
export class OpenAIToAnthropicStream {
  complete = false;
  private readonly events = new SseEvents();
  private readonly model: string;
  private started = false;
  private block = -1;
  private blockKind: 'text' | 'thinking' | 'tool' | null = null;
  /** OpenAI tool-call index -> Anthropic block index. */
  private readonly tools = new Map<number, number>();
  private finish: unknown = null;
  private usage: Json | null = null;

  constructor(model: string) {
    this.model = model;
  }

  push(chunk: Buffer | null, fallbackUsage: Usage | null): Buffer | null {
    return chunk ? this.translate(this.events.push(chunk), fallbackUsage) : null;
  }

  rest(chunk: Buffer | null, fallbackUsage: Usage | null): Buffer | null {
    const evs = chunk ? this.events.push(chunk) : [];
    return this.translate([...evs, ...this.events.rest()], fallbackUsage);
  }

  private translate(evs: SseEvent[], fallbackUsage: Usage | null): Buffer | null {
    let out = '';
    for (const e of evs) out += this.one(e, fallbackUsage);
    return out ? Buffer.from(out) : null;
  }

  private one(e: SseEvent, fallbackUsage: Usage | null): string {
    if (this.complete) return '';
    if (e.data.trim() === '[DONE]') return this.end(fallbackUsage);
    let j: Json;
    try {
      j = JSON.parse(e.data) as Json;
    } catch {
      return '';
    }
    if (j.error) {
      const err = j.error as Json;
      this.complete = true;
      return event('error', { type: 'error', error: { type: 'api_error', message: String(err.message ?? 'upstream error') } });
    }
    let out = this.start(j);
    if (j.usage && typeof j.usage === 'object') this.usage = j.usage as Json;
    const choice = ((j.choices as Json[] | undefined) ?? [])[0];
    if (!choice) return out;
    const d = (choice.delta ?? {}) as Json;
    if (typeof d.reasoning_content === 'string' && d.reasoning_content) {
      out += this.open('thinking', { type: 'thinking', thinking: '', signature: '' });
      out += event('content_block_delta', { type: 'content_block_delta', index: this.block, delta: { type: 'thinking_delta', thinking: d.reasoning_content } });
    }
    if (typeof d.content === 'string' && d.content) {
      out += this.open('text', { type: 'text', text: '' });
      out += event('content_block_delta', { type: 'content_block_delta', index: this.block, delta: { type: 'text_delta', text: d.content } });
    }
    for (const t of (d.tool_calls as Json[] | undefined) ?? []) {
      const i = typeof t.index === 'number' ? t.index : 0;
      const f = (t.function ?? {}) as Json;
      if (!this.tools.has(i)) {
        out += this.open('tool', { type: 'tool_use', id: t.id ?? `toolu_${i}`, name: f.name ?? '', input: {} }, true);
        this.tools.set(i, this.block);
      }
      const args = typeof f.arguments === 'string' ? f.arguments : '';
      if (args) out += event('content_block_delta', { type: 'content_block_delta', index: this.tools.get(i)!, delta: { type: 'input_json_delta', partial_json: args } });
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out;
  }

  private start(j: Json): string {
    if (this.started) return '';
    this.started = true;
    return event('message_start', {
      type: 'message_start',
      message: { id: messageId(j.id), type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } },
    });
  }

  /** Opens a block of `kind` unless one is open (a tool call always opens its own). */
  private open(kind: 'text' | 'thinking' | 'tool', block: Json, always = false): string {
    if (this.blockKind === kind && !always) return '';
    const out = this.close();
    this.block++;
    this.blockKind = kind;
    return out + event('content_block_start', { type: 'content_block_start', index: this.block, content_block: block });
  }

  private close(): string {
    if (this.blockKind === null) return '';
    this.blockKind = null;
    return event('content_block_stop', { type: 'content_block_stop', index: this.block });
  }

  private end(fallbackUsage: Usage | null): string {
    this.complete = true;
    const u = this.usage;
    const n = (v: unknown) => (typeof v === 'number' ? v : 0);
    const cached = n((u?.prompt_tokens_details as Json | undefined)?.cached_tokens);
    const input = u ? n(u.prompt_tokens) - cached : (fallbackUsage?.promptTokens ?? 0);
    const output = u ? n(u.completion_tokens) : (fallbackUsage?.completionTokens ?? 0);
    let out = this.start({});
    out += this.close();
    out += event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason(this.finish), stop_sequence: null },
      usage: { input_tokens: Math.max(0, input), output_tokens: output, cache_read_input_tokens: cached },
    });
    return out + event('message_stop', { type: 'message_stop' });
  }
}
