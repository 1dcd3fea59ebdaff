// Graceful shutdown of the HTTP server (docs/operations.md "Stopping"): stop accepting, let every
// request in flight get its answer within the grace period, and only then let the stores close.
import type { Server } from 'node:http';

export interface Drain {
  /** True from the start of draining: /readyz answers 503 so a balancer stops sending. */
  draining(): boolean;
  /** Resolves once every connection is closed: the last request answered, or the grace period over. */
  drain(): Promise<{ forced: boolean }>;
}

export function createDrain(server: Server, graceMs: number): Drain {
  let started: Promise<{ forced: boolean }> | undefined;
  return {
    draining: () => started !== undefined,
    drain() {
      started ??= new Promise((resolve) => {
        let forced = false;
        // Stops accepting; connections with a request in flight stay open until they answer.
        server.close(() => {
          clearInterval(idle);
          clearTimeout(grace);
          resolve({ forced });
        });
        // A keep-alive connection goes idle once its answer is out: close it then, rather than
        // after keepAliveTimeout (server.close() closes only those idle at the time it is called).
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const grace = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, graceMs);
      });
      return started;
    },
  };
}
