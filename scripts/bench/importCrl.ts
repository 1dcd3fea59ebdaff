// `npm run bench -- --import-crl` (issue 12, target 5: p99 within 10 ms of quiet while
// `admin import-crl` runs). The service (one process, SQLite, Redis, pinned to one core as in
// the main bench) takes sign-ins during a quiet window and during a window that starts with an
// operator importing a 100 000-entry CRL of its citizens' CA into the same database — a new list
// each round, so every import records 100 000 new revocations. Three rounds; each window prints
// sign-in p50/p99/max and the service's event-loop delay (prom-client's histogram, restarted at
// each scrape), and the import's own duration.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toPem } from '../../src/pki/issue/issue.ts';
import { makeCrl } from '../../test/helpers/crlServer.ts';
import type { Harness } from '../bench.ts';

const rounds = 3;
const entries = 100_000;

export async function importCrl(h: Harness): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'yagona-bench-import-'));
  const pki = await h.makePki(Number(h.args.citizens));
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const service = await h.startService(dir, port, toPem(pki.root.der, 'CERTIFICATE'));
  // The operator's command line, against the service's own database and Redis.
  const importing = async (round: number) => {
    const file = join(dir, `round-${round}.crl`);
    await writeFile(file, makeCrl({ certDer: pki.ca.der, privateKey: pki.caKeys.privateKey }, {
      // 16 random octets, top bit clear so the DER contents need no sign octet.
      revoked: Array.from({ length: entries }, () => ({ serialHex: `1${randomBytes(15).toString('hex')}`, reason: 'keyCompromise' })),
      crlNumber: round,
    }));
    const started = performance.now();
    const admin = spawn(process.execPath, [...h.adminEntry(), 'import-crl', file, '--ca', join(dir, 'ca.pem'), '--yes', '--json'], {
      env: {
        ...process.env, DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`, REDIS_URL: h.args.redis, ENV_FILE: '',
        TRUST_ANCHORS_DIR: join(dir, 'trust'), INTERMEDIATES_DIR: join(dir, 'none'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    admin.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => admin.on('exit', resolve));
    if (code !== 0) throw new Error(`admin import-crl exited with ${code}: ${output}`);
    const { added } = JSON.parse(output) as { added: number };
    return { seconds: (performance.now() - started) / 1000, added };
  };
  await writeFile(join(dir, 'ca.pem'), toPem(pki.ca.der, 'CERTIFICATE'));
  const window = async (name: string, during?: Promise<{ seconds: number; added: number }>) => {
    await h.serviceMetrics(port);
    const result = await h.driveLogins(port, pki.citizens, h.seconds);
    const loopMs = (await h.serviceMetrics(port))('yagona_nodejs_eventloop_lag_max_seconds') * 1000;
    const imported = during === undefined ? '' : await during.then(({ seconds, added }) => `  import: ${added} added in ${seconds.toFixed(1)} s`);
    console.log(`${name.padEnd(12)} sign-ins/s ${result.rate.toFixed(0).padStart(4)}  p50_ms ${result.p50.toFixed(1).padStart(6)}  p99_ms ${result.p99.toFixed(1).padStart(6)}  max_ms ${result.max.toFixed(1).padStart(7)}  event-loop delay max_ms ${result.failures === 0 ? '' : `(failures ${result.failures}) `}${loopMs.toFixed(1).padStart(7)}${imported}`);
    return { ...result, loopMs };
  };
  try {
    await h.driveLoginsFor(port, pki.citizens, 2);
    console.log(`admin import-crl: ${entries} entries a round; concurrency ${h.concurrency}, ${h.seconds} s windows, ${rounds} rounds`);
    const differences: Array<{ p99: number; max: number; loop: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      const quiet = await window(`${round} quiet`);
      const during = await window(`${round} importing`, importing(round));
      differences.push({ p99: during.p99 - quiet.p99, max: during.max - quiet.max, loop: during.loopMs - quiet.loopMs });
    }
    const median = (key: 'p99' | 'max' | 'loop') => differences.map((d) => d[key]).sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
    console.log(`importing - quiet, median of ${rounds}: p99 ${median('p99').toFixed(1)} ms, max ${median('max').toFixed(1)} ms, event-loop delay max ${median('loop').toFixed(1)} ms (target: p99 within 10 ms)`);
  } finally {
    service.kill('SIGTERM');
    h.agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
