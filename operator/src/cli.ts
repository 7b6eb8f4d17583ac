// The jairouter-operator command: `compile` runs offline; anything else runs the operator.
import { COMPILE_USAGE, runCompileCommand } from './compile-command.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'compile') {
  process.exitCode = runCompileCommand(argv.slice(1));
} else {
  process.stderr.write(`jairouter-operator: only the compile command exists so far\n\n${COMPILE_USAGE}\n`);
  process.exitCode = 2;
}
