import { SseEvents, type SseEvent } from '../sse-events.ts';
import type { Usage } from '../types.ts';
import { FINISH_FROM_STOP_REASON } from './mapping.ts';
import { anthropicError, toUsage, usageToOpenAI } from './response.ts';

type Json = Record<string, unknown>;

/**
 * Anthropic's Messages stream as OpenAI chat.completion.chunk events: message_start gives the
 * role chunk, text/thinking/input_json deltas give content, reasoning_content and tool-call
 * argument fragments (each tool_use block gets the next tool-call index, its id and name in
 * its first chunk), message_delta the finish reason, message_stop the usage chunk (when the
 * client asked) and `[DONE]`. An `error` event ends the translation without `[DONE]`, so the
 * proxy closes the stream with its own well-formed error event.
 */
export class AnthropicStream {
  complete = false;
  usage: Usage | null = null;
  /** The message of an `error` event, when the provider sent one. */
  errorMessage = '';
  private readonly events = new SseEvents();
  private readonly wantsUsage: boolean;
  private readonly created: number;
  private id = '';
  private model = '';
  private raw: Json = {};
  private head: string | undefined;
  private finish: string | null = null;
  /** Anthropic content block index -> OpenAI tool-call index. */
  private readonly toolIndex = new Map<number, number>();

  constructor(wantsUsage: boolean, created: number) {
    this.wantsUsage = wantsUsage;
    this.created = created;
  }

  push(chunk: Buffer): Buffer | null {
    return this.translate(this.events.push(chunk));
  }

  rest(): Buffer | null {
    return this.translate(this.events.rest());
  }

  private translate(events: SseEvent[]): Buffer | null {
    let out = '';
    for (const e of events) out += this.event(e);
    return out ? Buffer.from(out) : null;
  }

  /** One chunk; the part before the delta is built once per stream (JSON.stringify of the whole chunk per delta doubled the cost). */
  private chunk(delta: Json, finish: string | null = null): string {
    return this.chunkOf(JSON.stringify(delta), finish);
  }

  /** The same with the delta serialized already: a text delta is most events, and needs no object. */
  private chunkOf(delta: string, finish: string | null = null): string {
    this.head ??= `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.model)},"choices":[{"index":0,"delta":`;
    return `${this.head}${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
  }

  private event(e: SseEvent): string {
    if (this.complete || !e.data) return '';
    let j: Json;
    try {
      j = JSON.parse(e.data) as Json;
    } catch {
      return '';
    }
    switch (j.type ?? e.event) {
      case 'message_start': {
        const m = (j.message ?? {}) as Json;
        this.id = String(m.id ?? '');
        this.model = String(m.model ?? '');
        this.raw = { ...((m.usage as Json | undefined) ?? {}) };
        this.capture();
        return this.chunk({ role: 'assistant', content: '' });
      }
      case 'content_block_start': {
        const b = (j.content_block ?? {}) as Json;
        if (b.type === 'tool_use') {
          const index = this.toolIndex.size;
          this.toolIndex.set(Number(j.index), index);
          return this.chunk({ tool_calls: [{ index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }] });
        }
        if (b.type === 'text' && typeof b.text === 'string' && b.text) return this.chunk({ content: b.text });
        if (b.type === 'thinking' && typeof b.thinking === 'string' && b.thinking) return this.chunk({ reasoning_content: b.thinking });
        return '';
      }
      case 'content_block_delta': {
        const d = (j.delta ?? {}) as Json;
        if (d.type === 'text_delta') return this.chunkOf(`{"content":${JSON.stringify(String(d.text ?? ''))}}`);
        if (d.type === 'thinking_delta') return this.chunkOf(`{"reasoning_content":${JSON.stringify(String(d.thinking ?? ''))}}`);
        if (d.type === 'input_json_delta') {
          const index = this.toolIndex.get(Number(j.index));
          const part = String(d.partial_json ?? '');
          return index === undefined || part === '' ? '' : this.chunk({ tool_calls: [{ index, function: { arguments: part } }] });
        }
        return '';
      }
      case 'message_delta': {
        Object.assign(this.raw, (j.usage as Json | undefined) ?? {});
        this.capture();
        const reason = ((j.delta ?? {}) as Json).stop_reason;
        if (typeof reason !== 'string') return '';
        this.finish = FINISH_FROM_STOP_REASON[reason] ?? 'stop';
        return this.chunk({}, this.finish);
      }
      case 'message_stop': {
        this.complete = true;
        let out = this.finish === null ? this.chunk({}, 'stop') : '';
        if (this.wantsUsage) out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: usageToOpenAI(this.raw) })}\n\n`;
        return out + 'data: [DONE]\n\n';
      }
      case 'error':
        this.errorMessage = anthropicError(e.data).message;
        return '';
      default:
        return '';
    }
  }

  private capture(): void {
    this.usage = toUsage(usageToOpenAI(this.raw));
  }
}
