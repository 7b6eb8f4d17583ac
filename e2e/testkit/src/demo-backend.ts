// Where the jairouter-demo-backend bin is, for tests that start it as a process the way
// `make demo` and the image do.
import { fileURLToPath } from 'node:url';

/** Absolute path of bin/jairouter-demo-backend.js (run it with process.execPath). */
export const DEMO_BACKEND_BIN = fileURLToPath(new URL('../bin/jairouter-demo-backend.js', import.meta.url));
