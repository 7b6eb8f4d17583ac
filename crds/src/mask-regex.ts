/**
 * A conservative static check of custom mask regexes (ECMAScript, `u` flag).
 *
 * The regex is parsed into a small tree; a quantifier that may repeat its body (max > 1) is refused
 * when the body (a) is nullable, (b) holds another quantifier with a variable count (max > min), or
 * (c) holds an alternation whose branches can start with the same character. Those are the shapes
 * of exponential backtracking: (a+)+, (a*)*, (a|a)*, (\w+\s?)*, (a|ab)*, (?:a?a)+. It refuses some
 * safe regexes too, e.g. (?:-?\d)+ (write [-\d]+ or -?\d+ instead); it does not refuse polynomial
 * shapes such as \d+\d+x.
 */

const UNBOUNDED = Number.POSITIVE_INFINITY;
/** A stream keeps this many already-emitted characters for lookbehinds. */
export const MAX_LOOKBEHIND = 32;

/** A set of characters: the ASCII ones exactly, everything else as one flag. */
interface CharSet {
  ascii: boolean[];
  other: boolean;
}

type Node =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'assert' } // ^ $ \b \B
  | { kind: 'backref' }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; branches: Node[] }
  | { kind: 'look'; behind: boolean; body: Node }
  | { kind: 'repeat'; body: Node; min: number; max: number };

function emptySet(): CharSet {
  return { ascii: new Array<boolean>(128).fill(false), other: false };
}
function fullSet(): CharSet {
  return { ascii: new Array<boolean>(128).fill(true), other: true };
}
function setOf(pred: (c: number) => boolean, other: boolean): CharSet {
  const s = emptySet();
  for (let c = 0; c < 128; c++) s.ascii[c] = pred(c);
  s.other = other;
  return s;
}
function union(a: CharSet, b: CharSet): CharSet {
  return { ascii: a.ascii.map((x, i) => x || b.ascii[i]!), other: a.other || b.other };
}
function overlaps(a: CharSet, b: CharSet): boolean {
  return a.other && b.other ? true : a.ascii.some((x, i) => x && b.ascii[i]);
}
function negate(a: CharSet): CharSet {
  return { ascii: a.ascii.map((x) => !x), other: true };
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isWord = (c: number) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

function classEscape(ch: string): CharSet | undefined {
  switch (ch) {
    case 'd': return setOf(isDigit, false);
    case 'D': return setOf((c) => !isDigit(c), true);
    case 'w': return setOf(isWord, false);
    case 'W': return setOf((c) => !isWord(c), true);
    case 's': return setOf(isSpace, true);
    case 'S': return setOf((c) => !isSpace(c), true);
    default: return undefined;
  }
}

function single(code: number): CharSet {
  const s = emptySet();
  if (code < 128) s.ascii[code] = true;
  else s.other = true;
  return s;
}

class Parser {
  private i = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) throw new Error(`unexpected ${this.src[this.i]}`);
    return n;
  }

  private alt(): Node {
    const branches = [this.seq()];
    while (this.src[this.i] === '|') {
      this.i++;
      branches.push(this.seq());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return { kind: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, UNBOUNDED];
    else if (c === '+') [min, max] = [1, UNBOUNDED];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return atom;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? UNBOUNDED : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (this.src[this.i] === '?') this.i++; // lazy: same backtracking
    return { kind: 'repeat', body: atom, min, max };
  }

  private atom(): Node {
    const c = this.src[this.i++]!;
    switch (c) {
      case '^':
      case '$':
        return { kind: 'assert' };
      case '.':
        return { kind: 'chars', set: fullSet() };
      case '[':
        return { kind: 'chars', set: this.charClass() };
      case '\\':
        return this.escape();
      case '(': {
        let look: boolean | undefined;
        if (this.src.startsWith('?:', this.i)) this.i += 2;
        else if (this.src.startsWith('?=', this.i) || this.src.startsWith('?!', this.i)) [look, this.i] = [false, this.i + 2];
        else if (this.src.startsWith('?<=', this.i) || this.src.startsWith('?<!', this.i)) [look, this.i] = [true, this.i + 3];
        else if (this.src.startsWith('?<', this.i)) this.i = this.src.indexOf('>', this.i) + 1;
        const body = this.alt();
        this.i++; // ')'
        return look === undefined ? body : { kind: 'look', behind: look, body };
      }
      default:
        return { kind: 'chars', set: single(c.codePointAt(0)!) };
    }
  }

  private escape(): Node {
    const c = this.src[this.i++]!;
    if (c === 'b' || c === 'B') return { kind: 'assert' };
    if (/[1-9]/.test(c) || c === 'k') {
      if (c === 'k') this.i = this.src.indexOf('>', this.i) + 1;
      else while (/\d/.test(this.src[this.i] ?? '')) this.i++;
      return { kind: 'backref' };
    }
    return { kind: 'chars', set: this.escapeSet(c) };
  }

  /** The set of an escape whose first character (after \) has been consumed. */
  private escapeSet(c: string): CharSet {
    const cls = classEscape(c);
    if (cls) return cls;
    if (c === 'p' || c === 'P') {
      this.i = this.src.indexOf('}', this.i) + 1;
      return fullSet();
    }
    if (c === 'u' || c === 'x') {
      const m = /^\{([0-9a-fA-F]+)\}|^([0-9a-fA-F]{4})|^([0-9a-fA-F]{2})/.exec(this.src.slice(this.i));
      if (m) {
        this.i += m[0].length;
        return single(parseInt(m[1] ?? m[2] ?? m[3]!, 16));
      }
    }
    const named: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    return single(named[c] ?? c.codePointAt(0)!);
  }

  private charClass(): CharSet {
    let negated = false;
    if (this.src[this.i] === '^') [negated, this.i] = [true, this.i + 1];
    let set = emptySet();
    while (this.i < this.src.length && this.src[this.i] !== ']') {
      const lo = this.classAtom();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && lo.code !== undefined) {
        this.i++;
        const hi = this.classAtom();
        if (hi.code === undefined) throw new Error('bad range');
        set = union(set, setOf((x) => x >= lo.code! && x <= hi.code!, hi.code >= 128));
      } else set = union(set, lo.set);
    }
    this.i++; // ']'
    return negated ? negate(set) : set;
  }

  private classAtom(): { set: CharSet; code?: number } {
    const c = this.src[this.i++]!;
    if (c !== '\\') {
      const code = c.codePointAt(0)!;
      return { set: single(code), code };
    }
    const e = this.src[this.i++]!;
    const set = e === 'b' ? single(8) : this.escapeSet(e);
    const only = set.other ? undefined : set.ascii.indexOf(true);
    const count = set.ascii.filter(Boolean).length;
    return count === 1 && only !== undefined ? { set, code: only } : { set };
  }
}

