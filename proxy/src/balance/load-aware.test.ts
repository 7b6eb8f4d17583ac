import { describe, expect, it } from 'vitest';
import type { EngineSignals } from '../engine/signals.ts';
import { LoadAwareBalancer, type LoadAwareSettings } from './load-aware.ts';
import { endpoints as plain, range } from './test-helpers.ts';
import type { BalanceEndpoint } from './types.ts';

const NOW = 10_000;
const signals = (o: Partial<EngineSignals>): EngineSignals => ({
  at: NOW, waiting: 0, running: 0, kvUsage: 0, prefixHitRatio: NaN, prefixQueries: NaN, prefixHits: NaN, loras: new Set(), inflightAtRead: 0, ...o,
});
const SETTINGS: LoadAwareSettings = { weights: { queue: 1, running: 0.25, kvCache: 4, latency: 1 }, staleAfterMs: 6000 };

function setup(n: number, settings: LoadAwareSettings = SETTINGS) {
  const views = range(n).map(() => ({ engine: null as EngineSignals | null }));
  const eps: BalanceEndpoint[] = plain(new Array(n).fill(1)).map((e, i) => ({ ...e, view: views[i]! }));
  const b = new LoadAwareBalancer(eps, new Float64Array(n).fill(1), settings, () => NOW);
  const inflight = new Int32Array(n);
  const pick = (hashValue = '', model?: string) => b.pick({ candidates: range(n), hashValue, inflight, model });
  return { b, views, inflight, pick };
}

describe('LoadAware scores', () => {
  it('weights.queue: the endpoint whose engine reports waiting requests gets none while another has room', () => {
    const { views, pick } = setup(3);
    views[0]!.engine = signals({ waiting: 4, running: 8 });
    views[1]!.engine = signals({ waiting: 0, running: 8 });
    views[2]!.engine = signals({ waiting: 1, running: 8 });
    for (let k = 0; k < 20; k++) expect(pick()).toBe(1);
  });

  it('requests sent since the engine\'s reading count as waiting: an idle pair shares the traffic until the next reading', () => {
    const { views, inflight, pick } = setup(2);
    views[0]!.engine = signals({});
    views[1]!.engine = signals({});
    const counts = [0, 0];
    for (let k = 0; k < 10; k++) {
      const i = pick();
      counts[i]!++;
      inflight[i]!++;
    }
    expect(counts).toEqual([5, 5]);
  });

  it('with other gateway replicas, what this one sent since the reading counts once per replica (they send alike)', () => {
    const { views, inflight, pick } = setup(2, { ...SETTINGS, replicas: () => 3 });
    // Endpoint 0: idle at the reading, 2 sent since (so about 6 from all replicas); endpoint 1: 7 waiting.
    views[0]!.engine = signals({});
    inflight[0] = 2;
    views[1]!.engine = signals({ waiting: 7 });
    expect(pick()).toBe(0);
    inflight[0] = 3;
    expect(pick()).toBe(1);
  });

  it('weights.running and weights.kvCache: fewer running, then a cooler cache, win', () => {
    const { views, pick } = setup(2);
    views[0]!.engine = signals({ running: 8 });
    views[1]!.engine = signals({ running: 4 });
    expect(pick()).toBe(1);
    views[1]!.engine = signals({ running: 4, kvUsage: 0.9 });
    // 0.25*8 = 2 against 0.25*4 + 4*0.9 = 4.6
    expect(pick()).toBe(0);
  });

  it('weights.latency: with equal load, the endpoint answering faster wins', () => {
    const { b, views, pick } = setup(2);
    views[0]!.engine = signals({ running: 2 });
    views[1]!.engine = signals({ running: 2 });
    for (let k = 0; k < 5; k++) {
      b.observe(0, 400, true);
      b.observe(1, 100, true);
    }
    for (let k = 0; k < 5; k++) expect(pick()).toBe(1);
  });

  it('a stale or missing reading: the endpoint is scored by its in-flight count (as running)', () => {
    const { views, inflight, pick } = setup(2);
    views[0]!.engine = signals({ at: NOW - 7000, waiting: 0, running: 0 });
    inflight[0] = 6;
    views[1]!.engine = null;
    inflight[1] = 2;
    expect(pick()).toBe(1);
  });

  it('LoRA: engines running the requested adapter are preferred, even when busier', () => {
    const { views, pick } = setup(3);
    views[0]!.engine = signals({ running: 1 });
    views[1]!.engine = signals({ running: 6, loras: new Set(['sql-lora']) });
    views[2]!.engine = signals({ running: 2 });
    expect(pick('', 'sql-lora')).toBe(1);
    expect(pick('', 'other')).toBe(0);
    expect(pick('', undefined)).toBe(0);
  });
});

describe('LoadAware prefix affinity (consistent hashing with bounded loads)', () => {
  const WITH_PREFIX: LoadAwareSettings = { ...SETTINGS, prefixAffinity: { epsilon: 0.25 } };

  it('one prefix goes to one endpoint while its load is within the bound; other prefixes spread over the ring', () => {
    const { pick } = setup(4, WITH_PREFIX);
    const home = pick('system: you are a SQL assistant');
    for (let k = 0; k < 10; k++) expect(pick('system: you are a SQL assistant')).toBe(home);
    const homes = new Set(range(40).map((k) => pick(`prefix ${k}`)));
    expect(homes.size).toBe(4);
  });

  it('an endpoint over (1+epsilon) times the average load passes the key on, so affinity makes no hot spot', () => {
    const { views, inflight, pick } = setup(4, WITH_PREFIX);
    for (const v of views) v.engine = signals({});
    const key = 'a long shared system prompt';
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 40; k++) {
      const i = pick(key);
      counts[i]!++;
      inflight[i]!++;
      // Every endpoint stays within ceil(1.25 * total / 4) of what this replica sent.
      const total = inflight.reduce((a, x) => a + x, 0);
      expect(Math.max(...inflight)).toBeLessThanOrEqual(Math.ceil((1.25 * total) / 4));
    }
    expect(Math.max(...counts)).toBeLessThanOrEqual(13);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('without a key (a short prompt) the score decides', () => {
    const { views, pick } = setup(2, WITH_PREFIX);
    views[0]!.engine = signals({ waiting: 3 });
    views[1]!.engine = signals({ waiting: 0 });
    expect(pick('')).toBe(1);
  });
});
