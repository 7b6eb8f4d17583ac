import { StreamMasker, type Masker } from './masker.ts';
import type { EventMasker, MaskText, TextSink } from './response.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text fields of a chat message (and of a streamed delta) a client reads. */
const MESSAGE_TEXT = ['content', 'reasoning_content', 'reasoning', 'refusal'] as const;

/**
 * An OpenAI answer body, masked in place: chat messages (content, reasoning, refusal, tool call
 * arguments), completion texts, an error's message. Whether anything changed.
 */
export function maskOpenAIBody(body: Json, text: MaskText): boolean {
  let changed = false;
  const set = (o: Json, k: string): void => {
    const v = o[k];
    if (typeof v !== 'string') return;
    const m = text(v);
    if (m !== v) {
      o[k] = m;
      changed = true;
    }
  };
  if (Array.isArray(body.choices)) {
    for (const c of body.choices) {
      if (!isObject(c)) continue;
      set(c, 'text');
      const msg = c.message;
      if (!isObject(msg)) continue;
      for (const f of MESSAGE_TEXT) set(msg, f);
      if (Array.isArray(msg.content)) for (const p of msg.content) if (isObject(p)) set(p, 'text');
      if (Array.isArray(msg.tool_calls)) {
        for (const t of msg.tool_calls) if (isObject(t) && isObject(t.function)) set(t.function, 'arguments');
      }
    }
  }
  // A transcription or translation (json, verbose_json): the text and its segments.
  set(body, 'text');
  if (Array.isArray(body.segments)) for (const seg of body.segments) if (isObject(seg)) set(seg, 'text');
  // A rerank answer echoes its documents (`return_documents`, and vLLM always).
  if (Array.isArray(body.results)) {
    for (const r of body.results) {
      if (!isObject(r)) continue;
      if (typeof r.document === 'string') set(r, 'document');
      else if (isObject(r.document)) set(r.document, 'text');
    }
  }
  // An image generation answer: the prompt as the model rewrote it (DALL-E 3).
  if (Array.isArray(body.data)) for (const d of body.data) if (isObject(d)) set(d, 'revised_prompt');
  if (isObject(body.error)) set(body.error, 'message');
  return changed;
}

/** Held-back text of one choice, by field: `text`, a MESSAGE_TEXT name, or `tool:<index>`. */
type ChoiceFields = Map<string, StreamMasker>;

/**
 * `chat.completion.chunk` and `text_completion` streams. Text is released as the choice's
 * maskers allow; a choice's held-back text goes out in the chunk that carries its
 * finish_reason (before it, in the same delta), or in a chunk of its own before `[DONE]` when
 * the stream ends without one. A streamed transcription (`transcript.text.delta` events) is
 * masked the same way: its held-back text goes out as one more delta just before
 * `transcript.text.done`, whose whole text is masked again (counted once).
 */
export class OpenAIChunks implements EventMasker {
  readonly #masker: Masker | null;
  readonly #counts: Record<string, number>;
  readonly #text: MaskText;
  readonly #sink: TextSink;
  readonly #choices = new Map<number, ChoiceFields>();
  /** id, object, created and model of the last chunk, for a chunk of flushed text. */
  #frame: Json = { object: 'chat.completion.chunk' };

  /** Without a masker the text is only passed to `sink`. */
  constructor(masker: Masker | null, counts: Record<string, number>, text: MaskText, sink: TextSink) {
    this.#masker = masker;
    this.#counts = counts;
    this.#text = text;
    this.#sink = sink;
  }

