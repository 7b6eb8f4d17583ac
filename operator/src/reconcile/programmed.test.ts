import { describe, expect, it } from 'vitest';
import { ConfigLedger, programmedCondition, stamp, type ProgrammedInput } from './programmed.ts';

const KEY = 'ModelRoute/ai/chat';

function input(over: Partial<ProgrammedInput>): ProgrammedInput {
  const ledger = new ConfigLedger();
  ledger.record('v1', new Map([[KEY, stamp('u', 1)]]));
  ledger.record('v2', new Map([[KEY, stamp('u', 2)]]));
  return { key: KEY, stamp: stamp('u', 2), generation: 2, accepted: true, inConfig: true, served: new Map(), ledger, ...over };
}

describe('programmedCondition', () => {
  it('is False NoProxies with no proxy connected (documented choice: not Unknown)', () => {
    expect(programmedCondition(input({}))).toMatchObject({ status: 'False', reason: 'NoProxies', observedGeneration: 2 });
  });

  it('is True only when every connected proxy serves a version holding this generation', () => {
    expect(programmedCondition(input({ served: new Map([['p1', 'v2']]) }))).toMatchObject({ status: 'True', reason: 'Programmed' });
    const pending = programmedCondition(input({ served: new Map([['p1', 'v2'], ['p2', 'v1']]) }));
    expect(pending).toMatchObject({ status: 'False', reason: 'Pending' });
    expect(pending.message).toContain('1 of 2');
    expect(programmedCondition(input({ served: new Map([['p1', 'unknown-version']]) }))).toMatchObject({ status: 'False', reason: 'Pending' });
  });

  it('a re-created object (new uid, same generation) is not programmed by the old version', () => {
    expect(programmedCondition(input({ stamp: stamp('other-uid', 2), served: new Map([['p1', 'v2']]) })).status).toBe('False');
  });

  it('objects left out of the config say why', () => {
    expect(programmedCondition(input({ accepted: false, served: new Map([['p1', 'v2']]) })).reason).toBe('NotAccepted');
    expect(programmedCondition(input({ inConfig: false, served: new Map([['p1', 'v2']]) })).reason).toBe('NotInConfig');
  });
});

describe('ConfigLedger', () => {
  it('forgets the oldest versions beyond its size; re-recording refreshes a version', () => {
    const ledger = new ConfigLedger(2);
    ledger.record('a', new Map([[KEY, 'x']]));
    ledger.record('b', new Map([[KEY, 'x']]));
    ledger.record('a', new Map([[KEY, 'x']]));
    ledger.record('c', new Map([[KEY, 'x']]));
    expect(ledger.size).toBe(2);
    expect(ledger.contains('a', KEY, 'x')).toBe(true);
    expect(ledger.contains('b', KEY, 'x')).toBe(false);
    expect(ledger.contains('c', KEY, 'x')).toBe(true);
  });
});
