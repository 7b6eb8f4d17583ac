// Tail diagnostics for the proxy, preloaded with `node --import ./bench/diag-loop.mjs` (or
// JAIROUTER_NODE_ARGS="--import ./bench/diag-loop.mjs"): an event-loop delay histogram
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution) and every GC pause. Send SIGUSR2 once to
// start a window, and again to write /tmp/diag-<pid>.json with the window's figures.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
let gcs = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ kind: e.detail?.kind, ms: e.duration }); }).observe({ entryTypes: ['gc'] });
let armed = false;
process.on('SIGUSR2', () => {
  if (!armed) { h.reset(); gcs = []; armed = true; return; }
  const byKind = {};
  for (const g of gcs) { const k = byKind[g.kind] ??= { n: 0, total: 0, max: 0, over5: 0 }; k.n++; k.total += g.ms; k.max = Math.max(k.max, g.ms); if (g.ms > 5) k.over5++; }
  const pct = (p) => h.percentile(p) / 1e6;
  writeFileSync(`/tmp/diag-${process.pid}.json`, JSON.stringify({ eld: { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: h.max / 1e6, mean: h.mean / 1e6 }, gc: byKind, gcSorted: gcs.map((g) => g.ms).sort((a, b) => b - a).slice(0, 10) }, null, 1));
  armed = false;
});
