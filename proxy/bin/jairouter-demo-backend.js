#!/usr/bin/env node
// Runs one fake OpenAI-compatible backend (proxy/src/testing/fake-openai.ts), the model
// server `make demo` puts behind the proxy. Usage:
//   jairouter-demo-backend --port 8001 --name backend-a [--host 127.0.0.1] [--models m1,m2] [--mode ok]
// The sources are TypeScript run by Node's built-in type stripping (Node >= 22.18), so
// there is no build step. On an older Node, re-run under the Node this repo brings.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const env = spawnSync(join(root, 'scripts', 'node-env.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (env.status !== 0) {
    console.error(`jairouter-demo-backend needs Node >= 22.18 (this is ${process.version}) and could not fetch one`);
    process.exit(1);
  }
  const node = join(env.stdout.trim(), 'node');
  const r = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { parseArgs } = await import('node:util');
const { startFakeOpenAI, FAKE_MODES } = await import('../src/testing/fake-openai.ts');

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      name: { type: 'string', default: 'demo-backend' },
      models: { type: 'string' },
      mode: { type: 'string', default: 'ok' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`jairouter-demo-backend: ${err.message}`);
  process.exit(2);
}
if (args.help) {
  console.log('Usage: jairouter-demo-backend --port N --name NAME [--host HOST] [--models m1,m2] [--mode ' + FAKE_MODES.join('|') + ']');
  process.exit(0);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`jairouter-demo-backend: --port must be an integer between 0 and 65535, got ${JSON.stringify(args.port)}`);
  process.exit(2);
}
if (!FAKE_MODES.includes(args.mode)) {
  console.error(`jairouter-demo-backend: --mode must be one of ${FAKE_MODES.join(', ')}`);
  process.exit(2);
}

const opts = { port, host: args.host, name: args.name };
if (args.models) opts.models = args.models.split(',').map((m) => m.trim()).filter(Boolean);
const backend = await startFakeOpenAI(opts);
backend.setMode(args.mode);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    backend.close().then(() => process.exit(0), () => process.exit(1));
  });
}
// Announced last, so whoever waits for this line can already stop us with a signal.
console.log(JSON.stringify({ msg: 'demo backend listening', name: backend.name, url: backend.url }));
