#!/usr/bin/env node
// Runs one fake OpenAI-compatible backend (@jairouter/testkit, src/fake-openai.ts), the model
// server `make demo` puts behind the proxy. Usage:
//   jairouter-demo-backend --port 8001 --name backend-a [--host 127.0.0.1] [--models m1,m2] [--mode ok]
import { requireNode } from '@jairouter/crds/require-node';

await requireNode(import.meta.url);

const { parseArgs } = await import('node:util');
const { startFakeOpenAI, FAKE_MODES } = await import('../src/fake-openai.ts');

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
