// Writes the proxy's metrics table into docs/metrics.md (between its proxy-metrics markers) from
// the code that declares the series. `--check` writes nothing and exits 1 when the file is stale.
import { join, resolve } from 'node:path';
import { updateSection } from '@jairouter/crds/metrics-table';
import { METRICS_DOC, PROXY_SECTION, renderProxyMetricsTable } from '../src/telemetry/metrics-doc.ts';

const check = process.argv.includes('--check');
const r = updateSection(join(resolve(import.meta.dirname, '../..'), METRICS_DOC), PROXY_SECTION, renderProxyMetricsTable(), check);
if (r === 'stale') {
  console.error(`stale: ${METRICS_DOC} (proxy table): run \`make generate\` and commit the result`);
  process.exit(1);
}
if (r === 'written') console.log(`wrote ${METRICS_DOC} (proxy table)`);
