/**
 * Finds the JSON object value of the last `"usage"` key in a buffer without parsing the whole
 * document: responses can be large, usage is small and usually near the end.
 * Returns the parsed object or null.
 */
export function lastObjectValue(buf: Buffer, key: string, from = 0): Record<string, unknown> | null {
  const needle = '"' + key + '"';
  let at = buf.lastIndexOf(needle);
  while (at >= from) {
    let i = at + needle.length;
    while (i < buf.length && isSpace(buf[i]!)) i++;
    if (buf[i] === 0x3a /* : */) {
      i++;
      while (i < buf.length && isSpace(buf[i]!)) i++;
      if (buf[i] === 0x7b /* { */) return objectAt(buf, i);
    }
    if (at === 0) break;
    at = buf.lastIndexOf(needle, at - 1);
  }
  return null;
}

/** The JSON object whose `{` is at `start`, parsed, or null when it is unbalanced or invalid. */
export function objectAt(buf: Buffer, start: number): Record<string, unknown> | null {
  const end = matchBrace(buf, start);
  if (end < 0) return null;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', start, end + 1));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the `}` closing the `{` at `start`, skipping strings; -1 when unbalanced. */
function matchBrace(buf: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x22 /* " */) {
      for (i++; i < buf.length; i++) {
        const d = buf[i]!;
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i;
  }
  return -1;
}
