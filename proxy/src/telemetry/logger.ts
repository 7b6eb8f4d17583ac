import { pino, type Logger } from 'pino';

export type { Logger };

let lastMs = 0;
let lastTime = '';

/** ISO-8601 time, formatted once per millisecond however many lines share it. */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * JSON lines to stdout through an asynchronous destination, so a slow log pipe never blocks
 * request handling. No redaction pass: log calls carry ids, names and numbers by construction
 * (never keys, credentials or prompts), which the integration tests check on real output;
 * pino's wildcard redaction cost a tenth of the proxy's CPU per request.
 */
export function createLogger(level: string): Logger {
  const dest = pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level,
      base: { service: 'jairouter-proxy' },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}
