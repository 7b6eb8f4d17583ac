// How far V8 lets the old generation grow past what the last full collection left alive.
//
// V8 picks the factor itself, between 1.1 and 4, from how fast it collects against how fast the
// program allocates: a proxy at saturation allocates fast, so V8 lets the heap grow up to 4x
// before it compacts, and RSS keeps the high-water mark. The proxy's live heap is small (the
// config, the pools; 20-25 MB) and what it allocates per request dies young or within one
// stream, so a fixed 25 % keeps RSS near the live size at the cost of more, smaller full
// collections (bench/README.md, "Memory: the old generation's growth": RSS max over the bench's
// translated streams 187 -> 141 MB, CPU per request within the run-to-run spread).
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to 1.25x what the last full collection left alive. */
export const HEAP_GROWING_PERCENT = 25;
const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets the growth factor unless the process was started with its own `--heap-growing-percent`
 * (`node --heap-growing-percent=N jairouter-proxy ...`; NODE_OPTIONS does not accept it).
 * Returns the percent in force, or null when the command line set it.
 */
export function applyHeapPolicy(execArgv: readonly string[] = process.execArgv): number | null {
  if (execArgv.some((a) => FLAG.test(a))) return null;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
