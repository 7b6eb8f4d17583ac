// Writes the proxy's metrics table into docs/metrics.md (between its proxy-metrics markers) from
// the code that declares the series. `--check` writes nothing and exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { METRICS_DOC, METRICS_TABLE, renderProxyMetricsTable } from '../src/telemetry/metrics-doc.ts';

const root = resolve(import.meta.dirname, '../..');
const check = process.argv.includes('--check');
const path = join(root, METRICS_DOC);
const current = readFileSync(path, 'utf8');
if (!METRICS_TABLE.test(current)) {
  console.error(`${METRICS_DOC}: the proxy-metrics markers are missing`);
  process.exit(1);
}
const wanted = current.replace(METRICS_TABLE, (_m, start: string, end: string) => `${start}${renderProxyMetricsTable()}\n${end}`);
if (wanted === current) process.exit(0);
if (check) {
  console.error(`stale: ${METRICS_DOC}: run \`make generate\` and commit the result`);
  process.exit(1);
}
writeFileSync(path, wanted);
console.log(`wrote ${METRICS_DOC}`);
