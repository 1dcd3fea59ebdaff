// A TCP proxy in front of a real service (Redis, PostgreSQL) that misbehaves on request:
// it delays what the client sends, cuts the connection instead of replying, drops every
// open connection, or refuses new ones — the faults of docs/security-cases.md §K, without touching
// the shared service other tests are using.
import { connect, createServer, type Socket } from 'node:net';

export type Fault =
  | { kind: 'none' }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop-reply' }
  | { kind: 'refuse' };

export interface TcpProxy {
  /** `target` with its host and port replaced by the proxy's. */
  url: string;
  fault: Fault;
  /** Drops every open connection, as a restart or a network blip would. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string, defaultPort: number): Promise<TcpProxy> {
  const targetUrl = new URL(target);
  const sockets = new Set<Socket>();
  let fault: Fault = { kind: 'none' };

  const server = createServer((client) => {
    if (fault.kind === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = connect(Number(targetUrl.port || defaultPort), targetUrl.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (data) => {
      if (fault.kind === 'delay') setTimeout(() => upstream.write(data), fault.ms);
      else upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (fault.kind === 'drop-reply') client.destroy();
      else client.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(targetUrl.href);
  proxied.host = `127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    url: proxied.href,
    get fault() {
      return fault;
    },
    set fault(next: Fault) {
      fault = next;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
