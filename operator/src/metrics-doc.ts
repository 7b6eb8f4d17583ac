import { Registry, collectDefaultMetrics } from 'prom-client';
import { renderMetricsTable, type MetricDeclaration } from '@jairouter/crds/metrics-table';
import { certificateExpiryGauge, distributionMetrics } from './distribution/server.ts';
import { OperatorMetrics } from './metrics.ts';

export const METRICS_DOC = 'docs/metrics.md';
/** The markers of the operator's table in docs/metrics.md. */
export const OPERATOR_SECTION = 'operator-metrics';

/** Every series the operator declares (OperatorMetrics, the snapshot stream's), as docs/metrics.md's table. */
export function renderOperatorMetricsTable(): string {
  const own = new OperatorMetrics({ defaultMetrics: false }).registry;
  distributionMetrics([own], () => 0);
  certificateExpiryGauge([own], () => null);
  // prom-client's default collectors, which the operator registers under its prefix: one row.
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults, prefix: 'jairouter_operator_' });
  const count = defaults.getMetricsAsArray().length;
  return renderMetricsTable(own.getMetricsAsArray() as unknown as MetricDeclaration[]) +
    `\n| \`jairouter_operator_process_*\`, \`jairouter_operator_nodejs_*\` (${count} series) | mixed | (some) | Node.js process metrics from prom-client's default collectors: CPU, resident memory, heap, event-loop lag, GC, open file descriptors. |`;
}
