// The service on a real three-node Redis Cluster and on a Redis Sentinel group (master,
// replica, sentinel), each started by the test (test/helpers/redisServers.ts): the direct API,
// OIDC and revocation flows pass on each; during a Sentinel failover under load no revocation
// is lost, errors are 503 only (never 500, never a session for a revoked certificate), and the
// service recovers without a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runAdmin } from '../helpers/admin.ts';
import { startRedisCluster, startSentinelGroup, type RedisGroup, type SentinelGroup } from '../helpers/redisServers.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { addClient, relyingParty, signInWithCode, oidc } from '../oidc/helpers.ts';

let pki: TestPki;
before(async () => { pki = await createTestPki(); });

async function signIn(app: TestApp, citizen: Citizen): Promise<{ status: number; code?: string; token?: string }> {
  const c = await app.post('/v1/challenges', {});
  if (c.status !== 201) return { status: c.status, code: ((await c.json()) as { code: string }).code };
  const { id, challenge } = (await c.json()) as { id: string; challenge: string };
  const res = await app.post('/v1/sessions', cmsBody(citizen, id, challenge));
  const body = (await res.json()) as { code?: string; accessToken?: string };
  return { status: res.status, ...(body.code === undefined ? {} : { code: body.code }), ...(body.accessToken === undefined ? {} : { token: body.accessToken }) };
}

const current = async (app: TestApp, token: string) => (await app.get('/v1/sessions/current', { authorization: `Bearer ${token}` })).status;

/** `admin revoke`; while Redis fails over the command exits 1 saying the registry has it (what counts). */
async function revoke(app: TestApp, database: TestDatabase, redisUrl: string, citizen: Citizen, options: { redisMayFail?: boolean } = {}): Promise<void> {
  const run = await runAdmin(['revoke', '--serial', citizen.serialHex, '--issuer', 'CN=Test Citizen CA,O=Yagona Test,C=UZ', '--reason', 'keyCompromise', '--yes', '--json'], {
    DATABASE_URL: database.url, REDIS_URL: redisUrl, TRUST_ANCHORS_DIR: 'unused',
  });
  if (!(options.redisMayFail === true && run.code === 1 && /the revocation is recorded in the registry/.test(run.stderr))) assert.equal(run.code, 0, run.stderr);
  await app.deps.revocationWatcher.refresh();
}

/** Direct API, OIDC and revocation, end to end on one topology. */
function flowsOn(name: string, startGroup: () => Promise<RedisGroup>) {
  describe(`the service on ${name}`, () => {
    let group: RedisGroup;
    let database: TestDatabase;
    let app: TestApp;
    before(async () => {
      group = await startGroup();
      database = await openTestDatabase('sqlite');
      app = await startTestApp({ store: 'redis', redisUrl: group.url, keyPrefix: 'yagona:', database, pki, realIssuer: true });
    });
    after(async () => {
      await app?.close();
      await group?.stop();
      await database?.cleanup();
    });

    test('direct API: challenge, sign-in, session, logout', async () => {
      const signedIn = await signIn(app, await pki.citizen());
      assert.equal(signedIn.status, 201);
      assert.equal(await current(app, signedIn.token!), 200);
      assert.equal((await fetch(`${app.url}/v1/sessions/current`, { method: 'DELETE', headers: { authorization: `Bearer ${signedIn.token}` } })).status, 204);
      assert.equal(await current(app, signedIn.token!), 401);
    });

    test('OIDC: code flow with PKCE through openid-client, userinfo, refresh', async () => {
      const config = await relyingParty(app, await addClient(app));
      const { tokens } = await signInWithCode(app, config, await pki.citizen());
      const claims = tokens.claims();
      assert.ok(claims?.sub);
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.sub, claims.sub);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(refreshed.access_token);
    });

    test('revocation: the session ends, a new sign-in is refused', async () => {
      const citizen = await pki.citizen();
      const signedIn = await signIn(app, citizen);
      assert.equal(signedIn.status, 201);
      await revoke(app, database, group.url, citizen);
      assert.equal(await current(app, signedIn.token!), 401);
      const again = await signIn(app, citizen);
      assert.deepEqual([again.status, again.code], [403, 'certificate_revoked']);
    });
  });
}

