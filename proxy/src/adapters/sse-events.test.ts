import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseEvents } from './sse-events.ts';

describe('SseEvents', () => {
  it('splits events whatever the chunking, LF or CRLF framed, with names, comments and multi-line data', () => {
    const text = ': keep-alive\n\nevent: a\ndata: {"x":1}\n\nevent: b\r\ndata: line1\r\ndata: line2\r\n\r\ndata:no-space\n\n';
    const want = [{ event: 'a', data: '{"x":1}' }, { event: 'b', data: 'line1\nline2' }, { event: '', data: 'no-space' }];
    for (const size of [1, 3, 7, text.length]) {
      const s = new SseEvents();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(Buffer.from(text.slice(i, i + size))));
      got.push(...s.rest());
      expect(got).toEqual(want);
    }
  });

  it('keeps a character split across chunks whole', () => {
    const bytes = Buffer.from('data: {"t":"héllo — 你好"}\n\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new SseEvents();
      const got = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut)), ...s.rest()];
      expect(got).toEqual([{ event: '', data: '{"t":"héllo — 你好"}' }]);
    }
  });

  it('gives the last event when the stream ends without its blank line', () => {
    const s = new SseEvents();
    expect(s.push('event: x\ndata: 1\n\nevent: y\ndata: 2')).toEqual([{ event: 'x', data: '1' }]);
    expect(s.rest()).toEqual([{ event: 'y', data: '2' }]);
  });

  it('finds what the line-splitting reading finds, for any text in any chunks', () => {
    // The reference: the event stream split into blocks at blank lines and each block into lines,
    // as the straightforward reading does (and this class did before it read in place).
    const block = (b: string): { event: string; data: string } | null => {
      let event = '';
      const data: string[] = [];
      for (const line of b.split(/\r?\n/)) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      return event || data.length > 0 ? { event, data: data.join('\n') } : null;
    };
    const reference = (text: string): { events: Array<{ event: string; data: string }>; rest: string } => {
      const events = [];
      let from = 0;
      for (;;) {
        const lf = text.indexOf('\n\n', from);
        const crlf = text.indexOf('\r\n\r\n', from);
        const [at, len] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf < 0 ? [-1, 0] : [lf, 2];
        if (at < 0) break;
        const ev = block(text.slice(from, at));
        if (ev) events.push(ev);
        from = at + len;
      }
      return { events, rest: text.slice(from) };
    };
    const piece = fc.constantFrom('\n', '\r\n', '\r', ':', ': ', 'data', 'data:', 'data: ', 'event', 'event:', 'event: ', 'id: 1', 'x', ' ', '{"a":1}', 'é', 'datax: y', ':comment');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }).map((xs) => xs.join('')), fc.array(fc.nat(40), { maxLength: 6 }), (text, cuts) => {
        const s = new SseEvents();
        const got = [];
        let prev = 0;
        for (const c of [...new Set(cuts)].filter((c) => c < text.length).sort((a, b) => a - b)) {
          got.push(...s.push(text.slice(prev, c)));
          prev = c;
        }
        got.push(...s.push(text.slice(prev)));
        const want = reference(text);
        expect(got).toEqual(want.events);
        const last = want.rest.trim() ? block(want.rest) : null;
        expect(s.rest()).toEqual(last ? [last] : []);
      }),
      { numRuns: 2000 },
    );
  });
});
