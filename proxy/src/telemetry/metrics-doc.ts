import { renderMetricsTable, type MetricDeclaration } from '@jairouter/crds/metrics-table';
import { ProxyMetrics } from './metrics.ts';

export const METRICS_DOC = 'docs/metrics.md';
/** The markers of the proxy's table in docs/metrics.md. */
export const PROXY_SECTION = 'proxy-metrics';

/** Every series the proxy declares (ProxyMetrics), as docs/metrics.md's table. */
export function renderProxyMetricsTable(): string {
  const metrics = new ProxyMetrics().registry.getMetricsAsArray() as unknown as MetricDeclaration[];
  return renderMetricsTable(metrics, {
    prefix: 'jairouter_process_',
    meaning: "Node.js process metrics from prom-client's default collectors: CPU, resident memory, heap, event-loop lag, GC, open file descriptors.",
  });
}
