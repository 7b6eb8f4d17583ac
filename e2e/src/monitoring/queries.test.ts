// The dashboard and the alert rules against a real Prometheus scraping a real operator and proxy
// on the local control plane, after traffic that exercises every series they use: every panel
// query and every rule expression runs without an error, and every series it names exists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '@jairouter/testkit/config';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { observabilitySetupTimeoutMs, skipObservability, startPrometheus, type Prometheus } from '@jairouter/testkit/observability';
import { startRedis, type RedisServer } from '@jairouter/testkit/redis';
import { GROUP_VERSION, Stack, waitFor, type Obj } from '../stack/stack.ts';
import { chatStatus } from '../stack/traffic.ts';

const DIR = join(REPO_ROOT, 'charts/jairouter/monitoring');
const KEY = 'sk-e2e-monitoring-0123456789';
const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };

interface Panel { title: string; targets?: { expr: string }[] }
const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboard.json'), 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query?: string | { query: string } }[] } };
const rules = (parse(readFileSync(join(DIR, 'alerts.yaml'), 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);

/** A dashboard expression as Grafana would send it, with every variable at "All". */
function resolve(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replace(/\$(namespace|route|tenant)\b/g, '.*');
}

/** The series an expression names (ours, the gen_ai conventions', controller-runtime's, recording rules). */
function seriesNamed(expr: string): string[] {
  // Label matchers and grouping clauses hold label names (gen_ai_request_model), not series.
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...new Set(bare.match(/\b(?:jairouter[_:]|gen_ai_|controller_runtime_|workqueue_)[A-Za-z0-9_:]*/g) ?? [])];
}

const QUERIES: { what: string; expr: string }[] = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t, i) => ({ what: `panel "${p.title}" query ${i + 1}`, expr: resolve(t.expr) }))),
  // label_values(<selector>, <label>): the selector must select something.
  ...dashboard.templating.list
    .map((v) => (typeof v.query === 'object' ? v.query.query : v.query) ?? '')
    .filter((q) => q.startsWith('label_values('))
    .map((q) => ({ what: `variable query ${q}`, expr: resolve(q.slice('label_values('.length, q.lastIndexOf(','))) })),
  ...rules.map((r) => ({ what: r.alert ? `alert ${r.alert}` : `recording rule ${r.record}`, expr: r.expr })),
];

