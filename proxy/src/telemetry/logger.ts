import { pino, type Logger } from 'pino';

export type { Logger };

let lastMs = 0;
let lastTime = '';

/** `,"time":"<ISO-8601>"`, formatted once per millisecond however many lines share it. */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export interface RequestLogEntry {
  requestId: string;
  tenant: string;
  keyId: string;
  model: string;
  route: string;
  backend: string;
  status: number;
  stream: boolean;
  latencyMs: number;
  tokensIn: number;
  tokensOut: number;
  /** Set when the upstream failed after the response started. */
  streamError: string;
  clientGone: boolean;
}

export interface Logging {
  log: Logger;
  /** Writes the one line per request; a no-op when the level is above info. */
  request(e: RequestLogEntry): void;
}

/**
 * JSON lines to stdout through an asynchronous destination, so a slow log pipe never blocks
 * request handling. No redaction pass: log calls carry ids, names and numbers by construction
 * (never keys, credentials or prompts), which the integration tests check on real output.
 * The per-request line, the one written thousands of times a second, is serialised here
 * directly into the same destination and format as pino's lines: pino's generic path
 * (bindings, formatters, object walk) cost a fifth of the proxy's CPU per request.
 */
export function createLogging(level: string): Logging {
  const dest = pino.destination({ dest: 1, sync: false });
  const log = pino(
    {
      level,
      base: { service: 'jairouter-proxy' },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  const enabled = log.isLevelEnabled('info');
  return {
    log,
    request(e: RequestLogEntry): void {
      if (!enabled) return;
      let line =
        '{"level":"info"' + isoTime() + ',"service":"jairouter-proxy","requestId":' + JSON.stringify(e.requestId) +
        ',"tenant":' + JSON.stringify(e.tenant) + ',"keyId":' + JSON.stringify(e.keyId) +
        ',"model":' + JSON.stringify(e.model) + ',"route":' + JSON.stringify(e.route) +
        ',"backend":' + JSON.stringify(e.backend) + ',"status":' + e.status + ',"stream":' + e.stream +
        ',"latencyMs":' + e.latencyMs + ',"tokensIn":' + e.tokensIn + ',"tokensOut":' + e.tokensOut;
      if (e.streamError) line += ',"streamError":' + JSON.stringify(e.streamError);
      if (e.clientGone) line += ',"clientGone":true';
      dest.write(line + ',"msg":"request"}\n');
    },
  };
}
