// Where a Node process spends CPU, from a V8 .cpuprofile (node --cpu-prof): percentages of busy
// (non-idle) time, inclusive, for frames whose "function file:line" matches a regex (default: our
// code and the logging/metrics/crypto libraries), then the top self-time frames.
// usage: node bench/profile-summary.mjs <file.cpuprofile> [regex]   (see bench/README.md)
import fs from 'node:fs';

const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const re = new RegExp(process.argv[3] ?? 'proxy/src|pino|sonic-boom|redact|prom-client|crypto|undici');
const node = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(p.nodes.flatMap((n) => (n.children ?? []).map((c) => [c, n.id])));
const name = (id) => { const c = node.get(id).callFrame; return `${c.functionName || '(anon)'} ${c.url.replace(/^file:\/\/.*?\/(proxy|crds)\//, '$1/').replace(/.*node_modules\//, '')}:${c.lineNumber + 1}`; };
const ticks = new Map();
p.samples.forEach((id, i) => ticks.set(id, (ticks.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
let busy = 0;
const incl = new Map(), self = new Map();
for (const [id, t] of ticks) {
  if (node.get(id).callFrame.functionName === '(idle)') continue;
  busy += t;
  self.set(name(id), (self.get(name(id)) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur != null; cur = parent.get(cur)) seen.add(name(cur));
  for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + t);
}
const top = (m, n, f = () => true) => [...m].filter(([k]) => f(k)).sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`).join('\n');
console.log(`busy ${(busy / 1e6).toFixed(2)} s\n\ninclusive, matching ${re}:\n${top(incl, 40, (k) => re.test(k))}\n\nself:\n${top(self, 25)}`);
