// Writes the operator's metrics table into docs/metrics.md (between its operator-metrics markers)
// from the code that declares the series. `--check` writes nothing and exits 1 when it is stale.
import { join, resolve } from 'node:path';
import { updateSection } from '@jairouter/crds/metrics-table';
import { METRICS_DOC, OPERATOR_SECTION, renderOperatorMetricsTable } from '../src/metrics-doc.ts';

const check = process.argv.includes('--check');
const r = updateSection(join(resolve(import.meta.dirname, '../..'), METRICS_DOC), OPERATOR_SECTION, renderOperatorMetricsTable(), check);
if (r === 'stale') {
  console.error(`stale: ${METRICS_DOC} (operator table): run \`make generate\` and commit the result`);
  process.exit(1);
}
if (r === 'written') console.log(`wrote ${METRICS_DOC} (operator table)`);
