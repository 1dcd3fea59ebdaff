// Faults: Redis down (fail closed, 503), and a race of many sign-ins on one challenge
// (exactly one wins). Rate limits have their own file (rateLimits.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';

let pki: TestPki;
let citizen: Citizen;
let databases: TestDatabase[];
const sqlite = () => databases.find((d) => d.kind === 'sqlite') as TestDatabase;
const postgres = () => databases.find((d) => d.kind === 'postgres') as TestDatabase;

before(async () => {
  pki = await createTestPki();
  citizen = await pki.citizen();
  databases = await openTestDatabases();
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
});

async function code(res: Response): Promise<string> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  return ((await res.json()) as { code: string }).code;
}

describe('Redis down', () => {
  let app: TestApp;
  // A port nothing listens on: every Redis command fails at once.
  before(async () => { app = await startTestApp({ store: 'redis', redisUrl: 'redis://127.0.0.1:1', database: sqlite(), pki }); });
  after(async () => app.close());

  test('challenges and sessions fail closed with 503 unavailable, fast', async () => {
    const started = performance.now();
    const res = await app.post('/v1/challenges', {});
    assert.equal(res.status, 503);
    assert.equal(await code(res), 'unavailable');
    assert.ok(res.headers.get('retry-after'));
    assert.ok(performance.now() - started < 2000, 'answers within the command timeout');
    const signIn = await app.post('/v1/sessions', cmsBody(citizen, 'AAAAAAAAAAAAAAAAAAAAAAAA', 'x'));
    assert.equal(signIn.status, 503);
    assert.equal(await code(signIn), 'unavailable');
    const rejectedAudit = await app.db.audit.tail(10);
    assert.equal(rejectedAudit.at(-1)?.code, 'unavailable');
  });

  test('a validly signed bearer token is not accepted on its signature alone', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = app.deps.keys.signJwt({ iss: app.config.issuerUrl, sub: 'pinfl:1', aud: app.config.issuerUrl, iat: now, exp: now + 600, jti: 'j', sid: 's' }, 'at+jwt');
    const res = await app.get('/v1/sessions/current', { authorization: `Bearer ${token}` });
    assert.equal(res.status, 503);
    assert.equal(await code(res), 'unavailable');
  });

  test('readiness says 503 while the process stays healthy', async () => {
    assert.equal((await app.get('/healthz')).status, 200);
    const ready = await app.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(await code(ready), 'unavailable');
  });
});

for (const store of ['redis', 'memory'] as const) {
  describe(`one challenge, many racing sign-ins (${store})`, () => {
    let app: TestApp;
    before(async () => { app = await startTestApp({ store, database: store === 'redis' ? postgres() : sqlite(), pki }); });
    after(async () => app.close());

    test('exactly one of 30 concurrent sign-ins wins; the rest get challenge_invalid', async () => {
      const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
      const body = cmsBody(citizen, c.id, c.challenge);
      const before = await app.sessionCount();
      const results = await Promise.all(Array.from({ length: 30 }, () => app.post('/v1/sessions', body)));
      const statuses = results.map((r) => r.status).sort();
      assert.equal(statuses.filter((s) => s === 201).length, 1);
      assert.equal(statuses.filter((s) => s === 403).length, 29);
      assert.equal(await app.sessionCount(), before + 1);
    });
  });
}

describe('in-process store at its bound (a flood of challenges)', () => {
  let app: TestApp;
  before(async () => { app = await startTestApp({ store: 'memory', database: sqlite(), pki, memoryMaxEntries: 20 }); });
  after(async () => app.close());

  test('readiness says 503 while full; the oldest challenges make room, so sign-ins still work', async () => {
    const first = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    for (let i = 0; i < 25; i++) assert.equal((await app.post('/v1/challenges', {})).status, 201);
    const ready = await app.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(await code(ready), 'unavailable');
    const evicted = await app.post('/v1/sessions', cmsBody(citizen, first.id, first.challenge));
    assert.equal(evicted.status, 403);
    assert.equal(await code(evicted), 'challenge_invalid');
    const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const signedIn = await app.post('/v1/sessions', cmsBody(citizen, c.id, c.challenge));
    assert.equal(signedIn.status, 201, await signedIn.clone().text());
    assert.equal(await app.sessionCount(), 1);
  });
});
