import { Masker, StreamMasker } from './masker.ts';

/** Characters of prompt and of answer a content log line keeps (each). */
export const CONTENT_LOG_LIMIT = 4096;

let builtins: Masker | null = null;

/** Every built-in detector: what a content log is masked with when the tenant has no rules for that side. */
function allBuiltins(): Masker {
  return (builtins ??= new Masker([{ builtin: 'email' }, { builtin: 'phone' }, { builtin: 'cn-id' }, { builtin: 'credit-card' }, { builtin: 'api-key' }]));
}

/**
 * Text kept for `--log-content`, masked, up to CONTENT_LOG_LIMIT characters. Text that the
 * tenant's own rules already masked is kept as it is; anything else goes through a StreamMasker
 * with every built-in detector, whose output is final as it comes, so the cut at the limit
 * never leaves part of a match unmasked.
 */
export class ContentCapture {
  text = '';
  truncated = false;
  readonly #masker: StreamMasker | null;
  #ended = false;

  /** `masked`: what is added was already masked by the tenant's rules. */
  constructor(masked: boolean) {
    this.#masker = masked ? null : new StreamMasker(allBuiltins());
  }

  add(s: string): void {
    if (s === '' || this.truncated) return;
    this.#keep(this.#masker ? this.#masker.push(s) : s);
  }

  /** The text, with what the masker still held. */
  end(): string {
    if (!this.#ended && !this.truncated && this.#masker) this.#keep(this.#masker.end());
    this.#ended = true;
    return this.text;
  }

  #keep(out: string): void {
    this.text += out;
    if (this.text.length > CONTENT_LOG_LIMIT) {
      this.text = this.text.slice(0, CONTENT_LOG_LIMIT);
      this.truncated = true;
    }
  }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const p of content) {
    if (typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string') out += (out ? '\n' : '') + (p as { text: string }).text;
  }
  return out;
}

/** The prompt as text: `role: content` per message (tool call arguments included), or the completion prompt / embedding input. */
export function promptText(body: Readonly<Record<string, unknown>>): string {
  const lines: string[] = [];
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as unknown[]) {
      if (typeof m !== 'object' || m === null) continue;
      const msg = m as Record<string, unknown>;
      let line = `${String(msg.role ?? '')}: ${textOf(msg.content)}`;
      if (Array.isArray(msg.tool_calls)) {
        for (const c of msg.tool_calls as unknown[]) {
          const f = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
          if (f) line += ` [call ${String(f.name)}(${typeof f.arguments === 'string' ? f.arguments : ''})]`;
        }
      }
      lines.push(line);
    }
  }
  for (const field of ['prompt', 'input'] as const) {
    const v = body[field];
    if (typeof v === 'string') lines.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') lines.push(x);
  }
  return lines.join('\n');
}

/** The prompt of a request, masked (by the tenant's request rules already, or here) and cut to the limit. */
export function promptCapture(body: Readonly<Record<string, unknown>>, masked: boolean): ContentCapture {
  const c = new ContentCapture(masked);
  const text = promptText(body);
  // In slices, so a huge prompt is masked only as far as the limit needs.
  for (let i = 0; i < text.length && !c.truncated; i += CONTENT_LOG_LIMIT) c.add(text.slice(i, i + CONTENT_LOG_LIMIT));
  c.end();
  return c;
}
