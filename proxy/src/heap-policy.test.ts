// The proxy's heap policy (heap-policy.ts): with it, V8 compacts the old generation before it
// grows far past the live data, which is what keeps the proxy's RSS after load near its live size.
// Measured in child processes (V8 flags are per process): the same allocation pattern, a live set
// of about 30 MB replaced object by object, as a proxy's streams and pools are.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT } from './heap-policy.ts';

const POLICY = new URL('./heap-policy.ts', import.meta.url).href;

/** Runs the churn in a child (applying the policy when `apply`), returns what it printed. */
function churn(apply: boolean, nodeArgs: string[] = []): { applied: number | null; peakOldMb: number } {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { applyHeapPolicy } from ${JSON.stringify(POLICY)};
    const applied = ${apply} ? applyHeapPolicy() : null;
    const ring = new Array(200_000);
    let peak = 0;
    for (let i = 0; i < 4_000_000; i++) {
      ring[i % ring.length] = { text: 'x'.repeat(48) + i, ids: [i, i + 1, i + 2] };
      if (i % 10_000 === 0) peak = Math.max(peak, getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
    }
    console.log(JSON.stringify({ applied, peakOldMb: peak / 1048576 }));`;
  const r = spawnSync(process.execPath, [...nodeArgs, '--max-semi-space-size=4', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { applied: number | null; peakOldMb: number };
}

describe('applyHeapPolicy', () => {
  it('keeps the old generation near its live size where V8 alone lets it grow', () => {
    const alone = churn(false);
    const policy = churn(true);
    expect(policy.applied).toBe(HEAP_GROWING_PERCENT);
    expect(policy.peakOldMb).toBeLessThan(alone.peakOldMb * 0.75);
  });

  it('leaves a growth factor given on the command line in force', () => {
    const own = churn(true, ['--heap-growing-percent=300']);
    expect(own.applied).toBeNull();
    expect(own.peakOldMb).toBeGreaterThan(churn(true).peakOldMb / 0.75);
  });
});
