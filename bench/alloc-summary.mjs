// Where a process allocates, from a sampling heap profile (alloc-profile.mjs): % of the bytes
// sampled per function, self and inclusive (frames matching a regex; default our code).
// usage: node bench/alloc-summary.mjs <file.heapprofile> [regex]
import fs from 'node:fs';

const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const re = new RegExp(process.argv[3] ?? 'proxy/src');
const self = new Map();
const incl = new Map();
let total = 0;
const nameOf = (c) => `${c.functionName || '(anon)'} ${c.url.replace(/^file:\/\/.*?\/(proxy|crds)\//, '$1/').replace(/.*node_modules\//, '')}:${c.lineNumber + 1}`;
function walk(n, stack) {
  const name = nameOf(n.callFrame);
  const here = new Set(stack).add(name);
  total += n.selfSize;
  self.set(name, (self.get(name) ?? 0) + n.selfSize);
  if (n.selfSize) for (const k of here) incl.set(k, (incl.get(k) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, here);
}
walk(p.head, new Set());
const top = (m, n, f = () => true) => [...m].filter(([k]) => f(k)).sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
console.log(`sampled ${(total / 1e6).toFixed(1)} MB\n\nself:\n${top(self, 30)}\n\ninclusive, matching ${re}:\n${top(incl, 30, (k) => re.test(k))}`);
