// Issue 4's promise, with real processes: "when I revoke a key, nobody signs in with it again
// and every session it opened ends within a second, on every instance" — two service
// processes sharing Redis and PostgreSQL, and the embedded default (one process, SQLite,
// in-process store the CLI cannot reach). docs/security-cases.md #120, #122.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRedisStore } from '../../src/stores/redis.ts';
import { requireRedis, testRedisUrl } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { runAdmin } from '../helpers/admin.ts';
import { pem } from '../helpers/pem.ts';
import { postgresDatabase, scratchDir, startService, type ServiceProcess } from './processes.ts';

const caDn = 'CN=Test Citizen CA,O=Yagona Test,C=UZ';
const propagationBudgetMs = 1000;

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});

async function signIn(challengeAt: ServiceProcess, signInAt: ServiceProcess, citizen: Citizen): Promise<Response> {
  const response = await fetch(`${challengeAt.url}/v1/challenges`, { method: 'POST' });
  assert.equal(response.status, 201);
  const { id, challenge } = (await response.json()) as { id: string; challenge: string };
  return fetch(`${signInAt.url}/v1/sessions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, id, challenge)),
  });
}

const sessionIds = new Map<string, string>();

async function token(challengeAt: ServiceProcess, signInAt: ServiceProcess, citizen: Citizen): Promise<string> {
  const response = await signIn(challengeAt, signInAt, citizen);
  assert.equal(response.status, 201, await response.clone().text());
  const { accessToken, sessionId } = (await response.json()) as { accessToken: string; sessionId: string };
  sessionIds.set(accessToken, sessionId);
  return accessToken;
}

const sessionStatus = (at: ServiceProcess, accessToken: string) =>
  fetch(`${at.url}/v1/sessions/current`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.status);

/**
 * Watches (instance, token) pairs every 10 ms from before the revocation until each answers
 * 401, and resolves with the wall-clock time each first did. The deadline only stops a hang:
 * it runs from before the admin CLI starts, which takes tens of seconds on a loaded machine;
 * the promise ("within a second") is the budget each test checks from the revocation's time.
 */
function watchUntilRefused(pairs: ReadonlyArray<[ServiceProcess, string]>, timeoutMs = 120_000): Promise<number[]> {
  return Promise.all(pairs.map(async ([at, accessToken]) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const status = await sessionStatus(at, accessToken);
      if (status === 401) return Date.now();
      assert.equal(status, 200);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`session at ${at.url} still live after ${timeoutMs} ms`);
  }));
}

async function expectRevokedSignIn(challengeAt: ServiceProcess, signInAt: ServiceProcess, citizen: Citizen): Promise<void> {
  const response = await signIn(challengeAt, signInAt, citizen);
  assert.equal(response.status, 403);
  assert.equal(((await response.json()) as { code: string }).code, 'certificate_revoked');
}

describe('two instances sharing Redis and PostgreSQL', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let env: Record<string, string>;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    await requireRedis();
    const scratch = await scratchDir(pki.anchors);
    const database = await postgresDatabase();
    cleanups.push(scratch.cleanup, database.drop);
    env = { DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), TRUST_ANCHORS_DIR: scratch.trustDir, ISSUER_URL: 'http://yagona.test' };
    // One after the other: the second start also proves migrations are idempotent.
    a = await startService(env);
    b = await startService(env);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('a challenge issued by one instance is used at the other', async () => {
    const citizen = await pki.citizen();
    const accessToken = await token(a, b, citizen);
    assert.equal(await sessionStatus(a, accessToken), 200);
    assert.equal(await sessionStatus(b, accessToken), 200);
  });

  test('admin revoke --serial --issuer: sessions refused at both within a second, sign-in refused, others untouched', async () => {
    const alice = await pki.citizen();
    const bob = await pki.citizen();
    const fromB = await token(a, b, alice);
    const fromA = await token(b, a, alice);
    const bobToken = await token(a, a, bob);
    const refused = watchUntilRefused([[a, fromB], [b, fromB], [a, fromA], [b, fromA]]);
    const run = await runAdmin(['revoke', '--serial', alice.serialHex.toLowerCase(), '--issuer', caDn, '--reason', 'keyCompromise', '--operator', 'test-operator', '--yes', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { new: boolean; revokedAt: string; sessionsEnded: number; via: string };
    assert.equal(result.new, true);
    assert.equal(result.via, 'redis+epoch');
    // The CLI or an instance's poll, whichever comes first, ends them through the issuer+serial index.
    assert.ok(typeof result.sessionsEnded === 'number' && result.sessionsEnded <= 2);
    const latest = Math.max(...(await refused)) - Date.parse(result.revokedAt);
    process.stdout.write(`# revocation propagation (Redis + PostgreSQL, 2 instances): all sessions refused ${latest} ms after the revocation was recorded\n`);
    assert.ok(latest < propagationBudgetMs, `${latest} ms`);
    await expectRevokedSignIn(a, b, alice);
    await expectRevokedSignIn(b, a, alice);
    assert.equal(await sessionStatus(b, bobToken), 200, 'another certificate keeps its session');
    // Ended, not only refused: the records are gone from Redis (main.ts's default key prefix).
    const redis = createRedisStore(testRedisUrl());
    try {
      for (const t of [fromA, fromB]) assert.equal(await redis.get(`session:${sessionIds.get(t)}`), undefined);
      assert.notEqual(await redis.get(`session:${sessionIds.get(bobToken)}`), undefined);
    } finally {
      await redis.close();
    }

    const again = await runAdmin(['revoke', '--serial', `00${alice.serialHex}`, '--issuer', 'cn=test citizen ca, o=yagona test, c=uz', '--yes', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { new: boolean; reason: string }).new, false, 'idempotent, whatever the spelling');
    assert.equal((JSON.parse(again.stdout) as { reason: string }).reason, 'keyCompromise', 'the first record stands');

    const tail = await runAdmin(['audit', 'tail', '-n', '5', '--json'], env);
    const events = JSON.parse(tail.stdout) as Array<{ type: string; actor?: string; details?: { serialHex?: string } }>;
    assert.ok(events.some((e) => e.type === 'revocation' && e.actor === 'test-operator' && e.details?.serialHex === alice.serialHex));
  });

  test('Redis unreachable from the CLI (#122): the registry still takes it, the CLI exits non-zero, instances refuse within a second', async () => {
    const carol = await pki.citizen();
    const fromA = await token(a, a, carol);
    const fromB = await token(b, b, carol);
    const refused = watchUntilRefused([[a, fromA], [b, fromB]]);
    const run = await runAdmin(['revoke', '--serial', carol.serialHex, '--issuer', caDn, '--yes'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /recorded in the registry.*Redis/);
    const latest = Math.max(...(await refused));
    const list = JSON.parse((await runAdmin(['revocations', '--json'], env)).stdout) as Array<{ serialHex: string; recordedAt: string }>;
    const recordedAt = Date.parse(list.find((r) => r.serialHex === carol.serialHex)?.recordedAt ?? '');
    process.stdout.write(`# revocation propagation by the registry epoch alone (2 instances): sessions refused ${latest - recordedAt} ms after the revocation was recorded\n`);
    assert.ok(latest - recordedAt < propagationBudgetMs, `${latest - recordedAt} ms`);
    await expectRevokedSignIn(b, a, carol);
  });

  // The same two instances (starting two more costs seconds): rotation last, as revocations do not care which key signs.
  const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
  const jwksKids = async (at: ServiceProcess) =>
    ((await (await fetch(`${at.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

  test('admin keys rotate: both instances sign with the new key at once; the old key stays published and its tokens keep working', async () => {
    const citizen = await pki.citizen();
    const before = await token(a, b, citizen);
    const run = await runAdmin(['keys', 'rotate', '--yes', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const { kid, retiredKid } = JSON.parse(run.stdout) as { kid: string; retiredKid: string };
    assert.equal(kidOf(before), retiredKid);
    const deadline = Date.now() + 1000;
    for (const at of [a, b]) {
      while (!(await jwksKids(at)).includes(kid)) {
        assert.ok(Date.now() < deadline, 'the new key reached every instance within a second');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(kidOf(await token(at, at, citizen)), kid);
      assert.ok((await jwksKids(at)).includes(retiredKid));
      assert.equal(await sessionStatus(at, before), 200);
    }
  });
});

describe('the embedded default: one process, SQLite, in-process store', () => {
  let service: ServiceProcess;
  let env: Record<string, string>;
  let certFile: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    const scratch = await scratchDir(pki.anchors);
    cleanup = scratch.cleanup;
    env = { DATABASE_URL: `sqlite:${join(scratch.dir, 'data', 'yagona.sqlite')}`, TRUST_ANCHORS_DIR: scratch.trustDir, ISSUER_URL: 'http://yagona.test' };
    service = await startService(env);
    certFile = join(scratch.dir, 'alice.pem');
  });
  after(async () => {
    await service?.stop();
    await cleanup?.();
  });

  test('admin revoke --cert: the CLI cannot reach the sessions, the instance ends them within a second', async () => {
    const alice = await pki.citizen();
    await writeFile(certFile, pem(alice.certDer));
    const tokens = [await token(service, service, alice), await token(service, service, alice)];
    const refused = watchUntilRefused(tokens.map((t) => [service, t] as [ServiceProcess, string]));
    const run = await runAdmin(['revoke', '--cert', certFile, '--reason', 'certificateHold', '--yes', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { revokedAt: string; via: string; sessionsEnded: number | null };
    assert.equal(result.via, 'epoch');
    assert.equal(result.sessionsEnded, null);
    const latest = Math.max(...(await refused)) - Date.parse(result.revokedAt);
    process.stdout.write(`# revocation propagation (embedded: SQLite + in-process store): sessions refused ${latest} ms after the revocation was recorded\n`);
    assert.ok(latest < propagationBudgetMs, `${latest} ms`);
    await expectRevokedSignIn(service, service, alice);
    const events = JSON.parse((await runAdmin(['audit', 'tail', '-n', '5', '--json'], env)).stdout) as Array<{ type: string; outcome: string; code?: string }>;
    assert.ok(events.some((e) => e.type === 'revocation' && e.outcome === 'success'));
    assert.ok(events.some((e) => e.type === 'sign_in' && e.outcome === 'failure' && e.code === 'certificate_revoked'), 'the refused sign-in is audited');

    // #125: lifting the hold lets the certificate in again; the sessions it had stay ended.
    const lifted = await runAdmin(['unrevoke', '--cert', certFile, '--yes', '--json'], env);
    assert.equal(lifted.code, 0, lifted.stderr);
    for (const old of tokens) assert.equal(await sessionStatus(service, old), 401);
    await new Promise((r) => setTimeout(r, 600));
    const fresh = await token(service, service, alice);
    assert.equal(await sessionStatus(service, fresh), 200);
  });
});
