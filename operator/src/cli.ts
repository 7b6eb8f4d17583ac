// The jairouter-operator command: `compile` runs offline, `keys` manages a Tenant's API keys in
// the cluster (see keys-command.ts for its usage); anything else runs the operator.
import { runCompileCommand } from './compile-command.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'compile') {
  process.exitCode = runCompileCommand(argv.slice(1));
} else if (argv[0] === 'keys') {
  const { runKeysCommand } = await import('./keys-command.ts');
  process.exitCode = await runKeysCommand(argv.slice(1));
} else {
  const { main } = await import('./main.ts');
  await main(argv);
}
