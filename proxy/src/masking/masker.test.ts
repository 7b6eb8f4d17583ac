import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMAIL, TOKEN, emailFind, regexFind, tokenFind, validApiKey } from './detectors.ts';
import { CUSTOM_STREAM_CAP, Masker, StreamMasker, customRegexProblem, type MaskRuleSpec } from './masker.ts';

const ALL: MaskRuleSpec[] = [
  { builtin: 'email' },
  { builtin: 'phone' },
  { builtin: 'cn-id' },
  { builtin: 'credit-card' },
  { builtin: 'api-key' },
];
const all = new Masker(ALL);
const masked = (text: string) => all.mask(text).text;

/** A cn-id body of 17 digits completed with its ISO 7064 MOD 11-2 check character. */
function withCheck(body17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body17[i]) * w[i]!;
  return body17 + '10X98765432'[sum % 11];
}

describe('email', () => {
  it.each(['bob@example.com', 'bob.smith+tag@mail.example.co.uk', 'a_b-c%d@sub-domain.example.io'])('masks %s', (e) => {
    expect(masked(`write to ${e}, thanks`)).toBe('write to [MASKED:email], thanks');
  });
  it.each(['bob@localhost', '@example.com', 'user@', 'me at example dot com', 'x@y.c', 'v1.2.3@4'])('leaves %s', (t) => {
    expect(masked(t)).toBe(t);
  });
});

describe('phone', () => {
  it.each(['+1 (555) 123-4567', '+44 20 7946 0958', '+4915123456789', '13800138000', '+86 138 0013 8000', '+8613800138000', '138-0013-8000'])(
    'masks %s',
    (p) => {
      expect(masked(`call ${p} now`)).toBe('call [MASKED:phone] now');
    },
  );
  it.each([
    'in 2024 we shipped 12345 units',
    'room 4021, ext 555-1234',
    'order 12345678901234567890123',
    'ticket 23800138000123', // a Chinese-mobile-like run inside a longer number
    'version +1.2',
    '+1 555', // too few digits
    '+1 234 567 890 123 456 789', // too many digits
  ])('leaves %s', (t) => {
    expect(masked(t)).toBe(t);
  });
});

describe('cn-id', () => {
  const valid = withCheck('11010519491231002');
  it('masks a valid id, X check digit included', () => {
    expect(valid).toBe('11010519491231002X');
    expect(masked(`身份证号${valid}。`)).toBe('身份证号[MASKED:cn-id]。');
    const digitCheck = withCheck('44030419900307123');
    expect(masked(`id ${digitCheck}`)).toBe('id [MASKED:cn-id]');
  });
  it('leaves a wrong check digit, an impossible date, and a longer number', () => {
    expect(masked('id 110105194912310021')).toBe('id 110105194912310021');
    const feb30 = withCheck('11010519490230002');
    expect(masked(`id ${feb30}`)).toBe(`id ${feb30}`);
    expect(masked(`id 9${valid}`)).toBe(`id 9${valid}`);
  });
});

describe('credit-card', () => {
  it.each(['4111 1111 1111 1111', '4111-1111-1111-1111', '5500005555555559', '378282246310005', '6011 0009 9013 9424'])('masks %s', (c) => {
    expect(masked(`card ${c}.`)).toBe('card [MASKED:credit-card].');
  });
  it.each(['4111 1111 1111 1112', 'order 2024061500012345', '0000 0000 0000 0000', '1234 5678', 'uuid 123e4567-e89b-12d3-a456-426614174000'])(
    'leaves %s',
    (t) => {
      expect(masked(t)).toBe(t);
    },
  );
});

