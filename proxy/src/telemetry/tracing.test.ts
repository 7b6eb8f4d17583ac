import { describe, expect, it } from 'vitest';
import { createLogging, type RequestLogEntry, type Sink } from './logger.ts';
import { displayUrl, parseResourceAttributes, startTracing, tracingEnv } from './tracing.ts';

const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('tracingEnv (the OTEL_* variables)', () => {
  it('is off without an endpoint, with OTEL_SDK_DISABLED=true and with OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingEnv({}, 'svc')).toMatchObject({ settings: null, off: expect.stringContaining('no OTEL_EXPORTER_OTLP_ENDPOINT') });
    expect(tracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'svc').settings).toBeNull();
    expect(tracingEnv({ ...ON, OTEL_SDK_DISABLED: 'TRUE' }, 'svc')).toMatchObject({ settings: null, off: 'OTEL_SDK_DISABLED=true' });
    expect(tracingEnv({ ...ON, OTEL_SDK_DISABLED: 'false' }, 'svc').settings).not.toBeNull();
    expect(tracingEnv({ ...ON, OTEL_TRACES_EXPORTER: 'none' }, 'svc')).toMatchObject({ settings: null, off: 'OTEL_TRACES_EXPORTER=none' });
  });

  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT; takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is', () => {
    expect(tracingEnv(ON, 'svc').settings?.url).toBe('http://collector:4318/v1/traces');
    expect(tracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/' }, 'svc').settings?.url).toBe('http://collector:4318/base/v1/traces');
    expect(tracingEnv({ ...ON, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x.example/otlp/traces' }, 'svc').settings?.url).toBe('https://x.example/otlp/traces');
    const bad = tracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'svc');
    expect(bad.settings).toBeNull();
    expect(bad.warnings.join()).toContain('not an http(s) URL');
  });

  it('samplers: parentbased_always_on by default, every specified name, the ratio of traceidratio ones', () => {
    expect(tracingEnv(ON, 'svc').settings).toMatchObject({ sampler: 'parentbased_always_on', ratio: 1 });
    for (const s of ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']) {
      expect(tracingEnv({ ...ON, OTEL_TRACES_SAMPLER: s }, 'svc').settings?.sampler).toBe(s);
    }
    expect(tracingEnv({ ...ON, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, 'svc').settings?.ratio).toBe(0.1);
    const badArg = tracingEnv({ ...ON, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, 'svc');
    expect(badArg.settings?.ratio).toBe(1);
    expect(badArg.warnings.join()).toContain('OTEL_TRACES_SAMPLER_ARG=2');
    const unknown = tracingEnv({ ...ON, OTEL_TRACES_SAMPLER: 'jaeger_remote' }, 'svc');
    expect(unknown.settings?.sampler).toBe('parentbased_always_on');
    expect(unknown.warnings.join()).toContain('jaeger_remote not supported');
  });

  it('service name: OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else the default', () => {
    expect(tracingEnv(ON, 'jairouter-proxy').settings?.serviceName).toBe('jairouter-proxy');
    expect(tracingEnv({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }, 'd').settings?.serviceName).toBe('from-attrs');
    expect(tracingEnv({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs', OTEL_SERVICE_NAME: 'named' }, 'd').settings?.serviceName).toBe('named');
  });

  it('resource attributes: decoded; a malformed value is ignored whole, with a warning', () => {
    const s = tracingEnv({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=ai, deployment.environment.name=prod%2Ceu' }, 'd');
    expect(s.settings?.resource).toEqual({ 'k8s.namespace.name': 'ai', 'deployment.environment.name': 'prod,eu' });
    const bad = tracingEnv({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'a=1,b' }, 'd');
    expect(bad.settings?.resource).toEqual({});
    expect(bad.warnings.join()).toContain('OTEL_RESOURCE_ATTRIBUTES ignored');
    expect(() => parseResourceAttributes('=x')).toThrow();
  });

  it('unsupported exporters and protocols are warned about, never fatal; OTEL_BSP_* tune the batch', () => {
    const s = tracingEnv({ ...ON, OTEL_TRACES_EXPORTER: 'otlp,console', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_QUEUE_SIZE: 'lots' }, 'd');
    expect(s.settings?.url).toBe('http://collector:4318/v1/traces');
    expect(s.settings?.batch).toEqual({ scheduledDelayMillis: 200 });
    expect(s.warnings).toHaveLength(3);
  });

  it('startTracing returns no tracing (and loads nothing) when off', async () => {
    const r = await startTracing({}, 'svc');
    expect(r.tracing).toBeNull();
  });
});

describe('displayUrl', () => {
  it('drops credentials, query and fragment', () => {
    expect(displayUrl('https://user:pw@llm.example:8443/v1?key=secret#x')).toBe('https://llm.example:8443/v1');
    expect(displayUrl('not a url')).toBe('');
  });
});

describe('the request log line', () => {
  const entry: RequestLogEntry = {
    requestId: 'r1', tenant: 't', keyId: 'k', user: '', model: 'm', route: 'ai/chat', backend: 'b', status: 200, error: '',
    stream: false, latencyMs: 1.5, tokensIn: 3, tokensOut: 4, streamError: '', clientGone: false, detail: '',
  };
  function line(e: RequestLogEntry): Record<string, unknown> {
    let out = '';
    const sink: Sink = { write: (s) => ((out += s), true), flush: (cb) => cb?.(), flushSync: () => {} };
    const logging = createLogging('info', sink);
    logging.request(e);
    (logging.log as unknown as { flush(): void }).flush();
    return JSON.parse(out.trim()) as Record<string, unknown>;
  }

  it('carries trace_id and span_id when the request is traced, the same fields as before otherwise', () => {
    const plain = line(entry);
    expect(plain).not.toHaveProperty('trace_id');
    const traced = line({ ...entry, trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' } });
    expect(traced).toMatchObject({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
    const { trace_id: _t, span_id: _s, time: _a, ...rest } = traced;
    const { time: _b, ...before } = plain;
    expect(rest).toEqual(before);
  });
});
