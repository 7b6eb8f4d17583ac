import { compile, parseResourcesYaml } from '@jairouter/crds';
import { describe, expect, it } from 'vitest';
import { withoutConsequence } from './consequence.ts';

/** The False conditions' messages compile() gives the objects of `yaml`. */
function falseMessages(yaml: string): string[] {
  const { resources, errors } = parseResourcesYaml(yaml, 'test.yaml');
  expect(errors).toEqual([]);
  return compile(resources).statuses.flatMap((s) => s.conditions.filter((c) => c.status === 'False').map((c) => c.message));
}

const route = (name: string, created: string, models: string[], backends: string) => `---
apiVersion: jairouter.io/v1alpha1
kind: ModelRoute
metadata: {name: ${name}, namespace: ai, creationTimestamp: "${created}"}
spec:
  models: ${JSON.stringify(models)}
  backends: ${backends}
`;
const ok = '{name: a, adapter: openai, url: "http://127.0.0.1:1/v1"}';
const missingSecret = '{name: b, adapter: openai, url: "http://127.0.0.1:2/v1", credentialsRef: {name: missing, key: k}}';

describe('withoutConsequence: a rejected edit logs the reason, not what its config would serve', () => {
  it.each([
    ['one of two backends unresolved', route('r', '2024-01-01T00:00:00Z', ['m'], `[${ok}, ${missingSecret}]`), 'backend "b": Secret "missing" not found in namespace ai.'],
    ['no backend resolved', route('r', '2024-01-01T00:00:00Z', ['m'], `[${missingSecret}]`), 'backend "b": Secret "missing" not found in namespace ai.'],
    [
      'a model name conflict',
      route('old', '2024-01-01T00:00:00Z', ['m'], `[${ok}]`) + route('new', '2024-06-01T00:00:00Z', ['m'], `[${ok}]`),
      'model name "m" is already claimed by ModelRoute ai/old',
    ],
  ])('%s', (_, yaml, reason) => {
    const messages = falseMessages(yaml);
    expect(messages).toHaveLength(1);
    // compile() states the consequence for the config it produced...
    expect(messages[0]).toMatch(/Serving with|not served/);
    // ...which a rejected edit's log line leaves out.
    const logged = withoutConsequence(messages[0]!);
    expect(logged).not.toMatch(/Serving with|not served/);
    expect(logged.startsWith(reason)).toBe(true);
    expect(logged).toMatch(/\.$/);
  });

  it('keeps messages that say nothing about serving, and "served by" in a reason', () => {
    expect(withoutConsequence('spec.models: must not be empty.')).toBe('spec.models: must not be empty.');
    expect(withoutConsequence('fallback model "x" is served by no ModelRoute (dropped)')).toBe('fallback model "x" is served by no ModelRoute (dropped).');
    expect(withoutConsequence('spec.quotas: remove it; this Tenant is not served until then.')).toBe('spec.quotas: remove it.');
  });
});
