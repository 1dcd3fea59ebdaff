// `npm run bench -- --workers N` (issue 12, target 2): the same sign-in load against the service
// with WORKERS=1 and with WORKERS=N, alternating, and the scaling factor of the best runs. No
// process is pinned to a core here (the default mode gives the service core 0 alone): the
// service may use every core, and so this client competes with it for them.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../bench.ts';
import { alternateRounds, best, mean, summary } from './rounds.ts';

export async function compareWorkers(h: Harness, workers: number): Promise<void> {
  console.log(`service unpinned on ${availableParallelism()} cores; this bench client (node, ${h.concurrency} concurrent) runs on the same cores and competes with it: the figures understate the service`);
  const pki = await h.makePki(Number(h.args.citizens));
  const counts = [1, workers];
  const dirs = await Promise.all(counts.map(() => mkdtemp(join(tmpdir(), 'yagona-bench-workers-'))));
  try {
    const labels = counts.map((count) => `WORKERS=${count}`);
    const rates = await alternateRounds(labels, 3, (i) => h.measureService(dirs[i] as string, pki, { pin: false, env: { WORKERS: String(counts[i]) } }));
    console.log(summary(labels, rates));
    const [one = [], many = []] = rates;
    console.log(`scaling with ${workers} workers vs 1: best ${(best(many) / best(one)).toFixed(2)}×, mean ${(mean(many) / mean(one)).toFixed(2)}× (target: ≥ 1.8× with 2 workers on 2 cores)`);
  } finally {
    h.agent.destroy();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