function minLen(n: Node): number {
  switch (n.kind) {
    case 'chars': return 1;
    case 'assert':
    case 'backref':
    case 'look': return 0;
    case 'seq': return n.items.reduce((s, x) => s + minLen(x), 0);
    case 'alt': return Math.min(...n.branches.map(minLen));
    case 'repeat': return n.min * minLen(n.body);
  }
}

/** Characters read from a start position: match length plus lookahead; lookbehind is counted apart. */
function maxLen(n: Node): number {
  switch (n.kind) {
    case 'chars': return 1;
    case 'assert': return 1; // \b and $ peek at the next character
    case 'backref': return UNBOUNDED;
    case 'look': return n.behind ? 0 : maxLen(n.body);
    case 'seq': return n.items.reduce((s, x) => s + maxLen(x), 0);
    case 'alt': return Math.max(...n.branches.map(maxLen));
    case 'repeat': {
      const b = maxLen(n.body);
      return b === 0 ? 0 : n.max * b;
    }
  }
}

function lookbehindLen(n: Node): number {
  switch (n.kind) {
    case 'look': return n.behind ? maxLen(n.body) : lookbehindLen(n.body);
    case 'assert': return 1;
    case 'seq': return Math.max(0, ...n.items.map(lookbehindLen));
    case 'alt': return Math.max(0, ...n.branches.map(lookbehindLen));
    case 'repeat': return lookbehindLen(n.body);
    default: return 0;
  }
}

