// The production runtime (docs/operations.md): `npm run build` makes a dist/ that runs with
// plain node from a folder without the sources; SIGTERM lets every request in flight get its
// answer before the process exits; `npm start` passes the signal to the service. The service's
// processes here are dist/main.js, as the systemd unit runs it (built once for the file), but
// for `npm start`'s own test.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { serviceNodeFlags } from '../../src/heap.ts';
import { createApp } from '../../src/app.ts';
import { createAppServer } from '../../src/http/server.ts';
import { freePort } from '../helpers/ports.ts';
import { scratchDir } from '../revocation/processes.ts';
import { repoPath, tsx } from '../helpers/freshService.ts';
import { cmsBody, createTestPki, selfSignedCa, subordinateCa } from '../helpers/testPki.ts';
import { makeCrl, startTestHttpServer } from '../helpers/crlServer.ts';
import { requireRedis, testRedisUrl, unlimitedRates } from '../helpers/services.ts';
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

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yagona-dist-'));
  await run(process.execPath, ['--import', tsx, repoPath('scripts/build.ts'), '--out', join(dir, 'build')], { cwd: repoPath('.') });
  // What a deployment holds: dist/, the packages, no src/ nor tsx in charge.
  cpSync(join(dir, 'build'), join(dir, 'app', 'dist'), { recursive: true });
  symlinkSync(repoPath('node_modules'), join(dir, 'app', 'node_modules'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The built service as the systemd unit starts it: `node ${serviceNodeFlags} dist/main.js` in the deployment folder. */
const startService = (env: Record<string, string>) => startProcess([process.execPath, ...serviceNodeFlags, 'dist/main.js'], env, join(dir, 'app'));

describe('dist/ built by npm run build, run by plain node without the sources', () => {
  let service: Process;
  before(async () => {
    service = await startService({});
  });
  after(async () => {
    service?.child.kill('SIGKILL');
  });

  test('it is what the systemd unit runs, and the unit waits longer than the drain', () => {
    const unit = readFileSync(repoPath('deploy/systemd/yagona-id@.service'), 'utf8');
    assert.ok(unit.split('\n').includes(`ExecStart=/usr/bin/node ${serviceNodeFlags.join(' ')} dist/main.js`), 'the command this test runs from the deployment folder');
    const start = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.equal(start, `exec node ${serviceNodeFlags.join(' ')} --import tsx src/main.ts`, 'npm start runs the sources with the same flags');
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

  test('CRLs are read by dist/crlWorker.js: a citizen on the CA\'s list is refused, another signs in', async () => {
    const now = new Date();
    const crls = await startTestHttpServer();
    const root = await selfSignedCa('CN=Dist Root,O=Yagona Test,C=UZ', 'ec-p384', now);
    const ca = await subordinateCa('CN=Dist Citizen CA,O=Yagona Test,C=UZ', root, now, { crlUrl: crls.url('/root.crl') });
    const pki = await createTestPki(now);
    const [good, revoked] = await Promise.all([0, 1].map(async () => ({ ...await pki.citizen({ issuer: ca, crlUrl: crls.url('/ca.crl') }), chain: [ca.certDer] })));
    crls.route('/root.crl', { body: makeCrl(root) });
    crls.route('/ca.crl', { body: makeCrl(ca, { revoked: [{ serialHex: revoked!.serialHex, reason: 'keyCompromise' }] }) });
    const scratch = await scratchDir([root.certDer]);
    const instance = await startService({
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'crl.sqlite')}`,
      REVOCATION_CHECKS: 'local,crl', REVOCATION_FAIL_MODE: 'closed', REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${crls.port}`,
    });
    const signIn = async (citizen: typeof good) => {
      const post = (path: string, body: unknown) => fetch(`http://127.0.0.1:${instance.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const { id, challenge } = await (await post('/v1/challenges', {})).json() as { id: string; challenge: string };
      const res = await post('/v1/sessions', cmsBody(citizen!, id, challenge));
      return { status: res.status, body: await res.json() as { code?: string } };
    };
    try {
      assert.equal((await signIn(good)).status, 201);
      assert.deepEqual(await signIn(revoked).then(({ status, body }) => [status, body.code]), [403, 'certificate_revoked']);
      assert.equal(crls.hits('/ca.crl'), 1);
    } finally {
      instance.child.kill('SIGKILL');
      await crls.stop();
      await scratch.cleanup();
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
    const service = await startService({
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'drain.sqlite')}`,
    });
    const held = await Promise.all(Array.from({ length: 6 }, () => heldRequest(service.port, '/v1/challenges', '{}')));
    service.child.kill('SIGTERM');
    await waitFor(service.output, 'draining');
    await assert.rejects(fetch(`http://127.0.0.1:${service.port}/healthz`), 'no new connections while draining');
    const answers = await Promise.all(held.map((request) => request.send()));
    for (const answer of answers) assert.match(JSON.parse(answer).challenge as string, /^Yagona ID sign-in/);
    assert.equal(await service.exited, 0);
  });

  test('a request that never finishes is cut after SHUTDOWN_GRACE_SECONDS, and the process still exits', async () => {
    const service = await startService({
      TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'grace.sqlite')}`, SHUTDOWN_GRACE_SECONDS: '1',
    });
    await heldRequest(service.port, '/v1/challenges', '{}');
    service.child.kill('SIGTERM');
    assert.equal(await service.exited, 0);
    assert.match(service.output(), /grace period ended with requests still in flight/);
  });

  test('readiness answers 503 while draining', async () => {
    const [database] = await openTestDatabases();
    const app = await startTestApp({ store: 'memory', database: database!, pki: await createTestPki() });
    try {
      const { server, serve } = createAppServer();
      serve(createApp({ ...app.deps, logger: pino({ level: 'silent' }), draining: () => true }));
      server.listen(0, '127.0.0.1');
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



describe('WORKERS: the service as several processes on one port (node:cluster)', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let pki: Awaited<ReturnType<typeof createTestPki>>;
  before(async () => {
    await requireRedis();
    pki = await createTestPki();
    scratch = await scratchDir(pki.anchors);
  });
  after(async () => scratch.cleanup());

  const workersOf = async (primary: number) => {
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(primary)]).catch(() => ({ stdout: '' }));
    return stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0).sort();
  };
  /** The pids of the processes whose log lines say `message` (and pass `where`). */
  const loggedPids = (output: string, message: string, where: (entry: Record<string, unknown>) => boolean = () => true) => new Set(output.split('\n').flatMap((line) => {
    const entry = /^\{.*\}$/.test(line) ? JSON.parse(line) as Record<string, unknown> : {};
    return entry.msg === message && where(entry) ? [entry.pid as number] : [];
  }));
  // The request log's path is the one within the /v1 router.
  const signedIn = (entry: Record<string, unknown>) => entry.method === 'POST' && /^(\/v1)?\/sessions$/.test(String(entry.path)) && entry.status === 201;
  /** A request on a connection of its own: the primary hands each new connection to the next worker. */
  const send = (port: number, method: string, path: string, body?: unknown, token?: string) => new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } }, (res) => {
      let answer = '';
      res.on('data', (chunk: Buffer) => void (answer += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(answer || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(text);
  });

  test('WORKERS=2 without REDIS_URL is refused at start with one line', async () => {
    const refused = await run(process.execPath, [...serviceNodeFlags, 'dist/main.js'], {
      cwd: join(dir, 'app'), env: { PATH: process.env.PATH ?? '', ENV_FILE: '', WORKERS: '2', TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'refused.sqlite')}` },
    }).then(() => assert.fail('it started'), (error: { code: number; stderr: string }) => error);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'bad configuration: WORKERS: 2 processes need REDIS_URL (the in-process store cannot be shared between them)\n');
  });

  test('two workers on real Redis both sign citizens in; a killed one is replaced; SIGTERM drains both and the primary exits 0', async () => {
    const service = await startService({
      WORKERS: '2', REDIS_URL: testRedisUrl(), TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'workers.sqlite')}`,
    });
    try {
      const primary = service.child.pid!;
      // Each worker answers /readyz only once it listens; the primary's readiness was one of them.
      // A worker may also fail its start on a loaded machine (a store answering later than its
      // timeout) and be replaced, as designed: the workers are the primary's children once both
      // listen. (CI once saw the second worker listen under another pid than the first ps gave.)
      const listening = () => loggedPids(service.output(), 'Yagona ID is listening');
      let workers: number[] = [];
      for (let i = 0; i < 600; i++) {
        workers = await workersOf(primary);
        if (workers.length === 2 && workers.every((pid) => listening().has(pid))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(workers.length, 2, 'the process tree: the primary and two workers');
      assert.ok(workers.every((pid) => listening().has(pid)), `every worker listens:\n${service.output()}`);

      const citizen = await pki.citizen();
      for (let i = 0; i < 20 && loggedPids(service.output(), 'request', signedIn).size < 2; i++) {
        const challenge = await send(service.port, 'POST', '/v1/challenges', {});
        assert.equal(challenge.status, 201);
        const session = await send(service.port, 'POST', '/v1/sessions', cmsBody(citizen, challenge.json.id as string, challenge.json.challenge as string));
        assert.equal(session.status, 201, JSON.stringify(session.json));
        // The session lives in Redis: whichever worker answers knows it.
        const current = await send(service.port, 'GET', '/v1/sessions/current', undefined, session.json.accessToken as string);
        assert.equal(current.status, 200);
      }
      // A request's log line is written once its answer is out: give the last one its moment.
      for (let i = 0; i < 50 && loggedPids(service.output(), 'request', signedIn).size < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual([...loggedPids(service.output(), 'request', signedIn)].sort(), workers, 'each worker signed a citizen in');

      process.kill(workers[0]!, 'SIGKILL');
      await waitFor(service.output, /"msg":"a worker died; starting another"/);
      let replaced: number[] = [];
      for (let i = 0; i < 100 && !(replaced.length === 2 && !replaced.includes(workers[0]!)); i++) {
        replaced = await workersOf(primary);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(replaced.length, 2);
      assert.ok(!replaced.includes(workers[0]!) && replaced.includes(workers[1]!), 'the dead worker is replaced, the other kept');
      for (let i = 0; i < 600 && !loggedPids(service.output(), 'Yagona ID is listening').has(replaced.find((pid) => pid !== workers[1])!); i++) await new Promise((r) => setTimeout(r, 100));

      // Connections in turn to each worker, each with a request in flight at SIGTERM.
      const held = await Promise.all(Array.from({ length: 4 }, () => heldRequest(service.port, '/v1/challenges', '{}')));
      service.child.kill('SIGTERM');
      await waitFor(service.output, /"msg":"stopping the workers/);
      const answers = await Promise.all(held.map((one) => one.send()));
      for (const answer of answers) assert.match(JSON.parse(answer).challenge as string, /^Yagona ID sign-in/);
      assert.equal(await service.exited, 0);
      assert.deepEqual([...loggedPids(service.output(), 'stopped')].sort(), [...replaced, primary].sort(), 'each worker drained and stopped, then the primary');
      assert.deepEqual(await workersOf(primary), []);
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  test('workers that keep dying stop the service with exit 1 instead of restarting for ever', async () => {
    const service = await startService({
      WORKERS: '2', REDIS_URL: testRedisUrl(), TRUST_ANCHORS_DIR: scratch.trustDir, DATABASE_URL: `sqlite:${join(scratch.dir, 'dying.sqlite')}`,
    });
    try {
      const primary = service.child.pid!;
      // Two deaths a round: the third round passes the bound of five a minute.
      for (let round = 0; round < 10 && service.child.exitCode === null; round++) {
        const workers = await workersOf(primary);
        for (const pid of workers) process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100 && service.child.exitCode === null && (await workersOf(primary)).some((pid) => workers.includes(pid)); i++) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await service.exited, 1);
      assert.match(service.output(), /"level":60,.*"msg":"workers keep dying: stopping the service"/);
      assert.equal(service.output().match(/"msg":"a worker died; starting another"/g)?.length, 5, 'replaced five times, then no more');
    } finally {
      service.child.kill('SIGKILL');
    }
  });
});
