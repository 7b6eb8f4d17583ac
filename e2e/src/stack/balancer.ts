// A stand-in for the operator's Service: a TCP forwarder on one loopback port that spreads
// connections over the operator replicas round-robin and skips a replica that refuses the
// connection (a dead one), as kube-proxy does once the Pod is gone. TLS passes through
// untouched: the operator's certificate names 127.0.0.1.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  /** https://127.0.0.1:PORT */
  url: string;
  setTargets(ports: number[]): void;
  close(): Promise<void>;
}

export async function startBalancer(initial: number[] = []): Promise<Balancer> {
  let targets = [...initial];
  let next = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = targets.map((_, i) => targets[(next + i) % targets.length]!);
    next = targets.length === 0 ? 0 : (next + 1) % targets.length;
    const attempt = (i: number) => {
      if (i >= order.length || client.destroyed) return void client.destroy();
      const upstream = connect({ host: '127.0.0.1', port: order[i]! });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
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
