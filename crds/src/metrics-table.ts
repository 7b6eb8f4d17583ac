// The tables of docs/metrics.md, generated from the code that declares each process's series
// (proxy/src/telemetry/metrics-doc.ts, operator/src/metrics-doc.ts): `make generate` writes them,
// `make check-generated` and the tests fail when one is stale.
import { readFileSync, writeFileSync } from 'node:fs';

/** What a prom-client metric object says about itself. */
export interface MetricDeclaration {
  readonly name: string;
  readonly help: string;
  readonly type?: string;
  readonly labelNames?: readonly string[];
}

/**
 * A Markdown table of series: name, type, labels, meaning, sorted by name. Series whose name starts
 * with `collapse.prefix` (prom-client's default process collectors) are one row.
 */
export function renderMetricsTable(metrics: readonly MetricDeclaration[], collapse?: { prefix: string; meaning: string }): string {
  const rows = ['| series | type | labels | meaning |', '|---|---|---|---|'];
  let collapsed = 0;
  for (const m of [...metrics].sort((a, b) => a.name.localeCompare(b.name))) {
    if (collapse && m.name.startsWith(collapse.prefix)) {
      collapsed++;
      continue;
    }
    const type = m.type ?? 'untyped';
    const labels = (m.labelNames ?? []).map((l) => `\`${l}\``).join(', ') || '(none)';
    const name = type === 'histogram' ? `\`${m.name}\` (\`_bucket\`, \`_sum\`, \`_count\`)` : `\`${m.name}\``;
    rows.push(`| ${name} | ${type} | ${labels} | ${m.help.replace(/\|/g, '\\|')} |`);
  }
  if (collapse && collapsed > 0) rows.push(`| \`${collapse.prefix}*\` (${collapsed} series) | mixed | (some) | ${collapse.meaning} |`);
  return rows.join('\n');
}

/** The markers `<!-- NAME:start ... -->` / `<!-- NAME:end -->` and what lies between them. */
export function markedSection(name: string): RegExp {
  return new RegExp(`(<!-- ${name}:start[^>]*-->\\n)(?:[\\s\\S]*?\\n)?(<!-- ${name}:end -->)`);
}

/** `text` with the section between NAME's markers replaced by `content`; throws when the markers are missing. */
export function withSection(text: string, name: string, content: string): string {
  const re = markedSection(name);
  if (!re.test(text)) throw new Error(`the ${name} markers are missing`);
  return text.replace(re, (_m, start: string, end: string) => `${start}${content}\n${end}`);
}

/**
 * Writes `content` between NAME's markers in `path` (with `check`: writes nothing); `stale`
 * when the file differed. For the generator scripts of each package.
 */
export function updateSection(path: string, name: string, content: string, check: boolean): 'fresh' | 'written' | 'stale' {
  const current = readFileSync(path, 'utf8');
  const wanted = withSection(current, name, content);
  if (wanted === current) return 'fresh';
  if (check) return 'stale';
  writeFileSync(path, wanted);
  return 'written';
}
