// The alert rules the chart ships (charts/jairouter/monitoring/alerts.yaml), checked and unit
// tested by a real promtool, and held to their runbooks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '@jairouter/testkit/config';
import { observabilitySetupTimeoutMs, promtool, skipObservability } from '@jairouter/testkit/observability';

const DIR = join(REPO_ROOT, 'charts/jairouter/monitoring');
const RULES = join(DIR, 'alerts.yaml');

interface Rule { alert?: string; record?: string; expr: string; annotations?: Record<string, string> }
const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => r.alert !== undefined);

describe.skipIf(skipObservability)('alert rules (promtool)', () => {
  it('promtool check rules accepts every rule', async () => {
    const r = await promtool(['check', 'rules', RULES], { timeoutMs: observabilitySetupTimeoutMs() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`);
  }, observabilitySetupTimeoutMs());

  it('promtool test rules: every alert fires on the series that should fire it, and not on its neighbours', async () => {
    const r = await promtool(['test', 'rules', join(DIR, 'alerts.test.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

describe('alert rules and their runbooks', () => {
  const tests = parse(readFileSync(join(DIR, 'alerts.test.yaml'), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
  const runbooks = readFileSync(join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
  const anchors = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]!.toLowerCase()));

  it.each(alerts.map((a) => [a.alert, a] as const))('%s is tested firing, and its runbook annotation points at its section of docs/runbooks.md', (name, a) => {
    const firing = tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === name && (c.exp_alerts?.length ?? 0) > 0);
    expect(firing.length, `no promtool test expects ${name} to fire`).toBeGreaterThan(0);
    expect(a.annotations?.['runbook']).toBe(`docs/runbooks.md#${name.toLowerCase()}`);
    expect(anchors.has(name.toLowerCase()), `docs/runbooks.md has no "## ${name}" section`).toBe(true);
    expect(a.annotations?.['summary']).toBeTruthy();
  });
});
