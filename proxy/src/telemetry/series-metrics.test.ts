import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from './series-metrics.ts';

// The conformance test of series-metrics.ts: for any sequence of calls, what Prometheus scrapes
// (and getMetricsAsJSON) is what prom-client's own Counter and Histogram give.

const LABEL_SETS = [
  ['chat', 'default/chat', 'primary'],
  ['embeddings', 'default/embed', ''],
  ['chat', 'team "a"\\b', 'line\nbreak'], // escaped by the Registry
] as const;
const BUCKETS = [0.005, 0.01, 0.025, 0.1, 1, 2.5, 10];

type Op = { kind: 'inc'; set: number; value: number | undefined } | { kind: 'observe'; set: number; value: number } | { kind: 'reset' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('inc' as const), set: fc.nat(2), value: fc.option(fc.oneof(fc.constantFrom(0, 1, 0.5, 1e9), fc.double({ min: 0, max: 1e6, noNaN: true })), { nil: undefined }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('observe' as const), set: fc.nat(2), value: fc.oneof(fc.constantFrom(...BUCKETS, 0, -1, 11, 1e12), fc.double({ min: -5, max: 20, noNaN: true })) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

function both() {
  const theirs = new Registry();
  const ours = new Registry();
  const cfg = { name: 'x_requests_total', help: 'Requests "served".\nBy route.', labelNames: ['operation', 'route', 'backend'] as const };
  const hcfg = { name: 'x_duration_seconds', help: 'Duration.', labelNames: ['operation', 'route', 'backend'] as const, buckets: BUCKETS };
  return {
    theirs,
    ours,
    counters: [new Counter({ ...cfg, labelNames: [...cfg.labelNames], registers: [theirs] }), new SeriesCounter({ ...cfg, registers: [ours] })] as const,
    histograms: [new Histogram({ ...hcfg, labelNames: [...hcfg.labelNames], registers: [theirs] }), new SeriesHistogram({ ...hcfg, registers: [ours] })] as const,
  };
}

describe('SeriesCounter and SeriesHistogram', () => {
  it('expose what prom-client exposes for the same calls, children kept or not, resets included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.boolean(), async (ops, keep) => {
        const m = both();
        const kept = LABEL_SETS.map((l) => [m.counters[1].labels(...l), m.histograms[1].labels(...l)] as const);
        for (const op of ops) {
          if (op.kind === 'reset') {
            for (const c of [...m.counters, ...m.histograms]) c.reset();
            continue;
          }
          const l = LABEL_SETS[op.set]!;
          if (op.kind === 'inc') {
            m.counters[0].labels(...l).inc(op.value);
            (keep ? kept[op.set]![0] : m.counters[1].labels(...l)).inc(op.value);
          } else {
            m.histograms[0].labels(...l).observe(op.value);
            (keep ? kept[op.set]![1] : m.histograms[1].labels(...l)).observe(op.value);
          }
        }
        expect(await m.ours.metrics()).toBe(await m.theirs.metrics());
        expect(await m.ours.getMetricsAsJSON()).toEqual(await m.theirs.getMetricsAsJSON());
      }),
      { numRuns: 300 },
    );
  });

  it('refuse what prom-client refuses, with its errors, and record nothing for it', async () => {
    const m = both();
    const [, counter] = m.counters;
    const [, histogram] = m.histograms;
    expect(() => counter.labels('chat')).toThrow(/1 label values for the 3 label names operation, route, backend/);
    expect(() => counter.labels('chat', 'r', 'b').inc(-1)).toThrow('It is not possible to decrease a counter');
    expect(() => counter.labels('chat', 'r', 'b').inc(Number.NaN)).toThrow(TypeError);
    expect(() => histogram.labels('chat', 'r', 'b').observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(await m.ours.metrics()).toBe(await m.theirs.metrics());
    expect(() => new SeriesHistogram({ name: 'h', help: 'h', labelNames: ['le'], buckets: [1], registers: [] })).toThrow(/invalid label name "le"/);
    expect(() => new SeriesHistogram({ name: 'h', help: 'h', labelNames: [], buckets: [1, 1], registers: [] })).toThrow(/increasing/);
    expect(() => new SeriesCounter({ name: 'a-b', help: 'h', labelNames: [], registers: [] })).toThrow(/invalid metric name/);
    expect(() => new SeriesCounter({ name: 'x_requests_total', help: 'h', labelNames: [], registers: [m.ours] })).toThrow(/already been registered/);
  });
});
