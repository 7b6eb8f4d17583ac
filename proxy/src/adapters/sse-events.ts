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

  push(chunk: Buffer | string): SseEvent[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    const out: SseEvent[] = [];
    let from = 0;
    for (;;) {
      const m = /\r?\n\r?\n/g;
      m.lastIndex = from;
      const hit = m.exec(text);
      if (!hit) break;
      const ev = parse(text.slice(from, hit.index));
      if (ev) out.push(ev);
      from = hit.index + hit[0].length;
    }
    this.pending = text.slice(from);
    return out;
  }

  /** The last event when the stream ended without its blank line, or none. */
  rest(): SseEvent[] {
    const p = this.pending + this.decoder.decode();
    this.pending = '';
    const ev = p.trim() ? parse(p) : null;
    return ev ? [ev] : [];
  }
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
