import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FailureStreaks } from './log-streak.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('FailureStreaks', () => {
  it('warns once per streak, repeats at debug, warns again after repeatMs with the count, and says when it recovered', () => {
    const { log, lines } = capture();
    let now = 1_000;
    const s = new FailureStreaks(log, { repeatMs: 60_000, now: () => now });
    for (let i = 0; i < 30; i++) {
      s.failed('lease', 'lease request failed', { err: 'connect ECONNREFUSED' });
      now += 1_000;
    }
    const warns = () => lines.filter((l) => l['level'] === 40);
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toMatchObject({ msg: 'lease request failed', err: 'connect ECONNREFUSED' });
    expect(lines.filter((l) => l['level'] === 20)).toHaveLength(29);
    // A minute into the streak: one more warning, with how many and how long.
    for (let i = 0; i < 31; i++) {
      s.failed('lease', 'lease request failed', { err: 'connect ECONNREFUSED' });
      now += 1_000;
    }
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toMatchObject({ failures: 61, failingForMs: 60_000 });
    // Another key has its own streak.
    s.failed('watch tenants', 'watch failed', {});
    expect(warns()).toHaveLength(3);
    s.recovered('lease', 'lease requests answered again');
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'lease requests answered again', failures: 61, failedForMs: 61_000 });
    // Recovered without a streak: nothing; a new failure starts a new streak with a warning.
    s.recovered('lease', 'lease requests answered again');
    expect(lines.at(-1)!['msg']).toBe('lease requests answered again');
    const before = lines.length;
    s.recovered('lease', 'x');
    expect(lines).toHaveLength(before);
    s.failed('lease', 'lease request failed', {});
    expect(warns()).toHaveLength(4);
  });
});
