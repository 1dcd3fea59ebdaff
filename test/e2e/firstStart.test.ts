// The README's promise, as a newcomer lives it: a fresh folder, `npm start` with no
// configuration (SQLite, in-process store, a development PKI made on first start, passwords
// printed once), then `npm run admin -- sign-in` with a demo key file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { assertOneLineFailure, runAdminProcess } from '../helpers/admin.ts';
import { repoPath, startFreshService, tsx, type FreshService } from '../helpers/freshService.ts';

const run = promisify(execFile);

let service: FreshService;
let dir: string;
let port: number;
let output = '';

before(async () => {
  service = await startFreshService('first-start');
  ({ dir, port } = service);
  output = service.output();
});

after(async () => service.stop());

test('first start creates the dev PKI and SQLite file and says it serves one instance', () => {
  assert.match(output, /in-process store, which serves ONE instance only/);
  assert.ok(existsSync(join(dir, 'certs/dev/trust/root-ca.pem')));
  assert.ok(existsSync(join(dir, 'certs/dev/intermediates/citizen-ca.pem')));
  assert.ok(existsSync(join(dir, 'data/yagona.sqlite')));
  assert.ok(existsSync(join(dir, 'certs/dev/intermediates/ozdst-ca.pem')));
  assert.ok(existsSync(join(dir, 'certs/dev/trust-policy.yaml')));
  assert.match(output, /"msg":"trust policy"/);
  const keyFiles = [...output.matchAll(/(certs\/dev\/citizens\/\S+\.p12)\s+password: (\S+)/g)];
  assert.equal(keyFiles.length, 4, output);
});

test("the O'zDSt demo citizen (parameter set A, as E-IMZO makes keys) signs in from the terminal with its PINFL", async () => {
  const [, file, password] = /(certs\/dev\/citizens\/aziza-yusupova\.p12)\s+password: (\S+)/.exec(output) ?? [];
  assert.ok(file && password);
  const signedIn = await runAdminProcess(['sign-in', '--p12', file, '--password', password, '--url', `http://localhost:${port}`, '--json'], { HOME: dir }, { cwd: dir });
  assert.equal(signedIn.code, 0, signedIn.stderr);
  const result = JSON.parse(signedIn.stdout) as { current: { subject: { sub: string; givenName?: string; certificate: { issuer: string } } } };
  assert.equal(result.current.subject.sub, 'pinfl:42905950120033');
  assert.equal(result.current.subject.givenName, 'AZIZA');
  assert.match(result.current.subject.certificate.issuer, /O'zDSt Citizen CA/);
});

test('a demo citizen signs in from the terminal with the printed password', async () => {
  const [, file, password] = /(certs\/dev\/citizens\/\S+\.p12)\s+password: (\S+)/.exec(output) ?? [];
  assert.ok(file && password);
  const signedIn = await runAdminProcess(['sign-in', '--p12', file, '--password', password, '--url', `http://localhost:${port}`, '--json'], { HOME: dir }, { cwd: dir });
  assert.equal(signedIn.code, 0, signedIn.stderr);
  assert.equal(signedIn.stderr, '');
  const result = JSON.parse(signedIn.stdout) as { current: { sessionId: string; subject: { pinfl?: string; certificate: { issuer: string } } } };
  assert.ok(result.current.sessionId);
  assert.match(result.current.subject.pinfl ?? '', /^\d{14}$/);
  assert.match(result.current.subject.certificate.issuer, /Citizen CA/);
});

test('a wrong password is one clear line and a non-zero exit', async () => {
  const [, file] = /(certs\/dev\/citizens\/\S+\.p12)/.exec(output) ?? [];
  assert.ok(file);
  const failure = await runAdminProcess(['sign-in', '--p12', file, '--password', 'wrong', '--url', `http://localhost:${port}`], { HOME: dir }, { cwd: dir });
  assertOneLineFailure(failure, /^invalid_request: wrong password or damaged key file$/);
});

test('a second start keeps the PKI and prints no passwords', async () => {
  const second = await run(process.execPath, ['--import', tsx, repoPath('src/main.ts')], {
    cwd: dir, env: { PATH: process.env.PATH ?? '', PORT: String(port), HOME: dir }, timeout: 30_000,
  }).then(() => undefined, (error: { stdout: string; stderr: string }) => error);
  // The port is taken by the first instance, so this one stops — after the PKI step.
  assert.ok(second);
  assert.doesNotMatch(second.stdout, /password:/);
  assert.match(second.stderr, /cannot start/);
  assert.equal(second.stderr.trim().split('\n').length, 1);
});