  event(_name: string | undefined, chunk: Json): string[] | null {
    if (chunk.type === 'transcript.text.delta' && typeof chunk.delta === 'string') return this.#push(-1, 'transcript', chunk, 'delta') ? [] : null;
    if (chunk.type === 'transcript.text.done') {
      const tail = this.#transcriptTail();
      if (this.#masker === null || typeof chunk.text !== 'string') return tail === '' ? null : [tail];
      chunk.text = this.#masker.mask(chunk.text).text;
      return tail === '' ? [] : [tail];
    }
    if (!Array.isArray(chunk.choices)) {
      // An error event in the stream.
      if (!isObject(chunk.error) || typeof chunk.error.message !== 'string') return null;
      const m = this.#text(chunk.error.message);
      if (m === chunk.error.message) return null;
      chunk.error.message = m;
      return [];
    }
    this.#frame = { id: chunk.id, object: chunk.object, created: chunk.created, model: chunk.model };
    let changed = false;
    for (const c of chunk.choices) {
      if (!isObject(c)) continue;
      const index = typeof c.index === 'number' ? c.index : 0;
      if (typeof c.text === 'string') changed = this.#push(index, 'text', c, 'text') || changed;
      const d = c.delta;
      if (isObject(d)) {
        for (const f of MESSAGE_TEXT) if (typeof d[f] === 'string') changed = this.#push(index, f, d, f) || changed;
        if (Array.isArray(d.tool_calls)) {
          for (const t of d.tool_calls) {
            if (isObject(t) && isObject(t.function) && typeof t.function.arguments === 'string') {
              changed = this.#push(index, `tool:${typeof t.index === 'number' ? t.index : 0}`, t.function, 'arguments') || changed;
            }
          }
        }
      }
      if (c.finish_reason !== null && c.finish_reason !== undefined) changed = this.#finish(index, c) || changed;
    }
    return changed ? [] : null;
  }

  flush(): string {
    let out = this.#transcriptTail();
    for (const index of [...this.#choices.keys()]) {
      if (index < 0) continue;
      const c: Json = { index, finish_reason: null };
      if (this.#frame.object !== 'text_completion') c.delta = {};
      if (this.#finish(index, c)) out += `data: ${JSON.stringify({ ...this.#frame, choices: [c] })}\n\n`;
    }
    return out;
  }

  /** The transcription's held-back text as one more delta event ('' when none). */
  #transcriptTail(): string {
    const fields = this.#choices.get(-1);
    this.#choices.delete(-1);
    const tail = fields?.get('transcript')?.end() ?? '';
    if (tail === '') return '';
    this.#sink?.(tail);
    return `data: ${JSON.stringify({ type: 'transcript.text.delta', delta: tail })}\n\n`;
  }

  /** Feeds a field's new text to its masker and puts back what may go out now (index -1: a transcription). */
  #push(index: number, field: string, o: Json, key: string): boolean {
    if (this.#masker === null) {
      this.#sink?.(o[key] as string);
      return false;
    }
    let fields = this.#choices.get(index);
    if (fields === undefined) this.#choices.set(index, (fields = new Map()));
    let sm = fields.get(field);
    if (sm === undefined) fields.set(field, (sm = new StreamMasker(this.#masker, this.#counts)));
    const v = o[key] as string;
    const out = sm.push(v);
    this.#sink?.(out);
    if (out === v) return false;
    o[key] = out;
    return true;
  }

  /** Appends every held-back text of the choice to choice `c` (its delta, or `text`). */
  #finish(index: number, c: Json): boolean {
    const fields = this.#choices.get(index);
    if (fields === undefined) return false;
    this.#choices.delete(index);
    let changed = false;
    for (const [field, sm] of fields) {
      const tail = sm.end();
      if (tail === '') continue;
      this.#sink?.(tail);
      changed = true;
      if (field === 'text') {
        c.text = (typeof c.text === 'string' ? c.text : '') + tail;
        continue;
      }
      const d = isObject(c.delta) ? c.delta : (c.delta = {});
      if (!field.startsWith('tool:')) {
        d[field] = (typeof d[field] === 'string' ? d[field] : '') + tail;
        continue;
      }
      const k = Number(field.slice(5));
      const calls = Array.isArray(d.tool_calls) ? (d.tool_calls as Json[]) : (d.tool_calls = []);
      const call = calls.find((t) => isObject(t) && t.index === k);
      if (call && isObject(call.function)) call.function.arguments = (typeof call.function.arguments === 'string' ? call.function.arguments : '') + tail;
      else calls.push({ index: k, function: { arguments: tail } });
    }
    return changed;
  }
}
