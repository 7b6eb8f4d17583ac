import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The operator's JSON log lines, in the proxy's shape (proxy/src/telemetry/logger.ts): the level
 * as its name, the time as ISO-8601 and a `service` field, so one log pipeline query reads both
 * (pino's defaults are numbers: `"level":30,"time":1796331708373`).
 */
export function createLogger(level: string, pod: string, dest?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'jairouter-operator', pod },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return dest ? pino(options, dest) : pino(options);
}