describe.skipIf(skipK8s || skipObservability)('dashboard and alerts against a real Prometheus scraping a real operator and proxy', () => {
  const cp = useControlPlane();
  let stack: Stack;
  let good: FakeBackend;
  let broken: FakeBackend;
  let redis: RedisServer;
  let prom: Prometheus;
  let names: Set<string>;

  beforeAll(async () => {
    good = await startFakeOpenAI({ name: 'good' });
    broken = await startFakeOpenAI({ name: 'broken' });
    broken.setMode('error500');
    redis = await startRedis();
    stack = new Stack(cp());
    await stack.start({ prefix: 'monitoring', operators: 1, proxies: 1, proxyArgs: () => ['--redis-url', redis.url] });
    const objects: Obj[] = [
      {
        apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'chat' },
        spec: { models: ['chat'], backends: [{ name: 'good', adapter: 'openai', url: good.url, pricing: { inputPerMillion: 3, outputPerMillion: 15 } }] },
      },
      {
        apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'primary' },
        spec: {
          models: ['primary'],
          backends: [{ name: 'broken', adapter: 'openai', url: broken.url }],
          retry: { attempts: 1, backoff: { base: '10ms', max: '20ms' } },
          fallback: { models: ['chat'] },
        },
      },
      { apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'failing' }, spec: { models: ['failing'], backends: [{ name: 'broken', adapter: 'openai', url: broken.url }], retry: { attempts: 0 } } },
      { apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'limited' }, spec: { models: ['limited'], backends: [{ name: 'good', adapter: 'openai', url: good.url }] } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-keys' }, type: 'Opaque', stringData: { ci: KEY } },
      { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: 'team' }, spec: { apiKeys: { secretRefs: [{ name: 'team-keys' }] } } },
      {
        apiVersion: GROUP_VERSION, kind: 'RateLimitPolicy', metadata: { name: 'one-an-hour' },
        spec: { targetRefs: [{ kind: 'ModelRoute', name: 'limited' }], rules: [{ name: 'r', algorithm: 'FixedWindow', limit: { requests: 1, per: '1h' }, scope: 'Cluster' }] },
      },
    ];
    for (const o of objects) await stack.apply(o);
    for (const [kind, name] of [['ModelRoute', 'chat'], ['ModelRoute', 'primary'], ['ModelRoute', 'failing'], ['ModelRoute', 'limited'], ['Tenant', 'team'], ['RateLimitPolicy', 'one-an-hour']] as const) {
      await stack.waitForConditions(kind, name, TRUE3, 30_000);
    }
    const proxy = stack.proxies[0]!;
    const host = (u: string) => new URL(u).host;
    prom = await startPrometheus({ scrapeTargets: [host(stack.operators[0]!.adminUrl), host(proxy.adminUrl)], ruleFiles: [join(DIR, 'alerts.yaml')] });

    // Traffic: JSON and streamed answers (usage, first token, spend), a retry and a fallback, a
    // 502, a refusal by a Cluster limit, an unknown model and a bad key.
    await waitFor('the proxy serves the routes', async () => (await chatStatus(proxy, KEY, 'chat')) === 200, 20_000);
    const stream = await fetch(`${proxy.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three four' }] }),
    });
    expect(stream.status).toBe(200);
    await stream.text();
    expect(await chatStatus(proxy, KEY, 'primary')).toBe(200);
    expect(await chatStatus(proxy, KEY, 'failing')).toBe(502);
    expect([await chatStatus(proxy, KEY, 'limited'), await chatStatus(proxy, KEY, 'limited')]).toEqual([200, 429]);
    expect(await chatStatus(proxy, KEY, 'no-such-model')).toBe(404);
    expect(await chatStatus(proxy, 'sk-not-a-key-000000000000', 'chat')).toBe(401);

    await prom.waitForTarget(host(proxy.adminUrl));
    await prom.waitForTarget(host(stack.operators[0]!.adminUrl));
    // Scraped after the traffic, twice (rates need two samples), and the rules evaluated.
    const seen = async (expr: string) => {
      const r = await prom.query(expr);
      return r.resultType === 'vector' && r.result.length > 0;
    };
    await waitFor('the traffic in Prometheus, rules evaluated', async () => (await seen('jairouter:slow_first_token:ratio_rate5m')) && (await seen('jairouter:request_errors:ratio_rate5m')), 60_000).catch(async (e: Error) => {
      const diag = await Promise.all(['up', 'jairouter:slow_first_token:ratio_rate5m', 'jairouter:request_errors:ratio_rate5m'].map(async (q) => `${q}: ${JSON.stringify(await prom.query(q))}`));
      throw new Error(`${e.message}\n${diag.join('\n')}`);
    });
    const res = await fetch(`${prom.url}/api/v1/label/__name__/values`);
    names = new Set(((await res.json()) as { data: string[] }).data);
  }, setupTimeoutMs() + observabilitySetupTimeoutMs());

  afterAll(async () => {
    await prom?.stop();
    await stack?.stop();
    await redis?.stop();
    await good?.close();
    await broken?.close();
  }, 30_000);

  it.each(QUERIES.map((q) => [q.what, q.expr] as const))('%s runs and names only series that exist', async (_what, expr) => {
    await prom.query(expr); // throws with Prometheus' error message on a bad query
    const missing = seriesNamed(expr).filter((n) => !names.has(n) && !names.has(n.replace(/_(bucket|sum|count)$/, '')));
    expect(missing, `series not in Prometheus: ${missing.join(', ')}`).toEqual([]);
  });

  it('the panels show the traffic: requests by route, the 429, spend, a fallback, one proxy on the operator\'s config', async () => {
    const value = async (expr: string): Promise<number> => {
      const r = await prom.query(expr);
      return r.resultType === 'vector' && r.result[0] ? Number(r.result[0].value[1]) : NaN;
    };
    expect(await value('sum(jairouter_requests_total{status="429"})')).toBe(1);
    expect(await value('sum(jairouter_requests_total{status="502"})')).toBe(1);
    expect(await value('sum(gen_ai_server_request_duration_seconds_count{error_type="bad_gateway"})')).toBe(1);
    expect(await value('sum(jairouter_rate_limited_total)')).toBe(1);
    expect(await value('sum(jairouter_fallbacks_total{fallback=~".*/chat"})')).toBe(1);
    expect(await value('sum(jairouter_spend_total)')).toBeGreaterThan(0);
    expect(await value('sum(gen_ai_server_time_to_first_token_seconds_count)')).toBe(1);
    expect(await value('count(count by (version) (jairouter_config_info))')).toBe(1);
    expect(await value('sum(jairouter_operator_leader)')).toBe(1);
    expect(await value('min(jairouter_ratelimit_redis_up)')).toBe(1);
  });
});
