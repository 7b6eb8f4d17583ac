// Tenant.spec.masking.responses for the Responses API: a Response object (JSON answer, and the one
// inside response.completed / incomplete / failed events) and the stream's events. Each text
// field that arrives in deltas (output text, refusal, function call arguments, reasoning text) has
// its own StreamMasker; what one holds back goes out as one more delta event just before that
// field's `.done` event. The `.done` events and the final response repeat the whole text: it is
// masked again there without counting twice. Events are renumbered, as flushes add some.
import { StreamMasker, type Masker } from './masker.ts';
import { isObject, maskField } from './response-anthropic.ts';
import type { EventMasker, MaskText, TextSink } from './response.ts';

type Json = Record<string, unknown>;


/** One output item's text fields, in place: message parts, function call arguments, reasoning. */
function maskItem(item: Json, text: MaskText): boolean {
  let changed = false;
  if (Array.isArray(item.content)) {
    for (const p of item.content) if (isObject(p)) changed = (maskField(p, 'text', text) || maskField(p, 'refusal', text)) || changed;
  }
  if (Array.isArray(item.summary)) for (const p of item.summary) if (isObject(p)) changed = maskField(p, 'text', text) || changed;
  changed = maskField(item, 'arguments', text) || changed;
  return changed;
}

/** A Response object (or an error body), masked in place; whether anything changed. */
export function maskResponseObject(body: Json, text: MaskText): boolean {
  let changed = false;
  if (Array.isArray(body.output)) for (const it of body.output) if (isObject(it)) changed = maskItem(it, text) || changed;
  if (isObject(body.error)) changed = maskField(body.error, 'message', text) || changed;
  return changed;
}

/** Delta events and the `.done` event that closes each (and the field both carry the text in). */
const DELTAS: Record<string, { done: string; doneField: string }> = {
  'response.output_text.delta': { done: 'response.output_text.done', doneField: 'text' },
  'response.refusal.delta': { done: 'response.refusal.done', doneField: 'refusal' },
  'response.function_call_arguments.delta': { done: 'response.function_call_arguments.done', doneField: 'arguments' },
  'response.reasoning_text.delta': { done: 'response.reasoning_text.done', doneField: 'text' },
  'response.reasoning_summary_text.delta': { done: 'response.reasoning_summary_text.done', doneField: 'text' },
};
const DONE: Record<string, { delta: string; field: string }> = Object.fromEntries(Object.entries(DELTAS).map(([delta, d]) => [d.done, { delta, field: d.doneField }]));

interface Field {
  sm: StreamMasker;
  /** The delta event's members besides its type, delta and number (item_id, output_index, ...). */
  where: Json;
  type: string;
}

export class ResponsesEvents implements EventMasker {
  readonly #masker: Masker | null;
  readonly #counts: Record<string, number>;
  readonly #sink: TextSink;
  readonly #fields = new Map<string, Field>();
  /** Masks text already counted (the `.done` events and the final response repeat it). */
  readonly #again: MaskText;
  #seq = 0;

  constructor(masker: Masker | null, counts: Record<string, number>, _text: MaskText, sink: TextSink) {
    this.#masker = masker;
    this.#counts = counts;
    this.#sink = sink;
    this.#again = masker === null ? (s) => s : (s) => masker.mask(s).text;
  }

  event(_name: string | undefined, e: Json): string[] | null {
    const type = typeof e.type === 'string' ? e.type : '';
    let before: string[] = [];
    if (DELTAS[type] !== undefined && typeof e.delta === 'string') {
      if (this.#masker === null) {
        this.#sink?.(e.delta);
        return null;
      }
      e.delta = this.#push(keyOf(e, type), type, e);
    } else if (DONE[type] !== undefined) {
      const tail = this.#end(keyOf(e, DONE[type].delta));
      if (tail !== '') before = [tail];
      maskField(e, DONE[type].field, this.#again);
    } else if (type === 'response.content_part.done' && isObject(e.part)) {
      maskField(e.part, 'text', this.#again);
      maskField(e.part, 'refusal', this.#again);
    } else if (type === 'response.output_item.done' && isObject(e.item)) {
      maskItem(e.item, this.#again);
    } else if ((type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') && isObject(e.response)) {
      const rest = this.flush();
      if (rest !== '') before = [rest];
      maskResponseObject(e.response, this.#again);
    } else if (type === 'error') {
      maskField(e, 'message', this.#again);
    }
    if (this.#masker === null) return null;
    // Renumbered: flushed deltas take numbers of their own.
    if (typeof e.sequence_number === 'number') e.sequence_number = this.#seq++;
    return before;
  }

  flush(): string {
    let out = '';
    for (const key of [...this.#fields.keys()]) out += this.#end(key);
    return out;
  }

  /** The new text of a field, masked as far as it can be yet. */
  #push(key: string, type: string, e: Json): string {
    let f = this.#fields.get(key);
    if (f === undefined) {
      const { type: _t, delta: _d, sequence_number: _s, obfuscation: _o, ...where } = e;
      this.#fields.set(key, (f = { sm: new StreamMasker(this.#masker!, this.#counts), where, type }));
    }
    const out = f.sm.push(e.delta as string);
    this.#sink?.(out);
    return out;
  }

  /** A field's held-back text as one more delta event ('' when none). */
  #end(key: string): string {
    const f = this.#fields.get(key);
    if (f === undefined) return '';
    this.#fields.delete(key);
    const tail = f.sm.end();
    if (tail === '') return '';
    this.#sink?.(tail);
    const data = { type: f.type, sequence_number: this.#seq++, ...f.where, delta: tail };
    return `event: ${f.type}\ndata: ${JSON.stringify(data)}\n\n`;
  }
}

/** A field of the stream: the delta type, its item and content part (or summary part). */
function keyOf(e: Json, deltaType: string): string {
  return `${deltaType}|${String(e.item_id)}|${String(e.content_index ?? e.summary_index ?? '')}`;
}
