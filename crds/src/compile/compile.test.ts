import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProxyConfig, withVersion } from '../proxy-config.ts';
import { CASES_DIR, caseNames, renderCase } from './golden.test-support.ts';

/**
 * Golden tests: testdata/compile/<case>/input.yaml -> config.json + status.yaml.
 * `UPDATE_GOLDEN=1 npx vitest run crds/src/compile` rewrites the expected files; review the diff.
 */
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

describe('compile golden cases', () => {
  const names = caseNames();
  it('has enough cases', () => expect(names.length).toBeGreaterThanOrEqual(18));
  for (const name of names) {
    it(name, () => {
      const dir = join(CASES_DIR, name);
      const input = readFileSync(join(dir, 'input.yaml'), 'utf8');
      const actual = renderCase(input);
      const parsed = ProxyConfig.parse(JSON.parse(actual.config));
      const { version, ...body } = parsed;
      expect(withVersion(body).version).toBe(version);
      for (const [file, text] of [['config.json', actual.config], ['status.yaml', actual.status]] as const) {
        const path = join(dir, file);
        if (UPDATE) writeFileSync(path, text);
        else {
          expect(existsSync(path), `${name}/${file} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
          expect(text).toBe(readFileSync(path, 'utf8'));
        }
      }
    });
  }
});
