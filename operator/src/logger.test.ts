import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('operator log lines', () => {
  it('have the proxy\'s shape: level name, ISO time, service', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger('info', 'op-0', sink);
    log.info({ version: 'sha256:abc' }, 'operator ready');
    log.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', service: 'jairouter-operator', pod: 'op-0', version: 'sha256:abc', msg: 'operator ready' });
    expect(line['time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(new Date(String(line['time'])).toISOString()).toBe(line['time']);
    // The same first keys, in the same order, as the proxy's lines.
    expect(Object.keys(line).slice(0, 3)).toEqual(['level', 'time', 'service']);
  });
});
