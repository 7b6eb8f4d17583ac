// `make sim`: the routing simulation at full size (proxy/test/simulation/simulate.ts), printed as
// the markdown tables docs/routing.md quotes. Deterministic; about a minute.
import { DEFAULTS, simulate, table, type SimOptions, type SimResult, type SimStrategy } from '../test/simulation/simulate.ts';

const BASE: Omit<SimOptions, 'strategy'> = { ...DEFAULTS, engines: 8, proxies: 3, requests: 20_000, ratePerSecond: 28, apps: 48 };
const STRATEGIES: SimStrategy[] = ['RoundRobin', 'LeastConnections', 'LoadAware'];
const out = (title: string, rows: SimResult[]) => console.log(`\n${title}\n\n${table(rows)}`);
const t0 = Date.now();

console.log(`${BASE.engines} engines (maxBatch ${BASE.engine.maxBatch}, KV ${BASE.engine.kvCapacityTokens} tokens, chunked prefill ${BASE.engine.prefillChunkTokens} tokens/step), ${BASE.proxies} gateway replicas, ${BASE.requests} requests, ${BASE.apps} system prompts of ${BASE.systemChars} characters (Zipf), engine metrics read every ${BASE.scrapeIntervalMs} ms, epsilon ${BASE.epsilon}`);
out(`Offered load ${BASE.ratePerSecond} requests/s`, STRATEGIES.map((strategy) => simulate({ ...BASE, strategy })));
for (const rate of [20, 32]) out(`Offered load ${rate} requests/s`, STRATEGIES.map((strategy) => simulate({ ...BASE, strategy, ratePerSecond: rate })));
out('LoadAware by engine-metrics interval (28 requests/s)', [500, 1000, 2000, 5000].map((ms) => ({ ...simulate({ ...BASE, strategy: 'LoadAware', scrapeIntervalMs: ms }), strategy: `LoadAware, ${ms} ms` as SimStrategy })));
out('LoadAware by epsilon (28 requests/s)', [0.1, 0.25, 0.5, 1].map((epsilon) => ({ ...simulate({ ...BASE, strategy: 'LoadAware', epsilon }), strategy: `LoadAware, epsilon ${epsilon}` as SimStrategy })));
out('One gateway replica (28 requests/s)', STRATEGIES.map((strategy) => simulate({ ...BASE, strategy, proxies: 1 })));
console.log(`\n(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
