/**
 * Built-in detectors. Each is a regex (or a loop finding what that regex would) plus a validator run on the match.
 *
 * Every regex has a bounded match length and at most one character of lookbehind and one of
 * lookahead, so `window` (longest match + lookahead) is an exact bound on how far the engine
 * reads from a start position: the streaming masker relies on it to know when a position is final.
 * They are compiled without the `u` flag (ASCII classes only), so any UTF-16 index is a valid start.
 */

export type BuiltinMask = 'email' | 'phone' | 'cn-id' | 'credit-card' | 'api-key';

/**
 * The first match starting at or after `from`, as [start, end); when there is none, undefined or
 * an index before which no match can start whatever text is appended (lets a stream skip ahead).
 */
export type Find = (text: string, from: number) => readonly [number, number] | number | undefined;

export interface Detector {
  readonly name: string;
  /** Characters that decide a match at a start position (match length + lookahead). */
  readonly window: number;
  readonly find: Find;
  /**
   * Every character a match can contain (entries 0-127 ASCII, 128 any other code unit; 1 = yes).
   * A character outside it ends any match, so a stream only holds back the run of these
   * characters at its end, not a whole window.
   */
  readonly alphabet: Uint8Array;
}

/** The first match of a global regex that passes `validate`; a failed one is retried one character on. */
export function regexFind(regex: RegExp, validate?: (m: string) => boolean): Find {
  return (text, from) => {
    regex.lastIndex = from;
    for (let m = regex.exec(text); m; m = regex.exec(text)) {
      if (!validate || validate(m[0])) return [m.index, m.index + m[0].length];
      regex.lastIndex = m.index + 1; // without the u flag any index is a valid start
    }
    return undefined;
  };
}

/** ASCII characters `re` matches, as 1s; entry 128 (every non-ASCII code unit) is 0. */
function charTable(re: RegExp): Uint8Array {
  const t = new Uint8Array(129);
  for (let c = 0; c < 128; c++) t[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return t;
}

// Local part ≤ 64, up to 4 domain labels of ≤ 63 chars each, a 2-24 letter TLD.
export const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;
const EMAIL_WINDOW = 64 + 1 + 4 * 64 + 24 + 1;
const EMAIL_LOCAL = charTable(/[A-Za-z0-9._%+-]/);

/**
 * Same matches as EMAIL searched from `from`, found faster: the lookbehind makes the start of a
 * match the start of the run of local-part characters before an @, so only those are tried
 * (a regex scan tries every word start: 18 µs/KB of prose against ~0 when there is no @).
 */
export function emailFind(): Find {
  const sticky = new RegExp(EMAIL.source, 'y');
  return (text, from) => {
    for (let at = text.indexOf('@', from + 1); at >= 0; at = text.indexOf('@', at + 1)) {
      let start = at;
      const low = Math.max(0, at - 65);
      while (start > low) {
        const c = text.charCodeAt(start - 1);
        if (c >= 128 || !EMAIL_LOCAL[c]) break;
        start--;
      }
      if (start === at || start < from || at - start > 64) continue;
      sticky.lastIndex = start;
      const m = sticky.exec(text);
      if (m) return [start, start + m[0].length];
    }
    return undefined;
  };
}

// Chinese mobile (optionally +86) or + country code followed by digits and common separators.
const PHONE = /(?<![\w+])(?:(?:\+86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}|\+[1-9][\d ().-]{6,22}\d)(?!\w)/g;
const PHONE_WINDOW = 25 + 1;

function validPhone(m: string): boolean {
  if (m[0] !== '+' || m.startsWith('+86')) {
    // The Chinese mobile branch needs no more checks; +86 may also have come through the other branch.
    if (/^(?:\+86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}$/.test(m)) return true;
  }
  const digits = m.replace(/\D/g, '').length;
  if (digits < 8 || digits > 15) return false;
  if (/[ .-]{2}/.test(m)) return false;
  let depth = 0;
  for (const c of m) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

const CN_ID = /(?<!\w)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\w)/g;
const CN_ID_WINDOW = 18 + 1;
const CN_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK = '10X98765432';

export function validCnId(m: string): boolean {
  const y = Number(m.slice(6, 10));
  const mo = Number(m.slice(10, 12));
  const d = Number(m.slice(12, 14));
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (m.charCodeAt(i) - 48) * CN_ID_WEIGHTS[i]!;
  return CN_ID_CHECK[sum % 11] === m[17]!.toUpperCase();
}

// 13-19 digits, each optionally preceded by one space or dash; the match cannot sit inside a longer number.
const CARD = /(?<![\w-])\d(?:[ -]?\d){12,18}(?!\w)/g;
const CARD_WINDOW = 19 + 18 + 1;

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, dbl = false; i >= 0; i--, dbl = !dbl) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 === 0;
}

