// docs/metrics.md's table of series is generated from the code that declares them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS_DOC, METRICS_TABLE, renderProxyMetricsTable } from '../src/telemetry/metrics-doc.ts';

describe('docs/metrics.md', () => {
  it('lists every series the proxy declares, as the code declares it', () => {
    const doc = readFileSync(join(resolve(import.meta.dirname, '../..'), METRICS_DOC), 'utf8');
    const table = METRICS_TABLE.exec(doc);
    expect(table, 'the proxy-metrics markers are missing').not.toBeNull();
    expect(doc, `${METRICS_DOC} is stale: run \`make generate\` and commit the result`).toBe(
      doc.replace(METRICS_TABLE, (_m, start: string, end: string) => `${start}${renderProxyMetricsTable()}\n${end}`),
    );
    for (const name of ['gen_ai_client_token_usage', 'gen_ai_server_time_to_first_token_seconds', 'jairouter_spend_total', 'jairouter_requests_total']) {
      expect(doc).toContain(`\`${name}\``);
    }
  });
});
