// The informer wrapper against a real kube-apiserver + etcd: a watch that loses its connection
// resumes from its resourceVersion; when etcd has compacted that revision meanwhile, the API
// server answers 410 Gone and the informer relists, ending with exactly the cluster's state
// (deletions made while it was cut off included). The API server runs without its watch cache
// so that a resumed watch reads etcd, where compaction decides what is too old.
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { CoreV1Api, KubeConfig, type KubernetesListObject, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { informerFactory, ResilientInformer } from '../kube/informer.ts';
import { skipReason, startCluster, waitFor, type Api } from './harness.ts';

const skip = skipReason();
const NS = 'informer-410';

/** A TCP forwarder to the API server that can be cut (every connection dropped, new ones refused) and restored. */
async function cuttableForwarder(target: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** etcd's JSON gateway: the current revision, then a compaction up to it. */
function etcd(url: string, path: string, body: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`etcd ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe.skipIf(skip !== undefined)('ResilientInformer against a real API server: connection loss and 410 Gone', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let api: Api;
  beforeAll(async () => {
    cluster = await startCluster({ crds: false, apiServerArgs: ['--watch-cache=false', '--etcd-compaction-interval=0'] });
    api = cluster.api;
    await api.namespace(NS);
  }, 180_000);
  afterAll(async () => cluster?.cp.stop(), 30_000);

  const configMap = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

  it('relists after a 410 for a compacted resourceVersion and ends with the cluster state, deletions included', async () => {
    const fwd = await cuttableForwarder(Number(new URL(cluster.cp.server).port));
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.cp.kubeconfig);
    const viaForwarder = new KubeConfig();
    viaForwarder.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${fwd.port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const core = viaForwarder.makeApiClient(CoreV1Api);
    let lists = 0;
    const errors: string[] = [];
    const changed: string[] = [];
    const informer = new ResilientInformer<KubernetesObject>({
      name: 'configmaps',
      factory: informerFactory(viaForwarder, `/api/v1/namespaces/${NS}/configmaps`, async () => {
        lists++;
        return JSON.parse(JSON.stringify(await core.listNamespacedConfigMap({ namespace: NS }))) as KubernetesListObject<KubernetesObject>;
      }),
      onChange: (o) => changed.push(o?.metadata?.name ?? '(relist)'),
      onError: (_n, err) => errors.push(String((err as Error)?.message ?? err)),
      relistMs: 0, // only a 410 may cause a second list here
      restartBaseMs: 100,
      restartMaxMs: 300,
    });
    const names = () => informer.list().map((o) => o.metadata!.name!).sort();
    try {
      await api.ok('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('a', '1'));
      await api.ok('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('b', '1'));
      await informer.start();
      await waitFor('a and b cached', async () => names().join() === 'a,b');
      expect(lists).toBe(1);

      fwd.cut();
      await waitFor('the informer noticed the cut', async () => errors.length > 0);
      // While it is cut off: a deletion, an update and a creation it cannot see...
      await api.ok('DELETE', `/api/v1/namespaces/${NS}/configmaps/a`);
      await api.ok('PATCH', `/api/v1/namespaces/${NS}/configmaps/b`, { data: { v: '2' } }, 'application/merge-patch+json');
      await api.ok('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('c', '1'));
      // ...and etcd compacts every revision up to now, the informer's resourceVersion included.
      const rev = (await etcd(cluster.cp.etcdUrl, '/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header.revision;
      await etcd(cluster.cp.etcdUrl, '/v3/kv/compaction', { revision: rev, physical: true });
      fwd.restore();

      await waitFor('the cluster state after the relist', async () => names().join() === 'b,c');
      const b = informer.list().find((o) => o.metadata!.name === 'b') as V1ConfigMap;
      expect(b.data).toEqual({ v: '2' });
      // The resumed watch got 410 Gone, so the informer listed again: that is how it learnt of the deletion.
      expect(lists).toBe(2);
      expect(changed).toContain('a');
      expect(informer.restarts).toBeGreaterThan(0);
    } finally {
      await informer.stop();
      fwd.cut();
      await fwd.close();
    }
  });
});
