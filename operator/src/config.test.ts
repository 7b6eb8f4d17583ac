import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError, type OperatorOptions } from './config.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(argv, env) as OperatorOptions;

describe('operator options', () => {
  it('has the documented defaults', () => {
    const o = parse([], { POD_NAME: 'op-0' });
    expect(o).toMatchObject({
      kubeconfig: undefined, namespaces: [], listen: ':8443', adminListen: { host: '0.0.0.0', port: 9090 }, leaderElect: true,
      podNamespace: 'jairouter-system', podName: 'op-0', snapshotSecret: 'jairouter-snapshot',
      proxyServiceAccount: 'jairouter-system/jairouter-proxy', relistMs: 300_000, logLevel: 'info',
    });
  });

  it('reads repeatable namespaces and every flag', () => {
    const o = parse(['--kubeconfig', '/k', '--namespace', 'a', '--namespace', 'b', '--namespace', 'a', '--listen', '127.0.0.1:0',
      '--admin-listen', ':0', '--pod-namespace', 'ops', '--pod-name', 'me', '--snapshot-secret', 'snap',
      '--proxy-service-account', 'ops/proxy', '--relist-period', '30s'], { POD_NAME: 'ignored', POD_NAMESPACE: 'ignored' });
    expect(o).toMatchObject({
      kubeconfig: '/k', namespaces: ['a', 'b'], listen: '127.0.0.1:0', adminListen: { host: '0.0.0.0', port: 0 },
      podNamespace: 'ops', podName: 'me', snapshotSecret: 'snap', proxyServiceAccount: 'ops/proxy', relistMs: 30_000,
    });
  });

  it.each([
    [['--leader-elect=false'], false],
    [['--no-leader-elect'], false],
    [['--leader-elect'], true],
    [['--leader-elect=true'], true],
  ])('%j -> leaderElect %s', (argv, v) => {
    expect(parse(argv).leaderElect).toBe(v);
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--leader-elect=maybe'], '--leader-elect: expected true or false'],
    [['--namespace', 'Not_A_Namespace'], '--namespace: not a namespace name'],
    [['--admin-listen', 'nope'], '--admin-listen: expected HOST:PORT'],
    [['--proxy-service-account', 'proxy'], 'expected NAMESPACE/NAME'],
    [['--relist-period', 'often'], '--relist-period: expected a duration'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});
