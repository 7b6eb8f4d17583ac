import { ProxyMetrics } from './metrics.ts';

/** The markers between which docs/metrics.md holds the generated table. */
export const METRICS_DOC = 'docs/metrics.md';
export const METRICS_TABLE = /(<!-- proxy-metrics:start[^>]*-->\n)(?:[\s\S]*?\n)?(<!-- proxy-metrics:end -->)/;

const TYPES: Record<string, string> = { counter: 'counter', gauge: 'gauge', histogram: 'histogram', summary: 'summary' };

/**
 * Every series the proxy declares, from the declarations themselves (ProxyMetrics): name, type,
 * labels and help, as a Markdown table. prom-client's default process collectors
 * (`jairouter_process_*`) are one row.
 */
export function renderProxyMetricsTable(): string {
  const m = new ProxyMetrics();
  const rows: string[] = ['| series | type | labels | meaning |', '|---|---|---|---|'];
  let process = 0;
  const metrics = m.registry.getMetricsAsArray() as unknown as Array<{ name: string; help: string; labelNames?: readonly string[]; type?: string }>;
  for (const metric of [...metrics].sort((a, b) => a.name.localeCompare(b.name))) {
    if (metric.name.startsWith('jairouter_process_')) {
      process++;
      continue;
    }
    const type = TYPES[String(metric.type ?? metric.constructor.name.toLowerCase())] ?? metric.constructor.name.toLowerCase();
    const labels = (metric.labelNames ?? []).map((l) => `\`${l}\``).join(', ') || '(none)';
    const name = type === 'histogram' ? `\`${metric.name}\` (\`_bucket\`, \`_sum\`, \`_count\`)` : `\`${metric.name}\``;
    rows.push(`| ${name} | ${type} | ${labels} | ${metric.help.replace(/\|/g, '\\|')} |`);
  }
  rows.push(`| \`jairouter_process_*\` (${process} series) | mixed | (some) | Node.js process metrics from prom-client's default collectors: CPU, resident memory, heap, event-loop lag, GC, open file descriptors. |`);
  return rows.join('\n');
}
