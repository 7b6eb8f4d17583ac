#!/usr/bin/env node
// Entry point of the jairouter-proxy binary. The sources are TypeScript run by Node's
// built-in type stripping (Node >= 22.18), so there is no build step. On an older Node
// (a laptop with Node 20), re-run under the Node this repo brings (scripts/node-env.sh).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const env = spawnSync(join(root, 'scripts', 'node-env.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (env.status !== 0) {
    console.error(`jairouter-proxy needs Node >= 22.18 (this is ${process.version}) and could not fetch one`);
    process.exit(1);
  }
  const node = join(env.stdout.trim(), 'node');
  const r = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// Node caches compiled modules, TypeScript stripping included, so a restart neither strips
// the sources again nor loads the stripper (about 18 MB less resident memory).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/main.ts');
