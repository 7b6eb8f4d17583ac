// Kept apart from load.ts, which imports the compiler: the proxy's main process uses only this,
// and importing load.ts would load the compiler, zod and the YAML parser into it (about 25 MB of
// RSS) for nothing: compiling happens in a child process (compile-worker.ts).

/**
 * compile() ends a status message with what becomes of the object in the config it produced
 * ("Serving with 1 of 2 backends", "The route is not served"): true of an applied config, false
 * of a rejected edit, whose config nobody serves. The reason without that sentence is what a
 * rejected edit logs.
 */
const CONSEQUENCES = [
  /\s*\bServing with \d+ of \d+ backends\.?/g,
  /\s*\bNo backend resolved: the route is not served\.?/g,
  /\s*\bThe route is not served\.?/g,
  /;\s*this \w+ is not served until then/g,
];

export function withoutConsequence(message: string): string {
  let m = message;
  for (const re of CONSEQUENCES) m = m.replace(re, '');
  m = m.trim();
  return m === '' || m.endsWith('.') ? m : `${m}.`;
}
