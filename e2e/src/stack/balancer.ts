// A stand-in for the operator's Service: a TCP forwarder on one loopback port in front of the
// operator replicas. TLS passes through untouched (the operator's certificate names
// 127.0.0.1). Two policies:
// - `ordered`: every connection goes to the first replica that accepts it, the others are
//   fallbacks (a proxy pod with affinity to one replica; a dead one is skipped, as kube-proxy
//   does once the Pod is gone);
// - `round-robin`: each new connection to the next replica, as a plain Service spreads them.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type BalancePolicy = 'ordered' | 'round-robin';

export interface Balancer {
  /** https://127.0.0.1:PORT */
  url: string;
  setTargets(ports: number[]): void;
  /** The replica port of every connection made so far, in order. */
  connections: number[];
  close(): Promise<void>;
}

export async function startBalancer(policy: BalancePolicy, initial: number[] = []): Promise<Balancer> {
  let targets = [...initial];
  let next = 0;
  const sockets = new Set<Socket>();
  const connections: number[] = [];

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const start = policy === 'round-robin' ? next : 0;
    const order = targets.map((_, i) => targets[(start + i) % targets.length]!);
    if (policy === 'round-robin') next = targets.length === 0 ? 0 : (next + 1) % targets.length;
    const attempt = (i: number) => {
      if (i >= order.length || client.destroyed) return void client.destroy();
      const upstream = connect({ host: '127.0.0.1', port: order[i]! });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        connections.push(order[i]!);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        if (!connected) return attempt(i + 1);
        upstream.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    connections,
    setTargets(ports) {
      targets = [...ports];
      next = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
