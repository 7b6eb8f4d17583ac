// Shared by the bins: the sources are TypeScript run by Node's built-in type stripping
// (Node >= 22.18), so there is no build step. On an older Node (a laptop with Node 20),
// re-run the calling bin under the Node this repo brings (scripts/node-env.sh) and exit
// with its status. Plain JavaScript that Node 20 can load.
import { spawnSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function requireNode(binUrl) {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return;
  const bin = fileURLToPath(binUrl);
  const root = join(dirname(bin), '..', '..');
  const env = spawnSync(join(root, 'scripts', 'node-env.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (env.status !== 0) {
    console.error(`${basename(bin, '.js')} needs Node >= 22.18 (this is ${process.version}) and could not fetch one`);
    process.exit(1);
  }
  const r = spawnSync(join(env.stdout.trim(), 'node'), [bin, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
