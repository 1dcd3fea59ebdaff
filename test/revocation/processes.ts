// Real service processes for the revocation tests: the service as `node --import tsx
// src/main.ts` with its own environment, against real Redis, PostgreSQL (a database per test
// file) or a SQLite file. The operator command line: test/helpers/admin.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requirePostgres, testDatabaseUrl, unlimitedRates } from '../helpers/services.ts';
import { freePort } from '../helpers/ports.ts';
import { pem } from '../helpers/pem.ts';

const root = new URL('../..', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');

/** A scratch folder holding the trust anchors (and whatever else a test writes). */
export async function scratchDir(anchors: readonly Uint8Array[]): Promise<{ dir: string; trustDir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'yagona-revocation-'));
  const trustDir = join(dir, 'trust');
  await mkdir(trustDir);
  await Promise.all(anchors.map((der, i) => writeFile(join(trustDir, `anchor-${i}.pem`), pem(der))));
  return { dir, trustDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A PostgreSQL database of its own (the service opens its default schema), dropped by `drop`. */
export async function postgresDatabase(): Promise<{ url: string; exec(sql: string): Promise<void>; drop(): Promise<void> }> {
  const base = testDatabaseUrl();
  await requirePostgres(base);
  const name = `yagona_rev_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async exec(sql) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface ServiceProcess {
  url: string;
  output(): string;
  /** SIGTERM (the service drains), and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies wherever it is. */
  kill(): Promise<void>;
}

/** Starts `src/main.ts` with `env` (on `env.PORT` when given, else a free port) and waits until /readyz answers 200. */
export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', tsx, join(root, 'src/main.ts')], {
    cwd: root,
    // ENV_FILE empty: a .env in the checkout (the working directory) must not configure it.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: '', LOG_LEVEL: 'warn', ...unlimitedRates, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not become ready:\n${output}`);
    }
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    output: () => output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };

  async function signal(name: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(name);
    await exited;
  }
}
