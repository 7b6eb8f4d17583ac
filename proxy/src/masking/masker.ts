import { builtinDetector, regexFind, type BuiltinMask, type Find } from './detectors.ts';
import { analyseRegex } from '@jairouter/crds/mask-regex';

export { customRegexProblem } from '@jairouter/crds/mask-regex';

export interface MaskRuleSpec {
  builtin?: BuiltinMask;
  name?: string;
  regex?: string;
  /** Literal text ($1 and the like are not expanded); default [MASKED:<name>]. */
  replacement?: string;
}

/**
 * A custom regex that can match unbounded text is given this window in streams: a match longer
 * than this that arrives split across deltas may be masked in part or not at all.
 */
export const CUSTOM_STREAM_CAP = 256;

interface Rule {
  readonly name: string;
  readonly find: Find;
  readonly window: number;
  /** Every character a match can read (Detector.alphabet, RegexFacts.alphabet). */
  readonly alphabet: Uint8Array;
  readonly replacement: string;
}

interface ScanResult {
  out: string;
  /** Raw index up to which the text has been consumed. */
  pos: number;
}

/**
 * Masks with every rule at once, left to right: at each step the earliest match wins, then the
 * longest, then the first rule listed. Matching runs on the raw text, so a replacement never feeds
 * another rule and the result does not depend on how a stream was split.
 */
export class Masker {
  /** Characters the regexes may read from a match start (longest match + lookahead). */
  readonly maxMatchLength: number;
  /** Raw characters before a match start that lookbehinds may read. */
  readonly lookbehind: number;
  readonly #rules: readonly Rule[];
  // Per-scan scratch, reused: a Masker is used by one request at a time on one thread.
  readonly #starts: number[];
  readonly #ends: number[];
  readonly #settled: number[];

  constructor(specs: MaskRuleSpec[]) {
    const rules: Rule[] = [];
    let window = 1;
    let lookbehind = 1;
    for (const spec of specs) {
      if (spec.builtin) {
        const d = builtinDetector(spec.builtin);
        rules.push({ name: d.name, find: d.find, window: d.window, alphabet: d.alphabet, replacement: spec.replacement ?? `[MASKED:${d.name}]` });
        window = Math.max(window, d.window);
        continue;
      }
      if (!spec.name || !spec.regex) throw new Error('a mask rule needs builtin, or name and regex');
      const r = analyseRegex(spec.regex);
      if ('problem' in r) throw new Error(`mask rule ${spec.name}: the regex ${r.problem}`);
      const ruleWindow = Math.min(r.facts.window, CUSTOM_STREAM_CAP);
      rules.push({
        name: spec.name,
        find: regexFind(new RegExp(spec.regex, 'gu')),
        window: ruleWindow,
        alphabet: r.facts.alphabet,
        replacement: spec.replacement ?? `[MASKED:${spec.name}]`,
      });
      window = Math.max(window, ruleWindow);
      lookbehind = Math.max(lookbehind, r.facts.lookbehind);
    }
    this.#rules = rules;
    this.maxMatchLength = window;
    this.lookbehind = lookbehind;
    this.#starts = new Array<number>(rules.length).fill(0);
    this.#ends = new Array<number>(rules.length).fill(0);
    this.#settled = new Array<number>(rules.length).fill(0);
  }

  /** Masked text and per-rule counts (never the matched text). */
  mask(text: string): { text: string; counts: Record<string, number> } {
    const counts: Record<string, number> = {};
    const r = this.scan(text, 0, text.length, text.length, counts);
    return r.out === text ? { text, counts } : { text: r.out, counts };
  }

  /**
   * @internal The first start position at or after `from` that more text could still turn into
   * a match (or change one at): for each rule, the later of `length - window + 1` and the start of
   * the run of its alphabet's characters at the end of `text` (a character outside the alphabet
   * ends every match before it). Everything before it is final.
   */
  undecidedFrom(text: string, from: number): number {
    const n = text.length;
    let u = n;
    for (const r of this.#rules) {
      const low = Math.max(from, n - r.window + 1);
      const a = r.alphabet;
      let j = n;
      while (j > low && a[Math.min(text.charCodeAt(j - 1), 128)] === 1) j--;
      if (j < u) u = j;
    }
    return u;
  }

