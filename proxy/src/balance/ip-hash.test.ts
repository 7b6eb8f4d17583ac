import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBalancer } from './index.ts';
import { IPHashBalancer } from './ip-hash.ts';
import { endpoints, input, mulberry32, range, tally } from './test-helpers.ts';

const ones = (n: number) => new Float64Array(n).fill(1);
const ips = range(10_000).map((i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

describe('IPHash', () => {
  it('sends the same client to the same endpoint while the candidates are unchanged, in every replica', () => {
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (clients, n, seed) => {
        // Two replicas that started differently (rng) must still agree.
        const a = createBalancer('IPHash', endpoints(range(n).map(() => 1)), mulberry32(seed));
        const b = createBalancer('IPHash', endpoints(range(n).map(() => 1)), mulberry32(seed + 1));
        const all = range(n);
        const first = clients.map((ip) => a.pick(input(all, ip)));
        for (const _ of range(3)) expect(clients.map((ip) => a.pick(input(all, ip)))).toEqual(first);
        expect(clients.map((ip) => b.pick(input(all, ip)))).toEqual(first);
      }),
    );
  });

  it('moves only the clients of an endpoint that leaves the candidates', () => {
    const b = new IPHashBalancer(ones(5));
    const all = range(5);
    const before = ips.map((ip) => b.pick(input(all, ip)));
    for (const gone of all) {
      const rest = all.filter((i) => i !== gone);
      ips.forEach((ip, k) => {
        const after = b.pick(input(rest, ip));
        if (before[k] !== gone) expect(after).toBe(before[k]);
        else expect(after).not.toBe(gone);
      });
    }
  });

  it('spreads clients evenly', () => {
    const b = new IPHashBalancer(ones(4));
    let k = 0;
    for (const c of tally(() => b.pick(input([0, 1, 2, 3], ips[k++]!)), 4, ips.length)) {
      expect(Math.abs(c - 2500)).toBeLessThan(2500 * 0.1);
    }
  });

  it('still answers when most endpoints are out', () => {
    const b = new IPHashBalancer(ones(50));
    for (const ip of ips.slice(0, 500)) expect(b.pick(input([17], ip))).toBe(17);
    for (const ip of ips.slice(0, 500)) expect([3, 40]).toContain(b.pick(input([3, 40], ip)));
  });

  it('round-robins requests without a client address', () => {
    const b = new IPHashBalancer(ones(3));
    expect(range(6).map(() => b.pick(input([0, 1, 2], '')))).toEqual([0, 1, 2, 0, 1, 2]);
  });
});
