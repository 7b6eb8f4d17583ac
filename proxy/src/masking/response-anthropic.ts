import { StreamMasker, type Masker } from './masker.ts';
import type { EventMasker, MaskText, TextSink } from './response.ts';

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every string inside a JSON value (a tool's input), in place; whether anything changed. */
function maskLeaves(v: Json | unknown[], text: MaskText): boolean {
  let changed = false;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (typeof x === 'string') {
      const m = text(x);
      if (m !== x) {
        o[k] = m;
        changed = true;
      }
    } else if (typeof x === 'object' && x !== null) changed = maskLeaves(x as Json, text) || changed;
  }
  return changed;
}

/** Masks one string member in place; whether it changed. */
export function maskField(o: Json, k: string, text: MaskText): boolean {
  const v = o[k];
  if (typeof v !== 'string') return false;
  const m = text(v);
  if (m === v) return false;
  o[k] = m;
  return true;
}

/** A block's citations: the quoted source text is text the client reads. */
function maskCitations(block: Json, text: MaskText): boolean {
  let changed = false;
  if (Array.isArray(block.citations)) for (const c of block.citations) if (isObject(c)) changed = maskField(c, 'cited_text', text) || changed;
  return changed;
}

/**
 * An Anthropic Messages answer body, masked in place: text and thinking blocks, tool_use input,
 * citations, an error's message. Whether anything changed.
 */
export function maskAnthropicMessage(body: Json, text: MaskText): boolean {
  let changed = false;
  if (Array.isArray(body.content)) {
    for (const b of body.content) {
      if (!isObject(b)) continue;
      if (b.type === 'text') {
        changed = maskField(b, 'text', text) || changed;
        changed = maskCitations(b, text) || changed;
      }
      else if (b.type === 'thinking') changed = maskField(b, 'thinking', text) || changed;
      else if (b.type === 'tool_use' && isObject(b.input)) changed = maskLeaves(b.input, text) || changed;
    }
  }
  if (isObject(body.error)) changed = maskField(body.error, 'message', text) || changed;
  return changed;
}

/** The delta type of a block and the field it carries its text in. */
const DELTA_FIELD: Record<string, string> = { text_delta: 'text', input_json_delta: 'partial_json', thinking_delta: 'thinking' };
const BLOCK_DELTA: Record<string, string> = { text: 'text_delta', tool_use: 'input_json_delta', thinking: 'thinking_delta' };

/**
 * Messages streams: each content block's text (text, tool input JSON, thinking) has its own
 * masker; what a block holds back goes out as one more content_block_delta just before its
 * content_block_stop (or before the end when the stream is cut).
 */
export class AnthropicEvents implements EventMasker {
  readonly #masker: Masker | null;
  readonly #counts: Record<string, number>;
  readonly #text: MaskText;
  readonly #sink: TextSink;
  readonly #blocks = new Map<number, { sm: StreamMasker; delta: string }>();

  /** Without a masker the text is only passed to `sink`. */
  constructor(masker: Masker | null, counts: Record<string, number>, text: MaskText, sink: TextSink) {
    this.#masker = masker;
    this.#counts = counts;
    this.#text = text;
    this.#sink = sink;
  }

  event(_name: string | undefined, e: Json): string[] | null {
    const index = typeof e.index === 'number' ? e.index : 0;
    switch (e.type) {
      case 'content_block_start': {
        const b = e.content_block;
        if (!isObject(b)) return null;
        const delta = BLOCK_DELTA[b.type as string];
        if (delta === undefined) return null;
        const field = b.type === 'text' ? 'text' : b.type === 'thinking' ? 'thinking' : undefined;
        if (field !== undefined && typeof b[field] === 'string' && b[field] !== '') {
          return this.#push(index, delta, b, field) ? [] : null;
        }
        if (b.type === 'tool_use' && isObject(b.input) && maskLeaves(b.input, this.#text)) return [];
        return null;
      }
      case 'content_block_delta': {
        const d = e.delta;
        if (!isObject(d)) return null;
        if (d.type === 'citations_delta') return isObject(d.citation) && maskField(d.citation, 'cited_text', this.#text) ? [] : null;
        const field = DELTA_FIELD[d.type as string];
        if (field === undefined || typeof d[field] !== 'string') return null;
        return this.#push(index, d.type as string, d, field) ? [] : null;
      }
      case 'content_block_stop': {
        const tail = this.#end(index);
        return tail === '' ? null : [tail];
      }
      case 'message_delta':
      case 'message_stop': {
        const rest = this.flush();
        return rest === '' ? null : [rest];
      }
      case 'error':
        return isObject(e.error) && maskField(e.error, 'message', this.#text) ? [] : null;
      default:
        return null;
    }
  }

  flush(): string {
    let out = '';
    for (const index of [...this.#blocks.keys()]) out += this.#end(index);
    return out;
  }

  /** Feeds a block's new text to its masker and puts back what may go out now; whether that changed it. */
  #push(index: number, delta: string, o: Json, key: string): boolean {
    const v = o[key] as string;
    if (this.#masker === null) {
      this.#sink?.(v);
      return false;
    }
    let b = this.#blocks.get(index);
    if (b === undefined) this.#blocks.set(index, (b = { sm: new StreamMasker(this.#masker, this.#counts), delta }));
    const out = b.sm.push(v);
    this.#sink?.(out);
    if (out === v) return false;
    o[key] = out;
    return true;
  }

  /** The block's held-back text as a content_block_delta event ('' when none). */
  #end(index: number): string {
    const b = this.#blocks.get(index);
    if (b === undefined) return '';
    this.#blocks.delete(index);
    const tail = b.sm.end();
    if (tail === '') return '';
    this.#sink?.(tail);
    const data = { type: 'content_block_delta', index, delta: { type: b.delta, [DELTA_FIELD[b.delta]!]: tail } };
    return `event: content_block_delta\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
