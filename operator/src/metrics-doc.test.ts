// docs/metrics.md's table of the operator's series is generated from the code that declares them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSection } from '@jairouter/crds/metrics-table';
import { METRICS_DOC, OPERATOR_SECTION, renderOperatorMetricsTable } from './metrics-doc.ts';

describe('docs/metrics.md', () => {
  it('lists every series the operator declares, as the code declares it', () => {
    const doc = readFileSync(join(resolve(import.meta.dirname, '../..'), METRICS_DOC), 'utf8');
    expect(doc, `${METRICS_DOC} is stale: run \`make generate\` and commit the result`).toBe(withSection(doc, OPERATOR_SECTION, renderOperatorMetricsTable()));
    for (const name of ['controller_runtime_reconcile_total', 'workqueue_depth', 'jairouter_operator_config_propagation_seconds', 'jairouter_operator_certificate_expiry_timestamp_seconds']) {
      expect(doc).toContain(`\`${name}\``);
    }
  });
});
