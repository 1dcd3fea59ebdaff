// The service as `npm start` runs it (tsx src/main.ts), from a fresh working directory with
// no configuration: what a newcomer gets on first start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

const root = new URL('../..', import.meta.url).pathname;
export const tsx = import.meta.resolve('tsx');
export const repoPath = (path: string) => join(root, path);

export interface FreshService {
  dir: string;
  port: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

export interface FreshServiceOptions {
  /** Start in this folder (another start's, to share its files) instead of a new one; stop() leaves it. */
  dir?: string;
  /** More variables (e.g. DATABASE_URL to share another start's database). */
  env?: Record<string, string>;
}

export async function startFreshService(label: string, options: FreshServiceOptions = {}): Promise<FreshService> {
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), `yagona-${label}-`));
  const port = await freePort();
  const service: ChildProcess = spawn(process.execPath, ['--import', tsx, repoPath('src/main.ts')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info', HOME: dir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  service.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  service.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const deadline = Date.now() + 60_000;
  while (!/Yagona ID is listening/.test(output)) {
    if (Date.now() > deadline || service.exitCode !== null) {
      service.kill('SIGKILL');
      throw new Error(`the service did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir,
    port,
    output: () => output,
    async stop() {
      service.kill('SIGTERM');
      if (service.exitCode === null) await new Promise((r) => service.once('exit', r));
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
