/** One server-sent event: its `event:` name ('' when unnamed) and its `data:` lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Splits a provider's event stream into events as chunks arrive (a partial event is held until
 * its blank line), for translators that must read each event. The OpenAI pass-through does not
 * use it: it relays bytes (openai-sse-relay.ts).
 */
export class SseEvents {
  private pending = '';
  // A character split across two chunks is decoded once both halves arrived.
  private readonly decoder = new TextDecoder();
  private splitting = false;

  push(chunk: Buffer | string): SseEvent[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decode(chunk));
    const out: SseEvent[] = [];
    let from = 0;
    for (;;) {
      const [at, len] = boundary(text, from);
      if (at < 0) break;
      const ev = parse(text.slice(from, at));
      if (ev) out.push(ev);
      from = at + len;
    }
    this.pending = text.slice(from);
    return out;
  }

  /** Chunks that end on an ASCII byte (nearly all) decode directly; the stream decoder holds a split character. */
  private decode(chunk: Buffer): string {
    const asciiEnd = chunk.length === 0 || chunk[chunk.length - 1]! < 0x80;
    if (!this.splitting && asciiEnd) return chunk.toString('utf8');
    this.splitting = !asciiEnd;
    return this.decoder.decode(chunk, { stream: true });
  }

  /** The last event when the stream ended without its blank line, or none. */
  rest(): SseEvent[] {
    const p = this.pending + this.decoder.decode();
    this.pending = '';
    const ev = p.trim() ? parse(p) : null;
    return ev ? [ev] : [];
  }
}

/** The first blank line at or after `from` (LF or CRLF framing): its index and length, or -1. */
function boundary(text: string, from: number): [number, number] {
  const lf = text.indexOf('\n\n', from);
  const crlf = text.indexOf('\r\n\r\n', from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [crlf, 4];
  return lf < 0 ? [-1, 0] : [lf, 2];
}

function parse(block: string): SseEvent | null {
  let event = '';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return event || data.length > 0 ? { event, data: data.join('\n') } : null;
}