flowsOn('a three-node Redis Cluster', startRedisCluster);
flowsOn('Redis Sentinel (master, replica, sentinel)', startSentinelGroup);

describe('a Sentinel failover under load', () => {
  let group: SentinelGroup;
  let database: TestDatabase;
  let app: TestApp;
  before(async () => {
    group = await startSentinelGroup();
    database = await openTestDatabase('sqlite');
    app = await startTestApp({ store: 'redis', redisUrl: group.url, keyPrefix: 'yagona:', database, pki });
  });
  after(async () => {
    await app?.close();
    await group?.stop();
    await database?.cleanup();
  });

  test('the master lost: only 503s while it fails over, no revocation lost, no session for a revoked certificate, then sign-ins again', async () => {
    const citizens = await Promise.all(Array.from({ length: 4 }, () => pki.citizen()));
    const revoked: Citizen[] = [];
    const statuses: number[] = [];
    const sessionsOfRevoked: string[] = [];
    let failingOver = true;
    // Four citizens signing in over and over while the master changes; bounded by count.
    const load = Promise.all(citizens.map(async (citizen) => {
      for (let i = 0; i < 200 && (failingOver || i < 5); i++) {
        // Judged by whether the revocation was recorded before this sign-in began.
        const revokedBefore = revoked.includes(citizen);
        const result = await signIn(app, citizen);
        statuses.push(result.status);
        if (revokedBefore) {
          assert.notEqual(result.status, 201, 'never a session for a revoked certificate');
          if (result.status !== 503) assert.equal(result.code, 'certificate_revoked');
        }
        if (result.token !== undefined && revokedBefore) sessionsOfRevoked.push(result.token);
      }
    }));
    let recovered = 0;
    let firstSession: { token?: string } = {};
    try {
      // One revocation before, one during, one after the failover.
      firstSession = await signIn(app, citizens[0]!);
      await revoke(app, database, group.url, citizens[0]!);
      revoked.push(citizens[0]!);
      // The master dies; the sentinel notices (down-after 1 s) and promotes the replica.
      const failover = group.loseMaster();
      await revoke(app, database, group.url, citizens[1]!, { redisMayFail: true });
      revoked.push(citizens[1]!);
      await failover;
      await revoke(app, database, group.url, citizens[2]!, { redisMayFail: true });
      revoked.push(citizens[2]!);
      // Recovered without a restart: the fourth citizen signs in on the new master.
      for (let i = 0; i < 100 && recovered === 0; i++) {
        if ((await signIn(app, citizens[3]!)).status === 201) recovered = 1;
        else await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      failingOver = false;
      await load;
    }
    assert.equal(recovered, 1, 'sign-ins work again on the new master');
    assert.deepEqual([...new Set(statuses)].filter((s) => s !== 201 && s !== 403 && s !== 503), [], `only 503 as an error: ${[...new Set(statuses)]}`);
    assert.deepEqual(sessionsOfRevoked, []);
    if (firstSession.token !== undefined) assert.equal(await current(app, firstSession.token), 401);
    const registry = await app.db.revocations.list();
    for (const citizen of revoked) assert.ok(registry.some((r) => r.serialHex === citizen.serialHex), 'every accepted revocation is in the registry');
    const chain = await app.db.audit.verifyChain();
    assert.equal(chain.ok, true);
    process.stdout.write(`# failover under load: ${statuses.length} sign-ins, ${statuses.filter((s) => s === 503).length} answered 503, ${statuses.filter((s) => s === 201).length} accepted\n`);
  });
});
