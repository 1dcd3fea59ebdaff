// `npm run agent` as a citizen starts it: a process that says where it listens, serves the
// origin of ISSUER_URL by default (or the --origin given), and refuses a bad origin at start.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { agentVersion } from '../../src/token/agentRelease.ts';
import { softhsmModule } from '../helpers/softhsm.ts';
import { freePort } from '../helpers/ports.ts';

const root = new URL('../..', import.meta.url).pathname;
const started: ChildProcess[] = [];

after(() => {
  for (const child of started) child.kill('SIGTERM');
});


/** Starts the agent and resolves with its first stdout line once it listens. */
function startAgentProcess(args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.once('exit', (code) => reject(new Error(`the agent exited (${code}): ${err}`)));
  });
}

test('serves the origin of ISSUER_URL by default, and only that', async () => {
  const port = await freePort();
  const line = await startAgentProcess(['--module', softhsmModule, '--port', String(port)], { ISSUER_URL: 'https://id.example.uz/some/path' });
  assert.equal(line, `yagona-agent ${agentVersion} listening on http://127.0.0.1:${port} for https://id.example.uz; module ${softhsmModule}`);
  const ok = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { origin: 'https://id.example.uz' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { agent: 'yagona-agent', version: agentVersion, module: softhsmModule });
  const other = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { origin: 'http://localhost:8080' } });
  assert.equal(other.status, 403);
});

test('--origin replaces the default; a URL without an origin stops the start with one line', async () => {
  const port = await freePort();
  const line = await startAgentProcess(['--origin', 'https://a.example', 'https://b.example:8443', '--port', String(port)]);
  assert.match(line, /for https:\/\/a\.example, https:\/\/b\.example:8443; module \(none: --module\)$/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'agent/main.ts', '--origin', 'file:///etc/passwd', '--port', String(port)], { cwd: root, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'yagona-agent: file:///etc/passwd has no origin\n');
});

test('a bad YAGONA_AGENT_PORT stops the start with one line, like a bad --port', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'agent/main.ts', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ENV_FILE: '', ...env } });
  const fromEnv = run([], { YAGONA_AGENT_PORT: 'eighty' });
  assert.equal(fromEnv.status, 2);
  assert.equal(fromEnv.stderr, 'yagona-agent: YAGONA_AGENT_PORT: not a port: eighty\n');
  const fromArgument = run(['--port', '70000'], {});
  assert.notEqual(fromArgument.status, 0);
  assert.equal(fromArgument.stderr.trim().split('\n').length, 1);
  assert.match(fromArgument.stderr, /not a port: 70000/);
});
