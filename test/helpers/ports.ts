// A loopback port for a test that must name one before something listens on it (a child
// process, `openssl ocsp`, a Redis started by the test).
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1: taken and released, so another process could take it first, rarely. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
