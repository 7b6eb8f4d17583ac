// docs/metrics.md's table of the proxy's series is generated from the code that declares them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSection } from '@jairouter/crds/metrics-table';
import { METRICS_DOC, PROXY_SECTION, renderProxyMetricsTable } from '../src/telemetry/metrics-doc.ts';

describe('docs/metrics.md', () => {
  it('lists every series the proxy declares, as the code declares it', () => {
    const doc = readFileSync(join(resolve(import.meta.dirname, '../..'), METRICS_DOC), 'utf8');
    expect(doc, `${METRICS_DOC} is stale: run \`make generate\` and commit the result`).toBe(withSection(doc, PROXY_SECTION, renderProxyMetricsTable()));
    for (const name of ['gen_ai_client_token_usage', 'gen_ai_server_time_to_first_token_seconds', 'jairouter_spend_total', 'jairouter_requests_total']) {
      expect(doc).toContain(`\`${name}\``);
    }
  });
});