function validCard(m: string): boolean {
  const digits = m.replace(/[ -]/g, '');
  if (/^(\d)\1*$/.test(digits)) return false; // 0000 0000 0000 0 passes Luhn but is a placeholder
  return luhn(digits);
}

// Whole tokens of [A-Za-z0-9_-], 20-256 chars (as /(?<![\w-])[\w-]{20,256}(?![\w-])/g would find),
// then classified: a known provider shape or a high-entropy token.
export const TOKEN = /(?<![\w-])[A-Za-z0-9_-]{20,256}(?![\w-])/g;
const TOKEN_WINDOW = 256 + 1;
const TOKEN_CHAR = charTable(/[A-Za-z0-9_-]/);

/** A loop over runs of token characters: twenty times faster than the regex on prose. */
export function tokenFind(text: string, from: number): readonly [number, number] | number {
  const n = text.length;
  let i = from;
  if (i > 0 && isTokenChar(text.charCodeAt(i - 1))) while (i < n && isTokenChar(text.charCodeAt(i))) i++; // a match cannot start inside a run
  while (i < n) {
    if (!isTokenChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isTokenChar(text.charCodeAt(j))) j++;
    const len = j - i;
    if (len >= 20 && len <= 256 && validApiKey(text.slice(i, j))) return [i, j];
    // A run that reaches the end is a match when it is a key already (the text may be final: a
    // stream never scans past its held-back tail, so it waits for the run to end); otherwise it
    // may still grow into one, and no match can start before it.
    if (j === n) return i;
    i = j;
  }
  return n;
}

function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN_CHAR[c] === 1;
}

const PROVIDER_KEYS: readonly RegExp[] = [
  /^sk-ant-[A-Za-z0-9_-]{20,}$/, // Anthropic
  /^sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}$/, // OpenAI: a digit required so sk-some-long-slug is not a key
  /^(?:AKIA|ASIA)[0-9A-Z]{16}$/, // AWS access key id
  /^gh[pousr]_[A-Za-z0-9]{36,}$/, // GitHub tokens
  /^github_pat_[A-Za-z0-9_]{22,}$/,
  /^xox[baprs]-[A-Za-z0-9-]{10,}$/, // Slack
  /^AIza[0-9A-Za-z_-]{35}$/, // Google API key
];

/**
 * Generic secrets: at least 32 chars with upper, lower and two digits, and Shannon entropy of at
 * least 0.83 * log2(min(length, 64)) bits/char (4.15 at 32 chars, 4.42 at 40, 4.98 from 64).
 * Random base62 tokens clear it about 98% of the time; long CamelCase identifiers (4.2-4.3) do not.
 */
export const ENTROPY_MIN_LENGTH = 32;
export const entropyThreshold = (length: number): number => 0.83 * Math.log2(Math.min(length, 64));

export function shannonBits(s: string): number {
  const freq = new Map<string, number>();
  for (const c of s) freq.set(c, (freq.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of freq.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function validApiKey(m: string): boolean {
  for (const p of PROVIDER_KEYS) if (p.test(m)) return true;
  return (
    m.length >= ENTROPY_MIN_LENGTH &&
    /[a-z]/.test(m) &&
    /[A-Z]/.test(m) &&
    /\d.*\d/.test(m) &&
    shannonBits(m) >= entropyThreshold(m.length)
  );
}

// What each regex's character classes admit (their union), for Detector.alphabet.
const EMAIL_ALPHABET = charTable(/[A-Za-z0-9._%+@-]/);
const PHONE_ALPHABET = charTable(/[\d+ ().-]/);
const CN_ID_ALPHABET = charTable(/[\dXx]/);
const CARD_ALPHABET = charTable(/[\d -]/);

export function builtinDetector(name: BuiltinMask): Detector {
  // A fresh RegExp per Masker: global regexes carry lastIndex, so two maskers must not share one.
  switch (name) {
    case 'email':
      return { name, window: EMAIL_WINDOW, find: emailFind(), alphabet: EMAIL_ALPHABET };
    case 'phone':
      return { name, window: PHONE_WINDOW, find: regexFind(new RegExp(PHONE), validPhone), alphabet: PHONE_ALPHABET };
    case 'cn-id':
      return { name, window: CN_ID_WINDOW, find: regexFind(new RegExp(CN_ID), validCnId), alphabet: CN_ID_ALPHABET };
    case 'credit-card':
      return { name, window: CARD_WINDOW, find: regexFind(new RegExp(CARD), validCard), alphabet: CARD_ALPHABET };
    case 'api-key':
      return { name, window: TOKEN_WINDOW, find: tokenFind, alphabet: TOKEN_CHAR };
  }
}
