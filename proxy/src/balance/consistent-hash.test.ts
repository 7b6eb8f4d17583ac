import { describe, expect, it } from 'vitest';
import { ConsistentHashBalancer, VNODES_PER_WEIGHT, vnodeCounts } from './consistent-hash.ts';
import { endpoints, input, range } from './test-helpers.ts';
import type { BalanceEndpoint } from './types.ts';

const keys = range(10_000).map((i) => `session-${i}`);

function ring(eps: readonly BalanceEndpoint[]): ConsistentHashBalancer {
  return new ConsistentHashBalancer(eps, Float64Array.from(eps.map((e) => e.weight)));
}

function assign(b: ConsistentHashBalancer, candidates: readonly number[]): number[] {
  return keys.map((k) => b.pick(input(candidates, k)));
}

function shares(assignment: readonly number[], n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const i of assignment) counts[i]!++;
  return counts;
}

describe('ConsistentHash', () => {
  it('maps the same key to the same endpoint, in every replica', () => {
    const a = assign(ring(endpoints([1, 1, 1, 1, 1])), range(5));
    expect(assign(ring(endpoints([1, 1, 1, 1, 1])), range(5))).toEqual(a);
  });

  it('moves exactly the keys of an endpoint that leaves the candidates, and brings them back', () => {
    const b = ring(endpoints([1, 1, 1, 1, 1]));
    const all = range(5);
    const before = assign(b, all);
    for (const gone of all) {
      const after = assign(b, all.filter((i) => i !== gone));
      before.forEach((was, k) => {
        if (was !== gone) expect(after[k]).toBe(was);
        else expect(after[k]).not.toBe(gone);
      });
    }
    expect(assign(b, all)).toEqual(before);
  });

  it('spreads the keys of a leaving endpoint over the others, not onto one neighbour', () => {
    const b = ring(endpoints([1, 1, 1, 1, 1]));
    const before = assign(b, range(5));
    const after = assign(b, [1, 2, 3, 4]);
    const moved = shares(after.filter((_, k) => before[k] === 0), 5);
    for (const i of [1, 2, 3, 4]) expect(moved[i]).toBeGreaterThan(0);
  });

  it('keeps every endpoint within 25% of its fair share (10k keys, 5 endpoints)', () => {
    for (const prefix of ['vllm', 'ollama', 'openai']) {
      const eps = range(5).map((i) => ({ key: `${prefix} http://10.1.0.${i + 10}:8000/v1`, weight: 1, cost: 0 }));
      for (const c of shares(assign(ring(eps), range(5)), 5)) expect(Math.abs(c - 2000)).toBeLessThanOrEqual(500);
    }
  });

  it('moves only the keys that the new endpoint takes when an endpoint is added to the config', () => {
    const four = assign(ring(endpoints([1, 1, 1, 1])), range(4));
    const five = assign(ring(endpoints([1, 1, 1, 1, 1])), range(5));
    let moved = 0;
    five.forEach((now, k) => {
      if (now !== 4) expect(now).toBe(four[k]);
      else moved++;
    });
    expect(moved / keys.length).toBeGreaterThan(0.1);
    expect(moved / keys.length).toBeLessThan(0.3);
  });

  it('respects weights through the number of ring points', () => {
    expect(Array.from(vnodeCounts(Float64Array.from([3, 1, 0, 2])))).toEqual([3, 1, 0, 2].map((w) => w * VNODES_PER_WEIGHT));
    // 300:100 makes the same ring as 3:1.
    expect(Array.from(vnodeCounts(Float64Array.from([300, 100])))).toEqual([480, 160]);
    const s = shares(assign(ring(endpoints([3, 1, 1])), range(3)), 3);
    expect(s[0]! / s[1]!).toBeGreaterThan(2.2);
    expect(s[0]! / s[1]!).toBeLessThan(3.8);
    expect(s[2]! / s[1]!).toBeGreaterThan(0.7);
    expect(s[2]! / s[1]!).toBeLessThan(1.4);
  });

  it('caps the ring size for large weights', () => {
    const counts = vnodeCounts(Float64Array.from(range(200).map((i) => 1000 - i)));
    expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 << 16);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('round-robins requests without a key', () => {
    const b = ring(endpoints([1, 1, 1]));
    expect(range(6).map(() => b.pick(input([0, 1, 2], '')))).toEqual([0, 1, 2, 0, 1, 2]);
  });
});
