// The production runtime (docs/operations.md): `npm run build` makes a dist/ that runs with
// plain node from a folder without the sources; SIGTERM lets every request in flight get its
// answer before the process exits; `npm start` passes the signal to the service.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createApp } from '../../src/app.ts';
import { freePort } from '../helpers/ports.ts';
import { scratchDir } from '../revocation/processes.ts';
import { repoPath, tsx } from '../helpers/freshService.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { unlimitedRates } from '../helpers/services.ts';
import { openTestDatabases, startTestApp } from '../helpers/app.ts';

const run = promisify(execFile);

interface Process {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns `command` with PORT set and waits (60 s at most) until /readyz answers 200. */
async function startProcess(command: string[], env: Record<string, string>, cwd: string): Promise<Process> {
  const port = await freePort();
  const child = spawn(command[0]!, command.slice(1), {
    cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ENV_FILE: '', LOG_LEVEL: 'info', ...unlimitedRates, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || attempt > 600) {
      child.kill('SIGKILL');
      throw new Error(`${command.join(' ')} did not become ready:\n${output}`);
    }
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, output: () => output, exited };
}

/** Resolves once `text` has appeared in `read()` (10 s at most). */
async function waitFor(read: () => string, text: string | RegExp): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (typeof text === 'string' ? read().includes(text) : text.test(read())) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never saw ${String(text)} in:\n${read()}`);
}

/**
 * A request the service has read the head of and waits on: `Expect: 100-continue` makes it
 * say so ("100 Continue"), and the body follows only when `send()` is called.
 */
async function heldRequest(port: number, path: string, body: string): Promise<{ send(): Promise<string> }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => void (received += chunk.toString()));
  socket.on('error', () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
  await waitFor(() => received, '100 Continue');
  return {
    async send() {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(body);
      await waitFor(() => received, /\r\n\r\n[\s\S]*\}$/);
      socket.end();
      await closed;
      // After "100 Continue" comes the answer: its status line, then the JSON body.
      const answer = received.slice(received.indexOf('\r\n\r\n') + 4);
      assert.match(answer, /^HTTP\/1\.1 201 /);
      return answer.slice(answer.indexOf('\r\n\r\n') + 4);
    },
  };
}

describe('dist/ built by npm run build, run by plain node without the sources', () => {
  let dir: string;
  let service: Process;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yagona-dist-'));
    await run(process.execPath, ['--import', tsx, repoPath('scripts/build.ts'), '--out', join(dir, 'build')], { cwd: repoPath('.') });
    // What a deployment holds: dist/, the packages, no src/ nor tsx in charge.
    cpSync(join(dir, 'build'), join(dir, 'app', 'dist'), { recursive: true });
    symlinkSync(repoPath('node_modules'), join(dir, 'app', 'node_modules'));
    service = await startProcess([process.execPath, 'dist/main.js'], {}, join(dir, 'app'));
  });
  after(async () => {
    service?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('it is what the systemd unit runs, and the unit waits longer than the drain', () => {
    const unit = readFileSync(repoPath('deploy/systemd/yagona-id@.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/node dist\/main\.js$/m, 'the command this test runs from the deployment folder');
    const grace = Number(/^Environment=SHUTDOWN_GRACE_SECONDS=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]) > grace, 'SIGKILL only after the drain could finish');
    assert.match(unit, /^KillSignal=SIGTERM$/m);
  });

  test('the service serves the sign-in page assets built at build time', async () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'app/dist/login-assets/manifest.json'), 'utf8')) as Record<string, { path: string }>;
    for (const asset of Object.values(manifest)) {
      const res = await fetch(`http://127.0.0.1:${service.port}${asset.path}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(res.status, 200, asset.path);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(dir, 'app/dist/login-assets', asset.path.split('/').at(-1)!)));
    }
  });

  test('the admin CLI signs a demo citizen in; the agent starts and answers', async () => {
    const [, file, password] = /(certs\/dev\/citizens\/\S+\.p12)\s+password: (\S+)/.exec(service.output()) ?? [];
    assert.ok(file && password, service.output());
    const { stdout } = await run(process.execPath, ['dist/admin.js', 'sign-in', '--p12', file, '--password', password, '--url', `http://127.0.0.1:${service.port}`, '--json'], {
      cwd: join(dir, 'app'), env: { PATH: process.env.PATH ?? '', ENV_FILE: '' },
    });
    assert.match((JSON.parse(stdout) as { current: { sessionId: string } }).current.sessionId, /\S/);
    const port = await freePort();
    const agent = spawn(process.execPath, ['dist/agent.js', '--port', String(port)], { cwd: join(dir, 'app'), env: { PATH: process.env.PATH ?? '', ENV_FILE: '' }, stdio: 'ignore' });
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { origin: 'http://localhost:8080' } }).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
    } finally {
      agent.kill();
    }
  });
});

describe('SIGTERM drains', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  before(async () => {
    const pki = await createTestPki();
    scratch = await scratchDir(pki.anchors);
  });
  after(async () => scratch.cleanup());

  test('requests in flight at SIGTERM all get their answer; new connections are refused; then the process exits 0', async () => {
    const service = await startProcess([process.execPath, '--import', tsx, repoPath('src/main.ts')], {
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'drain.sqlite')}`,
    }, repoPath('.'));
    const held = await Promise.all(Array.from({ length: 6 }, () => heldRequest(service.port, '/v1/challenges', '{}')));
    service.child.kill('SIGTERM');
    await waitFor(service.output, 'draining');
    await assert.rejects(fetch(`http://127.0.0.1:${service.port}/healthz`), 'no new connections while draining');
    const answers = await Promise.all(held.map((request) => request.send()));
    for (const answer of answers) assert.match(JSON.parse(answer).challenge as string, /^Yagona ID sign-in/);
    assert.equal(await service.exited, 0);
  });

  test('a request that never finishes is cut after SHUTDOWN_GRACE_SECONDS, and the process still exits', async () => {
    const service = await startProcess([process.execPath, '--import', tsx, repoPath('src/main.ts')], {
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'grace.sqlite')}`, SHUTDOWN_GRACE_SECONDS: '1',
    }, repoPath('.'));
    await heldRequest(service.port, '/v1/challenges', '{}');
    service.child.kill('SIGTERM');
    assert.equal(await service.exited, 0);
    assert.match(service.output(), /grace period ended with requests still in flight/);
  });

  test('readiness answers 503 while draining', async () => {
    const [database] = await openTestDatabases();
    const app = await startTestApp({ store: 'memory', database: database!, pki: await createTestPki() });
    try {
      const draining = createApp({ ...app.deps, logger: pino({ level: 'silent' }), draining: () => true });
      const server = draining.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'unavailable');
      server.close();
    } finally {
      await app.close();
      await database!.cleanup();
    }
  });

  test('npm start passes SIGTERM to the service (exec node, no tsx parent in between)', async () => {
    const service = await startProcess(['npm', 'start', '--silent'], {
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'npm.sqlite')}`,
    }, repoPath('.'));
    service.child.kill('SIGTERM');
    await service.exited;
    await waitFor(service.output, '"msg":"stopped"');
    await assert.rejects(fetch(`http://127.0.0.1:${service.port}/healthz`), 'the service is gone');
  });
});