describe('api-key', () => {
  it.each([
    'sk-proj-abc123DEF456ghi789JKL0mno',
    'sk-ant-api03-abcdefghijklmnopqrstuv0123',
    'AKIAIOSFODNN7EXAMPLE',
    'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'xoxb-123456789012-abcdefghij',
    'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q',
    'q8Vt2LxN4pRz7KbW1mYc9HdJ3fGs6TaE', // a generic high-entropy token (32 chars)
  ])('masks %s, also where it ends the text', (k) => {
    expect(masked(`key=${k};`)).toBe('key=[MASKED:api-key];');
    expect(masked(`key=${k}`)).toBe('key=[MASKED:api-key]');
    expect(masked(k)).toBe('[MASKED:api-key]');
    const s = new StreamMasker(all);
    expect(s.push(`my key is ${k}`) + s.end()).toBe('my key is [MASKED:api-key]');
  });
  it('a stream waits for a key to end before masking it, even once what it holds is a key already', () => {
    const s = new StreamMasker(all);
    const out = [s.push('use sk-proj-abc123DEF456ghi789JKL0mno'), s.push('pqr789STU'), s.push(' now')];
    expect(out.join('') + s.end()).toBe('use [MASKED:api-key] now');
    expect(s.counts).toEqual({ 'api-key': 1 });
  });
  it.each([
    '3f786850e387550fdab836ed7e6dc881de23001b', // git SHA: hex only, no upper case
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', // sha256
    '123e4567-e89b-12d3-a456-426614174000',
    'ThisIsAVeryLongCamelCaseIdentifier1',
    'AbstractSingletonProxyFactoryBean2024',
    'HTTPServerRequestHandlerV2Implementation',
    'com_example_service_v1_UserServiceClient',
    'sk-learn-is-a-machine-learning-library',
    'supercalifragilisticexpialidocious',
  ])('leaves %s', (t) => {
    expect(masked(`see ${t}.`)).toBe(`see ${t}.`);
  });
});

