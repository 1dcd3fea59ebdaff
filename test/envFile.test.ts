// A .env file in the working directory configures the service, the admin CLI and the agent as
// they are started (their own processes): a bad value there stops the start with the same one
// line as a bad real variable, and a real variable wins over the file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoPath, tsx } from './helpers/freshService.ts';
import { freePort } from './helpers/ports.ts';
import { agentVersion } from '../src/token/agentRelease.ts';

/** Runs `entry` in a folder holding `dotenv` (or none) with only `env` as its environment. */
function run(entry: string, args: string[], dotenv: string | undefined, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv);
  const result = spawnSync(process.execPath, ['--import', tsx, repoPath(entry), ...args], {
    cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('the service: a bad value in .env stops the start with the one line a bad real variable gives', () => {
  const fromFile = run('src/main.ts', [], 'PORT=eighty\n');
  const fromEnv = run('src/main.ts', [], undefined, { PORT: 'eighty' });
  assert.equal(fromEnv.status, 1);
  assert.match(fromEnv.stderr, /^bad configuration: PORT: [^\n]+\n$/);
  assert.deepEqual(fromFile, fromEnv);
});

test('the service: a real variable wins over .env, the rest of .env still applies', () => {
  // PORT is bad only in the file and good in the environment: the one line names LOG_LEVEL alone.
  const result = run('src/main.ts', [], 'PORT=eighty\nLOG_LEVEL=loud\n', { PORT: '8080' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^bad configuration: LOG_LEVEL: [^\n]+\n$/);
});

test('the admin CLI reads .env like the service', () => {
  const fromFile = run('scripts/admin.ts', ['revocations'], 'DATABASE_URL=mysql://db/yagona\n');
  const fromEnv = run('scripts/admin.ts', ['revocations'], undefined, { DATABASE_URL: 'mysql://db/yagona' });
  assert.notEqual(fromEnv.status, 0);
  assert.match(fromEnv.stderr, /^error: bad configuration: DATABASE_URL: [^\n]+\n$/);
  assert.deepEqual(fromFile, fromEnv);
  const overridden = run('scripts/admin.ts', ['revocations', '--json'], 'DATABASE_URL=mysql://db/yagona\n', { DATABASE_URL: 'sqlite:data/yagona.sqlite' });
  assert.equal(overridden.status, 0, overridden.stderr);
});

test('the agent reads .env: its port from the file, its origins from the environment that overrides it', async () => {
  const bad = run('agent/main.ts', [], 'YAGONA_AGENT_ORIGINS=file:///etc/passwd\n');
  assert.deepEqual(bad, run('agent/main.ts', [], undefined, { YAGONA_AGENT_ORIGINS: 'file:///etc/passwd' }));
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'yagona-agent: file:///etc/passwd has no origin\n');

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'yagona-dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), `YAGONA_AGENT_PORT=${port}\nYAGONA_AGENT_ORIGINS=file:///etc/passwd\n`);
  const agent = spawn(process.execPath, ['--import', tsx, repoPath('agent/main.ts')], {
    cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, YAGONA_AGENT_ORIGINS: 'https://id.example.uz' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => void agent.kill('SIGTERM'));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    agent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    agent.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    agent.once('exit', (code) => reject(new Error(`the agent exited (${code}): ${err}`)));
  });
  assert.equal(line, `yagona-agent ${agentVersion} listening on http://127.0.0.1:${port} for https://id.example.uz; module (none: --module)`);
});