function first(n: Node): CharSet {
  switch (n.kind) {
    case 'chars': return n.set;
    case 'backref': return fullSet();
    case 'assert':
    case 'look': return emptySet();
    case 'alt': return n.branches.map(first).reduce(union, emptySet());
    case 'repeat': return first(n.body);
    case 'seq': {
      let s = emptySet();
      for (const item of n.items) {
        s = union(s, first(item));
        if (minLen(item) > 0) break;
      }
      return s;
    }
  }
}

function some(n: Node, pred: (n: Node) => boolean): boolean {
  if (pred(n)) return true;
  switch (n.kind) {
    case 'seq': return n.items.some((x) => some(x, pred));
    case 'alt': return n.branches.some((x) => some(x, pred));
    case 'look':
    case 'repeat': return some(n.body, pred);
    default: return false;
  }
}

function overlappingAlternation(n: Node): boolean {
  if (n.kind !== 'alt') return false;
  const firsts = n.branches.map(first);
  for (let a = 0; a < firsts.length; a++) {
    for (let b = a + 1; b < firsts.length; b++) if (overlaps(firsts[a]!, firsts[b]!)) return true;
  }
  // A nullable branch overlaps with whatever follows the alternation.
  return n.branches.some((b) => minLen(b) === 0);
}

function catastrophic(root: Node): string | undefined {
  let problem: string | undefined;
  some(root, (n) => {
    if (n.kind !== 'repeat' || n.max <= 1) return false;
    if (minLen(n.body) === 0) problem = 'a repeated group that can match the empty string';
    else if (some(n.body, (m) => m.kind === 'repeat' && m.max > m.min))
      problem = 'a quantifier inside a repeated group (nested quantifiers such as (a+)+ or (\\w+\\s?)*)';
    else if (some(n.body, overlappingAlternation))
      problem = 'a repeated group with alternatives that can start with the same character (such as (a|ab)*)';
    return problem !== undefined;
  });
  return problem;
}

export interface RegexFacts {
  /** Characters read from a match start (match + lookahead); Infinity when unbounded. */
  readonly window: number;
  /** Characters read before a match start. */
  readonly lookbehind: number;
  /**
   * Every character the regex can read from a match start on (consumed or looked ahead at):
   * entries 0-127 for ASCII, entry 128 for every other UTF-16 code unit; 1 = yes. The engine
   * never reads past the first character outside it, so a stream need not hold text back past one.
   */
  readonly alphabet: Uint8Array;
}

function readable(n: Node): CharSet {
  switch (n.kind) {
    case 'chars': return n.set;
    case 'backref': return fullSet();
    case 'assert': return emptySet();
    case 'look': return n.behind ? emptySet() : readable(n.body);
    case 'seq': return n.items.map(readable).reduce(union, emptySet());
    case 'alt': return n.branches.map(readable).reduce(union, emptySet());
    case 'repeat': return readable(n.body);
  }
}

function alphabetOf(set: CharSet): Uint8Array {
  const a = new Uint8Array(129);
  for (let c = 0; c < 128; c++) a[c] = set.ascii[c] ? 1 : 0;
  a[128] = set.other ? 1 : 0;
  return a;
}

/** Why a custom regex is refused, or its facts. */
export function analyseRegex(regex: string): { problem: string } | { facts: RegexFacts } {
  try {
    new RegExp(regex, 'gu');
  } catch (e) {
    return { problem: `does not compile: ${(e as Error).message}` };
  }
  let tree: Node;
  try {
    tree = new Parser(regex).parse();
  } catch (e) {
    return { problem: `cannot be analysed: ${(e as Error).message}` };
  }
  if (minLen(tree) === 0) return { problem: 'can match the empty string' };
  const bad = catastrophic(tree);
  if (bad) return { problem: `may backtrack catastrophically: ${bad}` };
  const lookbehind = lookbehindLen(tree);
  if (lookbehind > MAX_LOOKBEHIND) return { problem: `has a lookbehind that may read more than ${MAX_LOOKBEHIND} characters` };
  return { facts: { window: maxLen(tree), lookbehind, alphabet: alphabetOf(readable(tree)) } };
}

export function customRegexProblem(regex: string): string | undefined {
  const r = analyseRegex(regex);
  return 'problem' in r ? r.problem : undefined;
}
