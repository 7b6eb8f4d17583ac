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
});
