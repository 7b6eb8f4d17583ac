// Test support only (reads the golden case folders); not exported from the package.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { parseResourcesYaml } from '../resources.ts';
import { compile } from './compile.ts';

export const CASES_DIR = fileURLToPath(new URL('../../testdata/compile/', import.meta.url));

export function caseNames(): string[] {
  return readdirSync(CASES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export function renderCase(input: string): { config: string; status: string } {
  const { resources, errors } = parseResourcesYaml(input, 'input.yaml');
  const { config, statuses } = compile(resources);
  return {
    config: JSON.stringify(config, null, 2) + '\n',
    status: YAML.stringify(errors.length > 0 ? { parseErrors: errors, statuses } : { statuses }, { lineWidth: 0 }),
  };
}

