// What every bin (jairouter-proxy, jairouter-operator, jairouter-envtest, the demo backend) does
// first, imported as '@jairouter/crds/require-node'. Plain JavaScript that Node 20 can load: it runs
// before anything knows whether this Node can strip TypeScript.
//
// 1. The sources are TypeScript run by Node's built-in type stripping (Node >= 22.18), so there is
//    no build step. On an older Node (a laptop with Node 20) the bin runs again as a child under the
//    Node this repo brings (scripts/node-env.sh). This process then only stands in for the child:
//    SIGTERM, SIGINT and SIGHUP go on to it, and when it ends this process ends the same way (its
//    exit code, or killed by the same signal), so `kill` and supervisors see the real outcome.
// 2. When the parent is something that does not pass SIGTERM on, the bin stops itself as if it had
//    received SIGTERM once that parent is gone. Two such parents: the stand-in above, if it is
//    killed outright (SIGKILL); and npm (`npx`, `npm exec`, `npm run`), which runs a bin through
//    `sh -c`: npm hands SIGTERM to the shell, dash (Debian's sh) dies of it without passing it on,
//    and the bin would keep running, orphaned and still listening.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'];
/** Set on the child started by the stand-in: watch the stand-in, and never start a third Node. */
const CHILD_MARK = 'JAIROUTER_NODE_STAND_IN';
/** How often an orphan check runs: a getppid() call, so cheap; it bounds how late the stop starts. */
const PARENT_CHECK_MS = 200;

/**
 * Resolves at once when this Node runs TypeScript; otherwise never: the bin runs in a child and
 * this process exits when the child does. Every bin starts with `await requireNode(import.meta.url)`.
 */
export function requireNode(binUrl) {
  stopWhenOrphaned(process.env.npm_lifecycle_event !== undefined || process.env[CHILD_MARK] !== undefined);
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return Promise.resolve();
  const bin = fileURLToPath(binUrl);
  const name = basename(bin, '.js');
  if (process.env[CHILD_MARK] !== undefined) {
    console.error(`${name} needs Node >= 22.18; scripts/node-env.sh gave ${process.version}`);
    process.exit(1);
  }
  const nodeEnv = findUp(dirname(bin), join('scripts', 'node-env.sh'));
  const env = nodeEnv === undefined ? { status: 1 } : spawnSync(nodeEnv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (env.status !== 0) {
    console.error(`${name} needs Node >= 22.18 (this is ${process.version}) and could not fetch one`);
    process.exit(1);
  }
  const child = spawn(join(env.stdout.trim(), 'node'), [bin, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_MARK]: String(process.pid) },
  });
  // A terminal's Ctrl-C reaches the child too (same process group) and is sent again here: the
  // bins treat a second SIGINT like the first.
  const forward = (signal) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  child.once('error', (e) => {
    console.error(`${name}: cannot start ${child.spawnfile}: ${e.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal === null) process.exit(code ?? 1);
    // With no listener left the signal's default action applies: this process dies of it, which
    // is what the parent should see. A signal Node ignores (SIGPIPE) falls through to the code a
    // shell would report.
    process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  });
  return new Promise(() => {});
}

function stopWhenOrphaned(enabled) {
  const parent = process.ppid;
  if (!enabled || parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_CHECK_MS);
  timer.unref();
}

/** The repository's `rel` (scripts/node-env.sh) in `dir` or the nearest directory above it: bins
 * sit at different depths (proxy/bin, e2e/testkit/bin). */
function findUp(dir, rel) {
  for (;;) {
    if (existsSync(join(dir, rel))) return join(dir, rel);
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
