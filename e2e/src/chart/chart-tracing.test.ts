// The chart's tracing values: the OTEL_* environment of both Deployments (none while
// tracing.endpoint is empty), the schema's refusals, and the operator NetworkPolicy's egress to
// the collector's port. What the variables do: proxy/src/telemetry/tracing.ts, operator/src/tracing.ts.
import { describe, expect, it } from 'vitest';
import { skipK8s } from '@jairouter/testkit/control-plane/testing';
import { CHART, findHelm, helmWithValues, render } from './helm.ts';
import { container, one, type Json } from './chart-expectations.test-support.ts';

const helm = findHelm();
const NS = 'jairouter-system';
const TRACING = {
  tracing: {
    endpoint: 'http://otel-collector.monitoring:4318',
    resourceAttributes: { 'deployment.environment.name': 'prod, eu' },
  },
};

const envOf = async (values: object, name: string): Promise<Json[]> => (container(one(await render(helm!, values, NS), 'Deployment', name)).env as Json[]) ?? [];
const otel = (env: Json[]) => Object.fromEntries(env.filter((e) => String(e.name).startsWith('OTEL_')).map((e) => [e.name, e.value]));

// chart.test.ts builds helm when it is missing; this file only runs where it is.
describe.skipIf(helm === undefined && skipK8s)('helm chart: tracing', () => {
  it('sets no OTEL_* variable while tracing.endpoint is empty', async () => {
    expect(otel(await envOf({}, 'jairouter-proxy'))).toEqual({});
    expect(otel(await envOf({}, 'jairouter-operator'))).toEqual({});
  });

  it('feeds tracing.* to both Deployments as the standard OTEL_* variables, after POD_NAME', async () => {
    for (const name of ['jairouter-proxy', 'jairouter-operator']) {
      const env = await envOf(TRACING, name);
      expect(otel(env)).toEqual({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_SERVICE_NAME: name,
        OTEL_RESOURCE_ATTRIBUTES: `k8s.namespace.name=${NS},k8s.deployment.name=${name},k8s.pod.name=$(POD_NAME),deployment.environment.name=prod%2C%20eu`,
      });
      // $(POD_NAME) is expanded only from variables defined before it.
      expect(env.findIndex((e) => e.name === 'POD_NAME')).toBeLessThan(env.findIndex((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES'));
    }
    const custom = await envOf({ tracing: { endpoint: 'https://otlp.example.com', sampler: 'always_on', samplerArg: 1, serviceName: { proxy: 'gw' } } }, 'jairouter-proxy');
    expect(otel(custom)).toMatchObject({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '1', OTEL_SERVICE_NAME: 'gw' });
  });

  it('lints with tracing on, and refuses an endpoint that is not a URL or an unknown sampler', async () => {
    const lint = await helmWithValues(helm!, ['lint', CHART, '--strict'], TRACING, true);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    await expect(render(helm!, { tracing: { endpoint: 'otel-collector:4318' } })).rejects.toThrow(/tracing\/endpoint/);
    await expect(render(helm!, { tracing: { endpoint: 'http://c:4318', sampler: 'jaeger_remote' } })).rejects.toThrow(/tracing\/sampler/);
    await expect(render(helm!, { tracing: { samplerArg: '2' } })).rejects.toThrow(/tracing\/samplerArg/);
  });

  it('with networkPolicy.enabled, lets the operator reach the collector\'s port (the proxy goes through backendEgress)', async () => {
    const egress = async (values: object) => (one(await render(helm!, { networkPolicy: { enabled: true }, ...values }, NS), 'NetworkPolicy', 'jairouter-operator').spec.egress as Json[]);
    const ports = (rules: Json[]) => rules.flatMap((r) => (r.ports as Json[] | undefined) ?? []).map((p) => `${p.protocol}/${p.port}`);
    expect(ports(await egress({}))).not.toContain('TCP/4318');
    expect(ports(await egress(TRACING))).toContain('TCP/4318');
    expect(ports(await egress({ tracing: { endpoint: 'https://otlp.example.com/otlp' } }))).toContain('TCP/443');
  });
});
