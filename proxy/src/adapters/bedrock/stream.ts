import type { Usage } from '../types.ts';
import { MIN_MESSAGE, decodeMessage } from './event-stream.ts';
import { finishReason, openAIUsage, usageOf, type CompletionMeta } from './response.ts';

type Json = Record<string, unknown>;

/** One decoded AWS event-stream message: its `:message-type`, `:event-type` (or `:exception-type`) and JSON payload. */
export interface StreamEvent {
  messageType: string;
  type: string;
  payload: Json;
}

/**
 * Splits AWS event-stream bytes into messages. A message may arrive split across network
 * chunks (or several in one): each starts with its total length (4 bytes, big-endian), so
 * bytes are held until a whole message is there; decodeMessage checks both CRCs.
 */
export class EventStreamDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): StreamEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: StreamEvent[] = [];
    while (this.buf.length >= 4) {
      const total = this.buf.readUInt32BE(0);
      if (total < MIN_MESSAGE) throw new Error(`event-stream message length ${total} is too small`);
      if (this.buf.length < total) break;
      const msg = decodeMessage(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
      const h = msg.headers;
      const messageType = h[':message-type'] || 'event';
      let payload: Json = {};
      const text = msg.body.toString('utf8');
      if (text) {
        try {
          payload = JSON.parse(text) as Json;
        } catch {
          payload = { message: text };
        }
      }
      // `error` messages carry their code and text in headers instead of a payload.
      if (messageType === 'error') payload = { message: h[':error-message'] ?? '' };
      out.push({ messageType, type: h[':event-type'] || h[':exception-type'] || h[':error-code'] || '', payload });
    }
    return out;
  }

  /** Bytes of an unfinished message. */
  get pending(): number {
    return this.buf.length;
  }
}

const sse = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;

/**
 * ConverseStream events -> OpenAI chat.completion.chunk events: role first, text, reasoning
 * and tool-call deltas (tool calls indexed in the order they start), the finish reason at
 * messageStop, usage at metadata (sent as the final usage chunk only when the client asked),
 * then [DONE]. An exception message ends the translation: the stream is then incomplete, so
 * the proxy fails over (nothing sent yet) or ends it with an error event.
 */
export class ConverseStreamTranslator {
  usage: Usage | null = null;
  complete = false;
  /** The exception that ended the stream (`throttlingException: ...`), if one did. */
  failure: string | null = null;
  private stopped = false;
  private readonly toolIndex = new Map<number, { index: number; args: boolean }>();
  private tools = 0;
  private readonly meta: CompletionMeta;
  private readonly wantsUsage: boolean;

  constructor(meta: CompletionMeta, wantsUsage: boolean) {
    this.meta = meta;
    this.wantsUsage = wantsUsage;
  }

  private chunk(delta: Json, finish: string | null = null): string {
    const { id, created, model } = this.meta;
    return sse({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  }

  /** The OpenAI events for these Bedrock events ('' when none). */
  translate(events: StreamEvent[]): string {
    let out = '';
    for (const e of events) {
      if (this.failure !== null || this.complete) break;
      if (e.messageType !== 'event') {
        this.failure = `${e.type || 'error'}: ${String(e.payload.message ?? e.payload.Message ?? '')}`;
        break;
      }
      const p = e.payload;
      switch (e.type) {
        case 'messageStart':
          out += this.chunk({ role: 'assistant', content: '' });
          break;
        case 'contentBlockStart': {
          const tu = ((p.start as Json | undefined)?.toolUse ?? undefined) as Json | undefined;
          if (tu) {
            const index = this.tools++;
            this.toolIndex.set(Number(p.contentBlockIndex), { index, args: false });
            out += this.chunk({ tool_calls: [{ index, id: String(tu.toolUseId), type: 'function', function: { name: String(tu.name), arguments: '' } }] });
          }
          break;
        }
        case 'contentBlockDelta': {
          const d = (p.delta ?? {}) as Json;
          if (typeof d.text === 'string') out += this.chunk({ content: d.text });
          const rc = d.reasoningContent as Json | undefined;
          if (typeof rc?.text === 'string') out += this.chunk({ reasoning_content: rc.text });
          const tu = d.toolUse as Json | undefined;
          const tool = this.toolIndex.get(Number(p.contentBlockIndex));
          if (tu && tool && typeof tu.input === 'string' && tu.input) {
            tool.args = true;
            out += this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: tu.input } }] });
          }
          break;
        }
        case 'contentBlockStop': {
          // A tool called without input sent no fragment: its arguments are still valid JSON.
          const tool = this.toolIndex.get(Number(p.contentBlockIndex));
          if (tool && !tool.args) {
            tool.args = true;
            out += this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: '{}' } }] });
          }
          break;
        }
        case 'messageStop':
          this.stopped = true;
          out += this.chunk({}, finishReason(p.stopReason));
          break;
        case 'metadata': {
          const usage = openAIUsage(p.usage as Json | undefined);
          this.usage = usageOf(usage);
          if (this.wantsUsage) {
            const { id, created, model } = this.meta;
            out += sse({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
          }
          out += 'data: [DONE]\n\n';
          this.complete = true;
          break;
        }
        default:
          break;
      }
    }
    return out;
  }

  /** At the end of the upstream stream: a stream that reached messageStop but sent no metadata is complete too. */
  finish(): string {
    if (this.complete || this.failure !== null || !this.stopped) return '';
    this.complete = true;
    return 'data: [DONE]\n\n';
  }
}
