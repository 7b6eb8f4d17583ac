import type { Usage } from '../types.ts';
import { finishReason, readParts, toUsage, usageToOpenAI } from './response.ts';

type Json = Record<string, unknown>;

/**
 * Gemini's `streamGenerateContent?alt=sse` as OpenAI chat.completion.chunk events. Each Gemini
 * event is a whole GenerateContentResponse holding the next parts; the last has a finishReason
 * and the final usageMetadata. Gemini has no terminal event: the stream is complete when the
 * connection ends after a finishReason, and only then do the usage chunk (when the client asked)
 * and `[DONE]` follow.
 */
export class GeminiStream {
  usage: Usage | null = null;
  complete = false;
  private pending = '';
  private readonly decoder = new TextDecoder();
  private started = false;
  private calls = 0;
  private finished = false;
  private id: string;
  private model: string;
  private lastUsage: Json | null = null;

  private readonly created: number;
  private readonly wantsUsage: boolean;

  constructor(id: string, model: string, created: number, wantsUsage: boolean) {
    this.id = id;
    this.model = model;
    this.created = created;
    this.wantsUsage = wantsUsage;
  }

  /** Complete OpenAI events for the Gemini events this chunk completed, or null. */
  push(chunk: Buffer): Buffer | null {
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    let out = '';
    let from = 0;
    const sep = /\r?\n\r?\n/g;
    for (let m = sep.exec(text); m; m = sep.exec(text)) {
      out += this.event(text.slice(from, m.index));
      from = m.index + m[0].length;
    }
    this.pending = text.slice(from);
    return out ? Buffer.from(out) : null;
  }

  /** The stream ended (or broke): the last event if it lacked its blank line, then the close after a finishReason. */
  end(): Buffer | null {
    let out = this.event(this.pending + this.decoder.decode());
    this.pending = '';
    if (this.finished && !this.complete) {
      if (this.wantsUsage && this.lastUsage) out += this.sse({ choices: [], usage: this.lastUsage });
      out += 'data: [DONE]\n\n';
      this.complete = true;
    }
    return out ? Buffer.from(out) : null;
  }

  private event(block: string): string {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(l[5] === ' ' ? 6 : 5))
      .join('\n');
    if (!data) return '';
    let r: Json;
    try {
      r = JSON.parse(data) as Json;
    } catch {
      return '';
    }
    // An error inside the stream leaves it incomplete: the proxy ends it with an error event.
    if (r.error) return '';
    let out = '';
    if (!this.started) {
      this.started = true;
      if (typeof r.responseId === 'string') this.id = `chatcmpl-${r.responseId}`;
      if (typeof r.modelVersion === 'string') this.model = r.modelVersion;
      out += this.chunk({ role: 'assistant', content: '' });
    }
    if (r.usageMetadata) {
      this.lastUsage = usageToOpenAI(r.usageMetadata as Json);
      this.usage = toUsage(this.lastUsage);
    }
    const cand = ((r.candidates as Json[] | undefined) ?? [])[0];
    if (!cand) {
      // A prompt blocked before any candidate: Gemini says why in promptFeedback and ends.
      if ((r.promptFeedback as Json | undefined)?.blockReason && !this.finished) {
        this.finished = true;
        out += this.chunk({}, 'content_filter');
      }
      return out;
    }
    const { text, reasoning, toolCalls } = readParts((cand.content as Json | undefined)?.parts, this.calls);
    if (reasoning) out += this.chunk({ reasoning_content: reasoning });
    if (text) out += this.chunk({ content: text });
    for (const c of toolCalls) {
      const index = this.calls++;
      const f = c.function as Json;
      out += this.chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: f.name, arguments: '' } }] });
      out += this.chunk({ tool_calls: [{ index, function: { arguments: f.arguments } }] });
    }
    if (cand.finishReason && !this.finished) {
      this.finished = true;
      out += this.chunk({}, finishReason(cand.finishReason, this.calls > 0));
    }
    return out;
  }

  private chunk(delta: Json, finish: string | null = null): string {
    return this.sse({ choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  }

  private sse(rest: Json): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, ...rest })}\n\n`;
  }
}
