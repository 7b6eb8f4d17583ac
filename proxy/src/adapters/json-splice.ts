/**
 * Edits a JSON request body in place of its bytes: the members the proxy must change (the
 * model name, stream_options) are replaced or inserted, and every other byte is passed on as
 * the client sent it. Re-serialising would change numbers (`12345678901234567890123` becomes
 * `1.2345678901234568e+22`, `1.0000000000000000001` becomes `1`) and costs more.
 */

/** A replacement of bytes [start, end) by `text` (start === end inserts). */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Where a member's value sits in an object, and where the object closes. */
export interface MemberSpan {
  /** The value of the last member named `key` (JSON.parse keeps the last one), or null. */
  value: { start: number; end: number } | null;
  /** Index of the object's closing `}`. */
  close: number;
  /** Whether the object has any member. */
  empty: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/** Index just past the string whose opening quote is at `i`; -1 when unterminated. */
function skipString(buf: Buffer, i: number): number {
  let at = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (q < 0) return -1;
    let slashes = 0;
    for (let k = q - 1; k > i && buf[k] === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    at = q + 1;
  }
}

/** Index just past the value starting at `i` (string, object, array or literal); -1 when malformed. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let k = i; k < buf.length; k++) {
      const d = buf[k]!;
      if (d === QUOTE) {
        k = skipString(buf, k) - 1;
        if (k < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return k + 1;
    }
    return -1;
  }
  let k = i;
  while (k < buf.length) {
    const d = buf[k]!;
    if (d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d)) break;
    k++;
  }
  return k > i ? k : -1;
}

/** Whether the string token [start, end) (quotes included) spells `key` exactly, without escapes. */
function keyIs(buf: Buffer, start: number, end: number, key: string): boolean {
  if (end - start !== key.length + 2) return false;
  for (let k = 0; k < key.length; k++) if (buf[start + 1 + k] !== key.charCodeAt(k)) return false;
  return true;
}

/**
 * Finds member `key` of the object whose `{` is at `open`. Null when the bytes are not a
 * well-formed object (the caller then falls back to re-serialising) or when the key is
 * written with escapes (`"mod\u0065l"`), which a byte comparison cannot see.
 */
export function findMember(buf: Buffer, open: number, key: string): MemberSpan | null {
  if (buf[open] !== 0x7b) return null;
  let value: MemberSpan['value'] = null;
  let i = skipSpace(buf, open + 1);
  if (buf[i] === 0x7d) return { value, close: i, empty: true };
  for (;;) {
    if (buf[i] !== QUOTE) return null;
    const keyEnd = skipString(buf, i);
    if (keyEnd < 0) return null;
    // An escaped key might spell `key`: let the caller take the slow, exact path.
    if (buf.subarray(i, keyEnd).includes(BACKSLASH)) return null;
    const isKey = keyIs(buf, i, keyEnd, key);
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== 0x3a) return null;
    i = skipSpace(buf, i + 1);
    const end = skipValue(buf, i);
    if (end < 0) return null;
    if (isKey) value = { start: i, end };
    i = skipSpace(buf, end);
    if (buf[i] === 0x2c) {
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] === 0x7d) return { value, close: i, empty: false };
    return null;
  }
}

/** `buf` with the edits applied (edits must not overlap). */
export function applyEdits(buf: Buffer, edits: Edit[]): Buffer {
  edits.sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let from = 0;
  for (const e of edits) {
    if (e.start > from) parts.push(buf.subarray(from, e.start));
    parts.push(Buffer.from(e.text, 'utf8'));
    from = e.end;
  }
  if (from < buf.length) parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/**
 * The body with `model` set to `model` (when given) and `stream_options.include_usage` set to
 * true (when `addUsage`), every other byte unchanged; null when the bytes defeat the scan.
 */
export function spliceRequest(raw: Buffer, model: string | null, addUsage: boolean): Buffer | null {
  const open = skipSpace(raw, 0);
  const edits: Edit[] = [];
  const top = findMember(raw, open, 'model');
  if (!top) return null;
  if (model !== null) {
    if (!top.value) return null;
    edits.push({ start: top.value.start, end: top.value.end, text: JSON.stringify(model) });
  }
  if (addUsage) {
    const so = findMember(raw, open, 'stream_options');
    if (!so) return null;
    const v = so.value;
    if (!v) {
      edits.push({ start: so.close, end: so.close, text: (so.empty ? '' : ',') + '"stream_options":{"include_usage":true}' });
    } else if (raw[v.start] !== 0x7b) {
      edits.push({ start: v.start, end: v.end, text: '{"include_usage":true}' });
    } else {
      const inner = findMember(raw, v.start, 'include_usage');
      if (!inner) return null;
      if (inner.value) edits.push({ start: inner.value.start, end: inner.value.end, text: 'true' });
      else edits.push({ start: v.start + 1, end: v.start + 1, text: '"include_usage":true' + (inner.empty ? '' : ',') });
    }
  }
  return applyEdits(raw, edits);
}
