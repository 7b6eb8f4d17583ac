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
    // The next blank line of each framing at or after `from`, -1 when this text has none left:
    // each is searched again only once passed, so a chunk of many events is scanned once.
    let lf = text.indexOf('\n\n');
    let crlf = text.indexOf('\r\n\r\n');
    for (;;) {
      if (lf >= 0 && lf < from) lf = text.indexOf('\n\n', from);
      if (crlf >= 0 && crlf < from) crlf = text.indexOf('\r\n\r\n', from);
      let at: number;
      let len: number;
      if (crlf >= 0 && (lf < 0 || crlf < lf)) {
        at = crlf;
        len = 4;
      } else if (lf >= 0) {
        at = lf;
        len = 2;
      } else break;
      const ev = parse(text, from, at);
      if (ev) out.push(ev);
      from = at + len;
    }
    this.pending = from === 0 ? text : text.slice(from);
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
    const ev = p.trim() ? parse(p, 0, p.length) : null;
    return ev ? [ev] : [];
  }
}

/**
 * The event in text[start, end): lines end at LF (a CR before it is dropped), `:` starts a
 * comment, `field: value` loses one space after the colon, `data` lines are joined with LF.
 * Read in place: no line array, no regex, a string only for the values kept.
 */
function parse(text: string, start: number, end: number): SseEvent | null {
  let event = '';
  let data: string | null = null;
  for (let i = start; i < end; ) {
    let nl = text.indexOf('\n', i);
    if (nl < 0 || nl > end) nl = end;
    const lineEnd = nl < end && nl > i && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (lineEnd > i && text.charCodeAt(i) !== 58) {
      let colon = text.indexOf(':', i);
      if (colon >= lineEnd) colon = -1;
      const fieldEnd = colon < 0 ? lineEnd : colon;
      let valueStart = colon < 0 ? lineEnd : colon + 1;
      if (valueStart < lineEnd && text.charCodeAt(valueStart) === 32) valueStart++;
      const fieldLen = fieldEnd - i;
      if (fieldLen === 4 && text.startsWith('data', i)) {
        const value = text.slice(valueStart, lineEnd);
        data = data === null ? value : data + '\n' + value;
      } else if (fieldLen === 5 && text.startsWith('event', i)) event = text.slice(valueStart, lineEnd);
    }
    i = nl + 1;
  }
  return event || data !== null ? { event, data: data ?? '' } : null;
}
