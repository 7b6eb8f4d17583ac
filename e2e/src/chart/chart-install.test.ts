// The Helm chart on a real kube-apiserver (the local control plane): every rendered object
// accepted by a server-side dry run, and an install that grants exactly what the RBAC promises,
// upgrades and uninstalls.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, kubeRequest } from '@jairouter/testkit/control-plane';
import { freshNamespace, installCrds, setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { CHART, helmWithValues, render } from './helm.ts';
import { COMBINATIONS, one, type Json } from './chart-expectations.test-support.ts';
import { prometheusOperatorCrds } from './prometheus-operator.ts';

describe.skipIf(skipK8s)('helm chart charts/jairouter on the local control plane', () => {
  const cp = useControlPlane();
  const helmIn = (args: string[], values?: object) => helmWithValues(cp().helmPath, [...args, '--kubeconfig', cp().kubeconfig], values);

  beforeAll(async () => {
    await installCrds(cp(), join(CHART, 'crds'));
    // ServiceMonitor and PrometheusRule, from the Prometheus Operator's own module
    await installCrds(cp(), prometheusOperatorCrds());
    // the namespaces the value combinations watch, and where one puts the dashboard
    for (const name of ['ai', 'ml', 'monitoring']) {
      const r = await kubeRequest(cp(), '/api/v1/namespaces', { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
      expect([201, 409], r.text).toContain(r.status);
    }
  }, setupTimeoutMs());

  it('accepts every rendered object (server-side dry run) for every value combination, the ServiceMonitor and PrometheusRule against the Prometheus Operator\'s CRDs', { timeout: 120_000 }, async () => {
    const ns = await freshNamespace(cp(), 'chart');
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      const applicable = await render(cp().helmPath, values, ns);
      const r = await kubectl(cp(), ['apply', '--dry-run=server', '-f', '-'], { input: applicable.map((o) => stringify(o)).join('---\n') });
      expect(r.code, `${name}:\n${r.stderr}`).toBe(0);
      const accepted = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
      expect(accepted, `${name}:\n${r.stdout}`).toHaveLength(applicable.length);
    }
  });

  it('installs, grants exactly what the RBAC promises, upgrades and uninstalls', { timeout: 180_000 }, async () => {
    const ns = await freshNamespace(cp(), 'chart');
    const install = await helmIn(['install', 'jairouter', CHART, '-n', ns], {});
    // NOTES: how to call the proxy by its Service DNS name with the OpenAI SDK
    expect(install.stdout).toContain(`base_url="http://jairouter-proxy.${ns}.svc/v1"`);
    expect(install.stdout).toContain('from openai import OpenAI');
    // NOTES: where /metrics is, and the cost of watching every namespace
    expect(install.stdout).toContain('service/jairouter-operator-metrics and service/jairouter-proxy-metrics port 9090 (/metrics)');
    expect(install.stdout).toContain('may read Secrets in every namespace');
    const list = await kubectl(cp(), ['get', 'deployments,services,serviceaccounts,roles,rolebindings,poddisruptionbudgets', '-n', ns, '-o', 'name']);
    expect(list.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        'deployment.apps/jairouter-operator',
        'deployment.apps/jairouter-proxy',
        'poddisruptionbudget.policy/jairouter-operator',
        'poddisruptionbudget.policy/jairouter-proxy',
        'role.rbac.authorization.k8s.io/jairouter-operator',
        'rolebinding.rbac.authorization.k8s.io/jairouter-operator',
        'service/jairouter-operator',
        'service/jairouter-operator-metrics',
        'service/jairouter-proxy',
        'service/jairouter-proxy-metrics',
        'serviceaccount/jairouter-operator',
        'serviceaccount/jairouter-proxy',
      ].sort(),
    );

    // What the API server's RBAC authorizer actually allows each ServiceAccount.
    const can = async (account: string, ...args: string[]): Promise<boolean> => {
      const r = await kubectl(cp(), ['auth', 'can-i', `--as=system:serviceaccount:${ns}:${account}`, ...args]);
      expect(['yes', 'no'], `can-i ${args.join(' ')}: ${r.stderr}`).toContain(r.stdout.trim());
      return r.stdout.trim() === 'yes';
    };
    const operatorMay: Array<[boolean, ...string[]]> = [
      [true, 'watch', 'modelroutes.jairouter.io', '-A'],
      [true, 'list', 'tenants.jairouter.io', '-n', 'ai'],
      [true, 'patch', 'ratelimitpolicies.jairouter.io', '--subresource=status', '-n', 'ai'],
      [false, 'update', 'modelroutes.jairouter.io', '-n', 'ai'],
      [false, 'delete', 'tenants.jairouter.io', '-n', 'ai'],
      [true, 'list', 'secrets', '-A'],
      [false, 'create', 'secrets', '-n', 'ai'],
      [false, 'update', 'secrets/some-app-secret', '-n', ns],
      [true, 'update', 'secrets/jairouter-snapshot', '-n', ns],
      [true, 'create', 'secrets', '-n', ns],
      [false, 'delete', 'secrets/jairouter-operator-tls', '-n', ns],
      [true, 'update', 'configmaps/jairouter-ca', '-n', ns],
      [false, 'update', 'configmaps/other', '-n', ns],
      [true, 'patch', 'configmaps/jairouter-served', '-n', ns],
      [true, 'get', 'configmaps/jairouter-served', '-n', ns],
      [false, 'update', 'configmaps/jairouter-served', '-n', ns],
      [false, 'patch', 'configmaps/other', '-n', ns],
      [false, 'patch', 'configmaps/jairouter-served', '-n', 'ai'],
      [true, 'update', 'leases.coordination.k8s.io/jairouter-operator', '-n', ns],
      [false, 'update', 'leases.coordination.k8s.io/jairouter-operator', '-n', 'ai'],
      [true, 'list', 'endpointslices.discovery.k8s.io', '-A'],
      [true, 'create', 'events', '-n', 'ai'],
      [true, 'create', 'tokenreviews.authentication.k8s.io'],
      [false, 'create', 'serviceaccounts/token', '-n', ns],
      [false, 'list', 'pods', '-A'],
    ];
    for (const [expected, ...args] of operatorMay) {
      expect(await can('jairouter-operator', ...args), `operator may ${args.join(' ')}`).toBe(expected);
    }
    for (const args of [['get', 'secrets/jairouter-snapshot', '-n', ns], ['list', 'modelroutes.jairouter.io', '-A'], ['create', 'tokenreviews.authentication.k8s.io'], ['get', 'configmaps/jairouter-ca', '-n', ns], ['patch', 'configmaps/jairouter-served', '-n', ns]]) {
      expect(await can('jairouter-proxy', ...args), `proxy may ${args.join(' ')}`).toBe(false);
    }

    // The proxy's credential: a token for its account with the audience the chart projects,
    // which the operator (as its own ServiceAccount) verifies with a TokenReview for that audience.
    const minted = await kubectl(cp(), ['create', 'token', 'jairouter-proxy', '-n', ns, '--audience=jairouter-operator', '--duration=3600s']);
    expect(minted.code, minted.stderr).toBe(0);
    const review = async (audiences: string[]): Promise<Json> => {
      const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: minted.stdout.trim(), audiences } };
      const r = await kubectl(cp(), ['create', '-f', '-', '-o', 'json', '--validate=false', `--as=system:serviceaccount:${ns}:jairouter-operator`], { input: JSON.stringify(body) });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).status as Json;
    };
    const ok = await review(['jairouter-operator']);
    expect(ok.authenticated).toBe(true);
    expect(ok.user.username).toBe(`system:serviceaccount:${ns}:jairouter-proxy`);
    expect(ok.audiences).toEqual(['jairouter-operator']);
    // the same token is worthless for the API server's own audience
    expect((await review([])).authenticated).not.toBe(true);

    const upgrade = await helmIn(['upgrade', 'jairouter', CHART, '-n', ns], {
      proxy: { autoscaling: { enabled: true } }, operator: { watchNamespaces: ['ai'] }, networkPolicy: { enabled: true },
    });
    expect(upgrade.stdout).toContain('STATUS: deployed');
    expect(upgrade.stdout).not.toContain('may read Secrets in every namespace');
    expect((await kubectl(cp(), ['get', 'hpa/jairouter-proxy', '-n', ns, '-o', 'name'])).code).toBe(0);
    const policies = await kubectl(cp(), ['get', 'networkpolicies', '-n', ns, '-o', 'name']);
    expect(policies.stdout.split('\n').filter(Boolean).sort()).toEqual(['networkpolicy.networking.k8s.io/jairouter-operator', 'networkpolicy.networking.k8s.io/jairouter-proxy']);
    expect(await can('jairouter-operator', 'list', 'secrets', '-n', 'ai')).toBe(true);
    expect(await can('jairouter-operator', 'list', 'secrets', '-n', 'ml')).toBe(false);
    // Watching only "ai", the operator reads no Secret anywhere else: not cluster-wide, not in
    // another namespace, not in its own namespace beyond its two Secrets.
    for (const args of [['list', 'secrets', '-A'], ['watch', 'secrets', '-A'], ['get', 'secrets/app-key', '-n', 'ml'], ['watch', 'secrets', '-n', 'ml'], ['list', 'secrets', '-n', ns], ['get', 'secrets/other', '-n', ns]]) {
      expect(await can('jairouter-operator', ...args), `operator may ${args.join(' ')}`).toBe(false);
    }
    // An actual read with the operator's identity: the Secret in "ai" is readable, the one in "ml" is not.
    for (const target of ['ai', 'ml']) {
      const created = await kubectl(cp(), ['create', 'secret', 'generic', `app-key-${ns}`, '-n', target, '--from-literal=apiKey=sk-not-for-you']);
      expect(created.code, created.stderr).toBe(0);
    }
    const asOperator = `--as=system:serviceaccount:${ns}:jairouter-operator`;
    const readAi = await kubectl(cp(), ['get', 'secret', `app-key-${ns}`, '-n', 'ai', '-o', 'name', asOperator]);
    expect(readAi.code, readAi.stderr).toBe(0);
    const readMl = await kubectl(cp(), ['get', 'secret', `app-key-${ns}`, '-n', 'ml', '-o', 'jsonpath={.data.apiKey}', asOperator]);
    expect(readMl.code).not.toBe(0);
    expect(readMl.stderr).toMatch(/forbidden/i);
    expect(readMl.stdout).toBe('');
    for (const target of ['ai', 'ml']) await kubectl(cp(), ['delete', 'secret', `app-key-${ns}`, '-n', target]);

    await helmIn(['uninstall', 'jairouter', '-n', ns]);
    const left = await kubectl(cp(), ['get', 'deployments,services,roles', '-n', ns, '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
    const cluster = await kubectl(cp(), ['get', `clusterrole/jairouter-operator-${ns}`, '-o', 'name']);
    expect(cluster.code).not.toBe(0);
  });
});