describe('finders written as loops', () => {
  const piece = fc.constantFrom('@', '.', '-', '_', '+', ' ', 'a', 'Z', '7', 'q8Vt2LxN4pRz', 'example', '.com', 'x'.repeat(60), 'Ab3'.repeat(30), 'é');
  const textArb = fc.array(piece, { maxLength: 60 }).map((xs) => xs.join(''));
  it('find what their regexes find, from any position', () => {
    const email = emailFind();
    const emailRe = regexFind(new RegExp(EMAIL));
    const tokenRe = regexFind(new RegExp(TOKEN), validApiKey);
    fc.assert(
      fc.property(textArb, fc.nat(), (text, n) => {
        const from = text.length === 0 ? 0 : n % text.length;
        expect(email(text, from)).toEqual(emailRe(text, from));
        const token = tokenFind(text, from);
        expect(typeof token === 'number' ? undefined : token).toEqual(tokenRe(text, from));
        if (typeof token === 'number') {
          // The hint: no match starts before it, whatever is appended.
          for (const more of ['', ' ', 'Q7v', 'q8Vt2LxN4pRz7KbW1mYc9HdJ3fGs6TaE ']) {
            const m = tokenRe(text + more, from);
            if (typeof m === 'object') expect(m[0]).toBeGreaterThanOrEqual(token);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('agree at the length limits (local part 64, token 256)', () => {
    const key = 'ghp_' + 'Ab3xY9'.repeat(50); // a provider shape, so entropy does not decide
    const cases: Array<[string, boolean]> = [
      [`${'a'.repeat(64)}@example.com`, true],
      [`${'a'.repeat(65)}@example.com`, false],
      [key.slice(0, 256), true],
      [key.slice(0, 257), false],
    ];
    const email = new Masker([{ builtin: 'email' }]);
    const apiKey = new Masker([{ builtin: 'api-key' }]);
    for (const [text, hit] of cases) {
      const m = text.includes('@') ? email : apiKey;
      expect(m.mask(` ${text} `).text !== ` ${text} `).toBe(hit);
    }
  });
});

describe('Masker', () => {
  it('returns the same string and no counts when nothing matches', () => {
    const text = 'An ordinary sentence, with 42 numbers and no secrets at all.';
    const r = all.mask(text);
    expect(r.text).toBe(text);
    expect(r.counts).toEqual({});
  });

  it('counts per rule and never reports the matched text', () => {
    const r = all.mask('a@b.io c@d.io +14155552671 4111111111111111');
    expect(r.text).toBe('[MASKED:email] [MASKED:email] [MASKED:phone] [MASKED:credit-card]');
    expect(r.counts).toEqual({ email: 2, phone: 1, 'credit-card': 1 });
  });

  it('applies only the configured rules', () => {
    const m = new Masker([{ builtin: 'email' }]);
    expect(m.mask('a@b.io 4111111111111111').text).toBe('[MASKED:email] 4111111111111111');
  });

  it('custom rules: default and given replacement, u flag, literal replacement', () => {
    const m = new Masker([
      { name: 'ticket', regex: 'TICKET-\\d{4,8}' },
      { name: 'emp', regex: 'E\\d{6}', replacement: '<employee $1>' },
      { name: 'greek', regex: '\\p{Script=Greek}{3}' },
    ]);
    const r = m.mask('TICKET-1234 by E123456 in αβγ');
    expect(r.text).toBe('[MASKED:ticket] by <employee $1> in [MASKED:greek]');
    expect(r.counts).toEqual({ ticket: 1, emp: 1, greek: 1 });
  });

  it('the earliest match wins, then the longest, then the rule listed first', () => {
    const m = new Masker([
      { name: 'short', regex: 'abc' },
      { name: 'long', regex: 'abcdef' },
      { name: 'later', regex: 'cdefgh' },
    ]);
    expect(m.mask('xabcdefgh').text).toBe('x[MASKED:long]gh');
    const same = new Masker([{ name: 'one', regex: 'ab' }, { name: 'two', regex: 'ab' }]);
    expect(same.mask('ab').counts).toEqual({ one: 1 });
  });

  it('refuses a rule with a bad regex', () => {
    expect(() => new Masker([{ name: 'bad', regex: '(a+)+' }])).toThrow(/bad.*backtrack/);
  });

  it('maxMatchLength: the widest window of the rules configured', () => {
    expect(new Masker([{ builtin: 'cn-id' }]).maxMatchLength).toBe(19);
    expect(new Masker([{ builtin: 'email' }]).maxMatchLength).toBe(346);
    expect(new Masker([{ name: 'x', regex: 'x\\d{3}' }]).maxMatchLength).toBe(4);
    expect(new Masker([{ name: 'x', regex: 'x\\d+' }]).maxMatchLength).toBe(CUSTOM_STREAM_CAP);
  });
});

describe('customRegexProblem', () => {
  it.each([
    '(a+)+',
    '(a*)*',
    '(a|a)*',
    '(\\w+\\s?)*',
    '(a|ab)*c',
    '(?:a?a)+b',
    '(.*,)+x',
    '(\\d+)*$',
    '(x+x+)+y',
    '^(([a-z])+.)+[A-Z]([a-z])+$',
    '(?:\\w|\\d)+z',
    '(a|b|ab){2,}c',
  ])('refuses %s', (r) => {
    expect(customRegexProblem(r)).toMatch(/backtrack|empty/);
  });
  it.each(['a*', 'x?', '(?:)', '\\b', '(?=a)'])('refuses %s (matches the empty string)', (r) => {
    expect(customRegexProblem(r)).toMatch(/empty/);
  });
  it.each(['(', '[a-', 'a{2,1}', '\\p{Nope}'])('refuses %s (does not compile)', (r) => {
    expect(customRegexProblem(r)).toMatch(/compile/);
  });
  it('refuses a wide lookbehind', () => {
    expect(customRegexProblem('(?<=secret: .*)\\w+')).toMatch(/lookbehind/);
  });
  it.each([
    'TICKET-\\d{4,8}',
    'sk-[A-Za-z0-9]{20,}',
    '(?:\\d{3}-)+\\d{4}',
    '(?:ab|cd)+',
    '[A-Z]{2}\\d{6}',
    '(?<!\\d)\\d{9}(?!\\d)',
    '\\bpassword=\\S+',
    '(?<name>[a-z]+)@corp',
    '[\\]\\-]x',
  ])('accepts %s', (r) => {
    expect(customRegexProblem(r)).toBeUndefined();
  });
});

describe('StreamMasker', () => {
  const fragments = [
    'bob@example.com',
    'x.y+z@mail.example.co.uk',
    '+1 (555) 123-4567',
    '13800138000',
    withCheck('11010519491231002'),
    '110105194912310021',
    '4111 1111 1111 1111',
    '4111 1111 1111 1112',
    'sk-proj-abc123DEF456ghi789JKL0mno',
    'AKIAIOSFODNN7EXAMPLE',
    'q8Vt2LxN4pRz7KbW1mYc9HdJ3fGs6TaE',
    '3f786850e387550fdab836ed7e6dc881de23001b',
    'TICKET-12345',
    'αβγδ',
    '😀',
    'in 2024',
    '123x',
    '#ab,cd',
    'key:abcd',
    'id:1234',
    'é99',
  ];
  const noise = fc.constantFrom(' ', ', ', '\n', '-', '.', '@', '+', 'a', '7', 'word ', '身份证');
  const textArb = fc.array(fc.oneof(fc.constantFrom(...fragments), noise), { maxLength: 80 }).map((xs) => xs.join(''));
  const splitArb = (text: string) =>
    fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }).map((cuts) => {
      const sorted = [...new Set(cuts)].sort((a, b) => a - b);
      const parts: string[] = [];
      let prev = 0;
      for (const c of sorted) {
        parts.push(text.slice(prev, c));
        prev = c;
      }
      parts.push(text.slice(prev));
      return parts;
    });
  /** Small pieces, as LLM token deltas are. */
  const smallPiecesArb = (text: string) =>
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: text.length, maxLength: text.length }).map((sizes) => {
      const parts: string[] = [];
      for (let i = 0, k = 0; i < text.length; i += sizes[k++]!) parts.push(text.slice(i, i + sizes[k]!));
      return parts;
    });
  // Custom rules whose alphabets (what a stream need not hold back past) come from the regex:
  // lookahead, negated class, \b, lookbehind, non-ASCII.
  const custom: MaskRuleSpec[] = [
    { name: 'ticket', regex: 'TICKET-\\d{4,8}' },
    { name: 'greek', regex: '\\p{Script=Greek}{2}' },
    { name: 'ahead', regex: '\\d{3}(?=x)' },
    { name: 'hash', regex: '#[^ ,]{2,6}' },
    { name: 'key', regex: '\\bkey:\\w{4}\\b' },
    { name: 'behind', regex: '(?<=id:)\\d{4}' },
    { name: 'accent', regex: 'é\\d\\d' },
  ];
  const maskers = {
    'every rule (window 346)': new Masker([...ALL, ...custom]),
    'no email (window 257)': new Masker([...ALL.filter((r) => r.builtin !== 'email'), ...custom]),
    'digits only (window 38)': new Masker([{ builtin: 'cn-id' }, { builtin: 'phone' }, { builtin: 'credit-card' }, ...custom]),
  };

  for (const [label, masker] of Object.entries(maskers)) {
    for (const [splitLabel, split] of [['random cuts', splitArb], ['1-4 char deltas', smallPiecesArb]] as const) {
      it(`${label}, ${splitLabel}: outputs concatenated equal mask() of the inputs concatenated`, () => {
        fc.assert(
          fc.property(
            textArb.chain((t) => split(t).map((parts) => [t, parts] as const)),
            ([text, parts]) => {
              const s = new StreamMasker(masker);
              const out = parts.map((p) => s.push(p)).join('') + s.end();
              const whole = masker.mask(text);
              expect(out).toBe(whole.text);
              expect(s.counts).toEqual(whole.counts);
            },
          ),
          { numRuns: 300 },
        );
      });
    }
  }

  it('holds back at most maxMatchLength - 1 characters', () => {
    const m = new Masker([{ builtin: 'cn-id' }, { builtin: 'credit-card' }]);
    const s = new StreamMasker(m);
    let inLen = 0;
    let outLen = 0;
    for (const ch of 'no secrets here, only words and 2024 and more words to stream out') {
      inLen += ch.length;
      outLen += s.push(ch).length;
      expect(inLen - outLen).toBeLessThanOrEqual(m.maxMatchLength - 1);
    }
    expect(outLen + s.end().length).toBe(inLen);
  });

  it('starts afresh after end()', () => {
    const m = new Masker([{ builtin: 'credit-card' }]);
    const s = new StreamMasker(m);
    const long = 'no card here '.repeat(20);
    expect(s.push(long) + s.end()).toBe(long);
    const text = `4111 1111 1111 1111${' '.repeat(60)}`; // at index 0, before where the last text left off
    expect(s.push(text) + s.end()).toBe(m.mask(text).text);
    expect(s.counts).toEqual({ 'credit-card': 1 });
  });

  it('keeps the left context of a match after emitting it', () => {
    const m = new Masker([{ builtin: 'credit-card' }]);
    // The first push makes the position right after "7" the emit boundary; "7" then still rules out the card.
    const text = 'ab7' + '4111111111111111' + ' '.repeat(m.maxMatchLength - 17);
    const s = new StreamMasker(m);
    const first = s.push(text);
    expect(first).toBe('ab7');
    expect(first + s.push('x') + s.end()).toBe(text + 'x');
  });

  it('masks a card split one character per delta', () => {
    const s = new StreamMasker(new Masker([{ builtin: 'credit-card' }]));
    const pad = ' and more words after it, enough to push the card past the holdback';
    const pieces = [...`pay with 4111 1111 1111 1111 today${pad}`].map((c) => s.push(c));
    expect(pieces.join('')).toContain('[MASKED:credit-card]'); // emitted before end()
    expect(pieces.join('') + s.end()).toBe(`pay with [MASKED:credit-card] today${pad}`);
    expect(s.counts).toEqual({ 'credit-card': 1 });
  });
});
