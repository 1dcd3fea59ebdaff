// WORKERS > 1 (docs/configuration.md, issue 12): the service as that many processes on one port
// with node:cluster. The primary holds the listening socket and hands connections to the workers
// in turn; it serves nothing itself. The workers share Redis and the database like separate
// instances do, so they need nothing from each other. The primary passes SIGTERM and SIGINT on,
// each worker drains as a single process does (src/http/drain.ts), and the primary exits once
// all have. A worker that dies otherwise is replaced, within a bound: one that keeps dying
// (a bug at start, the database refusing it) stops the whole service rather than looping.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

// More deaths than this within the window: not a crash to heal from but a fault to show.
const restartWindowMs = 60_000;
const restartsPerWindow = 5;

export function superviseWorkers(count: number, logger: Logger): void {
  const live = new Set<Worker>();
  const deaths: number[] = [];
  let stopping = false;
  let exitCode = 0;

  const fork = () => live.add(cluster.fork());

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: live.size }, 'stopping the workers: each drains its requests in flight');
    for (const worker of live) worker.process.kill('SIGTERM');
    if (live.size === 0) process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (live.size === 0) {
        logger.info('stopped');
        process.exit(exitCode);
      }
      return;
    }
    const at = performance.now();
    while (deaths.length > 0 && at - (deaths[0] as number) > restartWindowMs) deaths.shift();
    deaths.push(at);
    if (deaths.length > restartsPerWindow) {
      logger.fatal({ worker: worker.process.pid, code, signal, deaths: deaths.length, windowSeconds: restartWindowMs / 1000 }, 'workers keep dying: stopping the service');
      exitCode = 1;
      stop('workers keep dying');
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'a worker died; starting another');
    fork();
  });

  process.on('SIGTERM', (signal) => stop(signal));
  process.on('SIGINT', (signal) => stop(signal));
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'started the workers');
}