  /** @internal Per-rule search positions for a stream (see `scan`). */
  newSearchState(): number[] {
    return new Array<number>(this.#rules.length).fill(0);
  }

  /**
   * @internal Masks text[pos..] for matches starting at or before `last`, then copies raw text up
   * to `stop` (or to the end of the last match, if that is further).
   *
   * `from`, in a stream, says where each rule may resume searching: a rule that found nothing in
   * the text it could decide last time (up to length - its own window) need not search it again.
   * Without it each 4-character delta would rescan the whole held-back tail with every rule.
   */
  scan(text: string, pos: number, last: number, stop: number, counts: Record<string, number>, from?: number[]): ScanResult {
    const rules = this.#rules;
    const starts = this.#starts;
    const ends = this.#ends;
    starts.fill(-1);
    let out = '';
    let emitted = pos;
    for (;;) {
      let best = -1;
      for (let i = 0; i < rules.length; i++) {
        if (starts[i]! < pos) this.#find(i, text, from ? Math.max(pos, from[i]!) : pos);
        const s = starts[i]!;
        if (s === Infinity) continue;
        if (best < 0 || s < starts[best]! || (s === starts[best]! && ends[i]! > ends[best]!)) best = i;
      }
      if (best < 0 || starts[best]! > last) break;
      const rule = rules[best]!;
      out += text.slice(emitted, starts[best]) + rule.replacement;
      counts[rule.name] = (counts[rule.name] ?? 0) + 1;
      pos = emitted = ends[best]!;
    }
    if (from) {
      // Every rule's candidate is fresh (>= pos) here: the last round refreshed the stale ones.
      for (let i = 0; i < rules.length; i++) {
        const decided = text.length - rules[i]!.window;
        let f = starts[i]! > decided ? Math.max(decided + 1, this.#settled[i]!) : starts[i]!;
        const c = text.charCodeAt(f);
        if (f > 0 && c >= 0xdc00 && c <= 0xdfff) f--; // never resume a `u` regex inside a surrogate pair
        from[i] = f;
      }
    }
    if (emitted === 0 && stop === text.length) return { out: text, pos: stop };
    const end = Math.max(stop, emitted);
    return { out: out + text.slice(emitted, end), pos: end };
  }

  #find(i: number, text: string, from: number): void {
    const m = this.#rules[i]!.find(text, from);
    const found = typeof m === 'object';
    this.#starts[i] = found ? m[0] : Infinity;
    this.#ends[i] = found ? m[1] : 0;
    this.#settled[i] = typeof m === 'number' ? m : 0;
  }
}

/**
 * Streaming: feed text deltas, get back what is safe to emit now. A start position is final once
 * `maxMatchLength` characters follow it, since no regex reads further, or (built-in detectors)
 * once a character outside the detector's alphabet follows it. So what is held back is the run
 * of characters at the end that could still be part of a match (in prose: the last word), never
 * more than `maxMatchLength - 1` characters (one more to keep a surrogate pair whole).
 */
export class StreamMasker {
  /** Matches masked, by rule; `counts` given to the constructor when several streams share one. */
  readonly counts: Record<string, number>;
  readonly #masker: Masker;
  /** Raw text: `#pos` characters already emitted (kept for lookbehinds), then the held-back tail. */
  #buf = '';
  #pos = 0;
  readonly #from: number[];

  constructor(masker: Masker, counts: Record<string, number> = {}) {
    this.#masker = masker;
    this.#from = masker.newSearchState();
    this.counts = counts;
  }

  /** Characters pushed but not yet emitted. */
  get held(): number {
    return this.#buf.length - this.#pos;
  }

  push(delta: string): string {
    this.#buf += delta;
    const buf = this.#buf;
    const last = this.#masker.undecidedFrom(buf, this.#pos) - 1;
    if (last < this.#pos) return ''; // nothing decided yet: #from stays valid as it is
    let stop = last + 1;
    const c = buf.charCodeAt(stop - 1);
    if (c >= 0xd800 && c <= 0xdbff) stop--;
    const r = this.#masker.scan(buf, this.#pos, last, Math.max(stop, this.#pos), this.counts, this.#from);
    const keep = Math.max(0, r.pos - this.#masker.lookbehind);
    for (let i = 0; i < this.#from.length; i++) this.#from[i] = Math.max(0, this.#from[i]! - keep);
    this.#buf = buf.slice(keep);
    this.#pos = r.pos - keep;
    return r.out;
  }

  /** Flushes the held-back tail, masked. */
  end(): string {
    const buf = this.#buf;
    const r = this.#masker.scan(buf, this.#pos, buf.length, buf.length, this.counts);
    this.#buf = '';
    this.#pos = 0;
    this.#from.fill(0); // pushes after end() start a new text
    return r.out;
  }
}
