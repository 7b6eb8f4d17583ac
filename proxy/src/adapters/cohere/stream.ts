import { SseEvents, type SseEvent } from '../sse-events.ts';
import type { Usage } from '../types.ts';
import { FINISH, isFailure, toUsage, usageToOpenAI } from './response.ts';

type Json = Record<string, unknown>;

/**
 * Cohere's v2 chat stream as OpenAI chat.completion.chunk events: message-start gives the role
 * chunk, content-delta text and thinking give content and reasoning_content, tool-plan-delta
 * reasoning_content, tool-call-start a tool call (the next index, its id and name, then its
 * arguments so far) and tool-call-delta argument fragments, message-end the finish reason, the
 * usage chunk (when the client asked) and `[DONE]`. A message-end with finish reason ERROR or
 * TIMEOUT ends the translation without `[DONE]`, so the proxy closes the stream with its own
 * well-formed error event.
 */
export class CohereStream {
  complete = false;
  usage: Usage | null = null;
  /** Set when the stream ended in an error (message-end ERROR / TIMEOUT). */
  errorMessage = '';
  private readonly events = new SseEvents();
  private readonly wantsUsage: boolean;
  private readonly created: number;
  private readonly model: string;
  private id = '';
  private started = false;
  private ended = false;
  /** Cohere tool-call index -> OpenAI tool-call index. */
  private readonly toolIndex = new Map<number, number>();
  private currentTool = -1;

  constructor(wantsUsage: boolean, created: number, model: string) {
    this.wantsUsage = wantsUsage;
    this.created = created;
    this.model = model;
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

  private chunk(delta: Json, finish: string | null = null): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  }

  /** The role chunk, once, before anything else (a stream that skips message-start still gets it). */
  private start(): string {
    if (this.started) return '';
    this.started = true;
    return this.chunk({ role: 'assistant', content: '' });
  }

  private event(e: SseEvent): string {
    if (this.ended || !e.data || e.data === '[DONE]') return '';
    let j: Json;
    try {
      j = JSON.parse(e.data) as Json;
    } catch {
      return '';
    }
    const message = (((j.delta ?? {}) as Json).message ?? {}) as Json;
    switch (j.type ?? e.event) {
      case 'message-start':
        if (typeof j.id === 'string') this.id = j.id;
        return this.start();
      case 'content-start':
      case 'content-delta': {
        const c = (message.content ?? {}) as Json;
        let out = this.start();
        if (typeof c.text === 'string' && c.text) out += this.chunk({ content: c.text });
        if (typeof c.thinking === 'string' && c.thinking) out += this.chunk({ reasoning_content: c.thinking });
        return out;
      }
      case 'tool-plan-delta': {
        const plan = message.tool_plan;
        return typeof plan === 'string' && plan ? this.start() + this.chunk({ reasoning_content: plan }) : '';
      }
      case 'tool-call-start': {
        const call = (message.tool_calls ?? {}) as Json;
        const f = (call.function ?? {}) as Json;
        const index = this.toolIndex.size;
        this.toolIndex.set(typeof j.index === 'number' ? j.index : index, index);
        this.currentTool = index;
        let out = this.start() + this.chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: f.name, arguments: '' } }] });
        if (typeof f.arguments === 'string' && f.arguments) out += this.chunk({ tool_calls: [{ index, function: { arguments: f.arguments } }] });
        return out;
      }
      case 'tool-call-delta': {
        const args = (((message.tool_calls ?? {}) as Json).function as Json | undefined)?.arguments;
        const index = typeof j.index === 'number' ? (this.toolIndex.get(j.index) ?? this.currentTool) : this.currentTool;
        return typeof args === 'string' && args && index >= 0 ? this.chunk({ tool_calls: [{ index, function: { arguments: args } }] }) : '';
      }
      case 'message-end':
        return this.end((j.delta ?? {}) as Json);
      default:
        return '';
    }
  }

  private end(delta: Json): string {
    this.ended = true;
    const usage = usageToOpenAI(delta.usage);
    this.usage = toUsage(usage);
    if (isFailure(delta.finish_reason)) {
      this.errorMessage = typeof delta.error === 'string' && delta.error ? delta.error : `the Cohere answer ended with ${String(delta.finish_reason)}`;
      return '';
    }
    let out = this.start() + this.chunk({}, FINISH[String(delta.finish_reason)] ?? 'stop');
    if (this.wantsUsage) out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage })}\n\n`;
    this.complete = true;
    return out + 'data: [DONE]\n\n';
  }
}
