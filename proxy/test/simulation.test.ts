// Issue 13's proof, at a size for every test run (`make sim` runs the large one): under the same
// offered load, LoadAware gives a lower p99 time to first token than LeastConnections and
// RoundRobin, a prefix-cache hit ratio close to the ideal, and, where its view of the load is
// exact (one gateway replica), no pick over the bounded load. Virtual time: deterministic.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, simulate, type SimOptions, type SimStrategy } from './simulation/simulate.ts';

const SMALL: Omit<SimOptions, 'strategy'> = { ...DEFAULTS, requests: 2000 };
const run = (strategy: SimStrategy, o: Partial<SimOptions> = {}) => simulate({ ...SMALL, ...o, strategy });

describe('routing simulation: 4 fake vLLM engines behind 3 gateway replicas, 24 system prompts, 14 requests/s', () => {
  const rr = run('RoundRobin');
  const lc = run('LeastConnections');
  const la = run('LoadAware');

  it('LoadAware has the lowest p99 time to first token, by a clear margin', () => {
    expect(la.ttftP99Ms).toBeLessThan(0.8 * lc.ttftP99Ms);
    expect(la.ttftP99Ms).toBeLessThan(0.8 * rr.ttftP99Ms);
    expect(la.ttftP50Ms).toBeLessThanOrEqual(lc.ttftP50Ms);
  });

  it('its prefix-cache hit ratio is close to the ideal, well above what the others reach', () => {
    expect(la.hitRatio).toBeGreaterThan(la.idealHitRatio - 0.08);
    expect(la.hitRatio).toBeGreaterThan(lc.hitRatio + 0.1);
    expect(la.hitRatio).toBeGreaterThan(rr.hitRatio + 0.1);
  });

  it('with one gateway replica (its view of the load exact), no pick leaves an engine over the bounded load', () => {
    const one = run('LoadAware', { proxies: 1 });
    expect(one.overBound).toBe(0);
    expect(one.ttftP99Ms).toBeLessThan(run('LeastConnections', { proxies: 1 }).ttftP99Ms);
  });

  it('is deterministic: the same seed gives the same numbers', () => {
    expect(run('LoadAware')).toEqual(la);
  });
});
