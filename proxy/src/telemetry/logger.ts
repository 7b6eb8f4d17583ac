import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines to stdout through an asynchronous destination, so a slow log pipe never
 * blocks request handling. Request logs carry ids, names, numbers; never keys or prompts.
 */
export function createLogger(level: string): Logger {
  const dest = pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level,
      base: { service: 'jairouter-proxy' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['authorization', 'apiKey', 'credential', '*.authorization', '*.credential'], censor: '[redacted]' },
    },
    dest,
  );
}
