// The jairouter-operator command: `compile` runs offline; anything else runs the operator.
import { runCompileCommand } from './compile-command.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'compile') {
  process.exitCode = runCompileCommand(argv.slice(1));
} else {
  const { main } = await import('./main.ts');
  await main(argv);
}
