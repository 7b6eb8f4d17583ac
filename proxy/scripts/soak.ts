// `make soak`: issue 14's endurance run, 1,000,000 requests by default (SOAK_REQUESTS), through
// the proxy binary (proxy/test/soak/soak.ts). Prints the RSS and file-descriptor samples and the
// verdict: after the warm-up (the first 40% of the run), RSS within +-10% of its mean there, and
// no more file descriptors at the end than at the warm-up's end (+5).
import { soak } from '../test/soak/soak.ts';

const requests = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
// The proxy runs with the image's NODE_OPTIONS (Dockerfile) unless SOAK_NODE_OPTIONS says otherwise.
const nodeOptions = process.env.SOAK_NODE_OPTIONS ?? '--max-semi-space-size=4';
const r = await soak({ requests, concurrency: 16, sseShare: 0.4, abortShare: 0.1, errorEvery: 50, samples: 50, verbose: true, nodeOptions });
console.log(`proxy NODE_OPTIONS: ${JSON.stringify(nodeOptions)}`);
console.log(`\n${r.requests} requests in ${r.seconds.toFixed(0)} s (${(r.requests / r.seconds).toFixed(0)}/s): ${r.ok} ok, ${r.aborted} left mid-stream by the client, ${r.failed} failed; ${r.upstreamErrors} upstream 503s retried`);
console.log('\n| requests done | RSS MB | open fds |\n|---|---|---|');
for (const s of r.samples) console.log(`| ${s.done} | ${s.rssMb} | ${s.fds} |`);
const after = r.samples.slice(Math.floor(r.samples.length * 0.4));
const mean = after.reduce((a, s) => a + s.rssMb, 0) / after.length;
const spread = Math.max(...after.map((s) => Math.abs(s.rssMb / mean - 1)));
const fdGrowth = r.samples.at(-1)!.fds - after[0]!.fds;
const ok = r.exited === null && r.failed === 0 && spread <= 0.1 && fdGrowth <= 5;
console.log(`\nafter warm-up: RSS mean ${mean.toFixed(1)} MB, largest deviation ${(spread * 100).toFixed(1)}% (limit 10%); fds ${after[0]!.fds} -> ${r.samples.at(-1)!.fds}; proxy ${r.exited ?? 'alive'}${r.stderr ? `; stderr: ${r.stderr}` : ''}`);
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
