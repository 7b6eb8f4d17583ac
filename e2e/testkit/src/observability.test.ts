// The real Prometheus, promtool and Jaeger the integration tests use (observability.ts): each
// does the one thing tests will ask of it. Built by build-k8s-binaries.sh when missing.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  observabilityReady,
  observabilitySetupTimeoutMs,
  promtool,
  skipObservability,
  startJaeger,
  startPrometheus,
  type Jaeger,
  type Prometheus,
} from './observability.ts';
import { waitFor } from './wait-for.ts';
import { observabilityBinaries, parseObservabilityVersionsEnv, parseVersionsEnv } from './control-plane/binaries.ts';

describe('observability versions', () => {
  const env = '# c\nKUBERNETES_VERSION=v1.34.4\nKUBECTL_VERSION=v1.34.13\nETCD_VERSION=v3.6.16\nHELM_VERSION=v3.19.5\nPROMETHEUS_VERSION=v0.316.0\nJAEGER_VERSION=v1.75.0\n';

  it('are read from k8s-versions.env beside the control plane\'s, which parse as before', () => {
    expect(parseObservabilityVersionsEnv(env)).toEqual({ prometheus: 'v0.316.0', jaeger: 'v1.75.0' });
    expect(parseVersionsEnv(env)).toStrictEqual({ kubernetes: 'v1.34.4', kubectl: 'v1.34.13', etcd: 'v3.6.16', helm: 'v3.19.5' });
    expect(() => parseObservabilityVersionsEnv('PROMETHEUS_VERSION=3.16\nJAEGER_VERSION=v1.75.0\n')).toThrow(/PROMETHEUS_VERSION must be vX.Y.Z/);
  });

  it('name the binaries by version in the control plane\'s bin directory', () => {
    expect(observabilityBinaries('/c', { prometheus: 'v0.316.0', jaeger: 'v1.75.0' })).toEqual({
      prometheus: '/c/k8s/bin/prometheus-v0.316.0',
      promtool: '/c/k8s/bin/promtool-v0.316.0',
      jaeger: '/c/k8s/bin/jaeger-v1.75.0',
      versions: { prometheus: 'v0.316.0', jaeger: 'v1.75.0' },
    });
  });
});

describe.skipIf(skipObservability)('observability binaries', () => {
  beforeAll(async () => {
    await observabilityReady();
  }, observabilitySetupTimeoutMs());

  describe('prometheus', () => {
    let target: Server;
    let prom: Prometheus | undefined;
    let hostPort = '';
    beforeAll(async () => {
      target = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end('# HELP jairouter_testkit_answer A metric for the testkit test.\n# TYPE jairouter_testkit_answer gauge\njairouter_testkit_answer{kind="test"} 42\n');
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      const addr = target.address();
      hostPort = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      prom = await startPrometheus({ scrapeTargets: [hostPort] });
    }, 60_000);
    afterAll(async () => {
      await prom?.stop();
      target?.close();
    });

    it('scrapes a target and answers an instant query with its value', async () => {
      const t = await prom!.waitForTarget(hostPort);
      expect(t.health).toBe('up');
      let result = await prom!.query('jairouter_testkit_answer');
      await waitFor('the sample to be queryable', async () => {
        result = await prom!.query('jairouter_testkit_answer');
        return result.resultType === 'vector' && result.result.length === 1;
      });
      expect(result.resultType).toBe('vector');
      if (result.resultType !== 'vector') return;
      expect(result.result[0]!.metric).toMatchObject({ __name__: 'jairouter_testkit_answer', kind: 'test', job: 'test', instance: hostPort });
      expect(Number(result.result[0]!.value[1])).toBe(42);
      expect(await prom!.query('up{job="test"} == 1')).toMatchObject({ resultType: 'vector', result: [{ value: [expect.any(Number), '1'] }] });
    });

    it('refuses a broken query with its message', async () => {
      await expect(prom!.query('sum(')).rejects.toThrow(/bad_data/);
    });
  });

  describe('promtool', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'jairouter-promtool-test-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('accepts a valid rules file', async () => {
      const file = join(dir, 'good.yml');
      await writeFile(file, 'groups:\n  - name: g\n    rules:\n      - alert: AnswerWrong\n        expr: jairouter_testkit_answer != 42\n        for: 1m\n        labels: { severity: page }\n');
      const r = await promtool(['check', 'rules', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: 1 rules found/);
    });

    it('rejects a broken one with its message', async () => {
      const file = join(dir, 'bad.yml');
      await writeFile(file, 'groups:\n  - name: g\n    rules:\n      - alert: AnswerWrong\n        expr: sum(jairouter_testkit_answer\n');
      const r = await promtool(['check', 'rules', file]);
      expect(r.code).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/FAILED/);
      expect(`${r.stdout}${r.stderr}`).toMatch(/unclosed left parenthesis/);
    });

    it('tells its version', async () => {
      const r = await promtool(['--version']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^promtool, version 3\.\d+\.\d+ /);
    });
  });

  describe('jaeger', () => {
    let jaeger: Jaeger | undefined;
    beforeAll(async () => {
      jaeger = await startJaeger();
    }, 60_000);
    afterAll(async () => {
      await jaeger?.stop();
    });

    it('stores a span sent as OTLP/HTTP JSON and returns it by service', async () => {
      const service = `testkit-${randomBytes(3).toString('hex')}`;
      const traceId = randomBytes(16).toString('hex');
      const spanId = randomBytes(8).toString('hex');
      const now = BigInt(Date.now()) * 1_000_000n;
      const body = {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
            scopeSpans: [
              {
                scope: { name: 'testkit' },
                spans: [
                  {
                    traceId,
                    spanId,
                    name: 'chat.completions',
                    kind: 2,
                    startTimeUnixNano: String(now - 5_000_000n),
                    endTimeUnixNano: String(now),
                    attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm1' } }],
                  },
                ],
              },
            ],
          },
        ],
      };
      const res = await fetch(`${jaeger!.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);

      const traces = await waitFor(`a trace of ${service}`, async () => {
        const t = await jaeger!.traces(service);
        return t.length > 0 ? t : undefined;
      });
      expect(traces).toHaveLength(1);
      const trace = traces[0]!;
      expect(trace.traceID).toBe(traceId);
      expect(trace.spans).toHaveLength(1);
      const span = trace.spans[0]!;
      expect(span).toMatchObject({ spanID: spanId, operationName: 'chat.completions', duration: 5_000 });
      expect(span.tags).toContainEqual(expect.objectContaining({ key: 'gen_ai.request.model', value: 'm1' }));
      expect(trace.processes[span.processID]!.serviceName).toBe(service);
      expect(await jaeger!.services()).toContain(service);
      expect(await jaeger!.traces('no-such-service')).toEqual([]);
    });
  });
});
