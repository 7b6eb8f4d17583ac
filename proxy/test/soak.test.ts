// The short endurance run in `make test` (`make soak` runs a million requests): 20,000 requests
// through the proxy binary on its full path, JSON and SSE, some clients leaving mid-stream, every
// 50th upstream answer a 503. Every request the client saw through gets 200 (the failed upstream
// answers are retried on the other backend), the proxy stays up, and its open file descriptors do
// not grow. Its RSS is only bounded here; `make soak` checks that it stays flat
// (bench/README.md has the figures).
import { describe, expect, it } from 'vitest';
import { soak } from './soak/soak.ts';

describe('soak (short)', () => {
  it('20,000 mixed requests: none failed, streams left mid-way cleaned up, no file descriptor growth, the proxy alive', async () => {
    // As the image runs the proxy (Dockerfile NODE_OPTIONS).
    const r = await soak({ requests: 20_000, concurrency: 16, sseShare: 0.4, abortShare: 0.1, errorEvery: 50, samples: 10, nodeOptions: '--max-semi-space-size=4' });
    expect(r.exited, r.stderr).toBeNull();
    expect(r.failed).toBe(0);
    expect(r.ok + r.aborted).toBe(20_000);
    expect(r.aborted).toBeGreaterThan(500);
    expect(r.upstreamErrors).toBeGreaterThan(300);
    const fds = r.samples.map((s) => s.fds);
    expect(Math.max(...fds) - Math.min(...fds)).toBeLessThanOrEqual(10);
    // About 137 MB on the development machine (bench/README.md, "Memory").
    expect(Math.max(...r.samples.map((s) => s.rssMb))).toBeLessThan(200);
    expect(r.stderr).not.toMatch(/Unhandled|unhandled|Error/);
  }, 120_000);
});
