// A port for a test that must name one before something listens on it (a service process,
// `openssl ocsp`, a Redis started by the test). Test files run side by side, so the port comes
// from below Linux's ephemeral range (32768–60999 by default): there, no outgoing connection of
// another test can take it between this check and the listen, as happens with a port the kernel
// handed out by listen(0).
import { createServer } from 'node:net';

const low = 20_000;
const high = 32_000;

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    // The unspecified IPv6 address also covers IPv4: free here means free on every address.
    server.listen({ port, host: '::', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port free on every local address, picked at random from 20000–31999. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${low}–${high - 1} after 100 tries`);
}
