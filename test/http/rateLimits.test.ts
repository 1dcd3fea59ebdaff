// Rate limits (docs/configuration.md "Rate limits"): counted in the shared store, so two
// instances on one Redis share them; per client address as TRUST_PROXY yields it, so one
// client behind the proxy never blocks another; per certificate on sign-ins; per client_id
// on failed token requests. Each refusal is 429 with Retry-After, problem+json or OAuth's format.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import { uniqueKeyPrefix, unlimitedRates, type TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { addClient, postForm } from '../oidc/helpers.ts';

let pki: TestPki;
let citizens: Citizen[];
let databases: TestDatabase[];
const postgres = () => databases.find((d) => d.kind === 'postgres') as TestDatabase;
const sqlite = () => databases.find((d) => d.kind === 'sqlite') as TestDatabase;

before(async () => {
  pki = await createTestPki();
  citizens = [await pki.citizen(), await pki.citizen()];
  databases = await openTestDatabases();
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
});

async function problem(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(((await res.json()) as { code: string }).code, code);
}

async function assertLimited(res: Response): Promise<void> {
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'a 429 says when to retry');
  await problem(res, 429, 'rate_limited');
}

const from = (address: string) => ({ 'x-forwarded-for': address });

describe('per client address, shared by two instances behind a trusted proxy', () => {
  let one: TestApp;
  let two: TestApp;
  before(async () => {
    const keyPrefix = uniqueKeyPrefix('limits');
    const env = { RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'loopback' };
    one = await startTestApp({ store: 'redis', database: postgres(), pki, keyPrefix, env });
    two = await startTestApp({ store: 'redis', database: postgres(), pki, keyPrefix, env });
  });
  after(async () => Promise.all([one.close(), two.close()]));

  test('the whole budget is usable at once, across both instances; then 429 with Retry-After', async () => {
    const statuses = [
      (await one.post('/v1/challenges', {}, from('203.0.113.1'))).status,
      (await two.post('/v1/challenges', {}, from('203.0.113.1'))).status,
      (await one.post('/v1/challenges', {}, from('203.0.113.1'))).status,
    ];
    assert.deepEqual(statuses, [201, 201, 201]);
    await assertLimited(await two.post('/v1/challenges', {}, from('203.0.113.1')));
    const metrics = await (await two.get('/metrics')).text();
    assert.match(metrics, /yagona_rate_limited_total\{limit="challenges"\} 1/);
  });

  test('another citizen behind the same proxy is not blocked', async () => {
    assert.equal((await one.post('/v1/challenges', {}, from('203.0.113.2'))).status, 201);
    // IPv6 clients count per /56: a neighbour in another /56 is someone else.
    assert.equal((await one.post('/v1/challenges', {}, from('2001:db8:1:100::1'))).status, 201);
  });

  test('sign-ins past the limit: 429 with the challenge used up, no session and one audit row', async () => {
    const challenges = [];
    for (const address of ['198.51.100.10', '198.51.100.10', '198.51.100.11', '198.51.100.11']) {
      challenges.push((await (await one.post('/v1/challenges', {}, from(address))).json()) as { id: string; challenge: string });
    }
    // Signed by the wrong key: each is rejected, and each counts.
    for (const c of challenges.slice(0, 3)) await problem(await two.post('/v1/sessions', cmsBody(citizens[1]!, c.id, 'other bytes'), from('198.51.100.12')), 403, 'signature_invalid');
    const last = challenges[3]!;
    const sessions = await two.sessionCount();
    const rows = (await two.db.audit.tail(1000)).length;
    const body = cmsBody(citizens[1]!, last.id, last.challenge);
    await assertLimited(await one.post('/v1/sessions', body, from('198.51.100.12')));
    assert.equal(await two.sessionCount(), sessions);
    const audit = await one.db.audit.tail(1000);
    assert.equal(audit.length, rows + 1);
    assert.equal(audit.at(-1)?.code, 'rate_limited');
    await problem(await one.post('/v1/sessions', body, from('198.51.100.13')), 403, 'challenge_invalid');
  });

  test('the audit row carries the client address from X-Forwarded-For', async () => {
    const c = (await (await one.post('/v1/challenges', {}, from('203.0.113.3'))).json()) as { id: string; challenge: string };
    const res = await one.post('/v1/sessions', cmsBody(citizens[0]!, c.id, c.challenge), from('203.0.113.3'));
    assert.equal(res.status, 201);
    const [row] = await one.db.audit.tail(1);
    assert.equal(row?.details?.clientAddress, '203.0.113.3');
  });
});

describe('X-Forwarded-For from outside the trusted proxies is ignored', () => {
  let app: TestApp;
  // The test client is 127.0.0.1, which these proxies do not include.
  before(async () => { app = await startTestApp({ store: 'memory', database: sqlite(), pki, env: { RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '10.0.0.0/8' } }); });
  after(async () => app.close());

  test('a client rotating a spoofed header is still one address', async () => {
    assert.equal((await app.post('/v1/challenges', {}, from('198.51.100.1'))).status, 201);
    assert.equal((await app.post('/v1/challenges', {}, from('198.51.100.2'))).status, 201);
    await assertLimited(await app.post('/v1/challenges', {}, from('198.51.100.3')));
    const c = await app.post('/v1/sessions', { challengeId: 'x' }, from('198.51.100.4'));
    await problem(c, 403, 'challenge_invalid');
    const [row] = await app.db.audit.tail(1);
    assert.equal(row?.details?.clientAddress, '127.0.0.1');
  });
});

describe('per certificate on sign-ins', () => {
  let app: TestApp;
  before(async () => { app = await startTestApp({ store: 'redis', database: postgres(), pki, env: { ...unlimitedRates, RATE_LIMIT_CERTIFICATE_PER_MINUTE: '2' } }); });
  after(async () => app.close());

  test('past the limit the certificate is refused with its challenge used up and no session; another certificate is not', async () => {
    const signIn = async (citizen: Citizen) => {
      const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
      return { body: cmsBody(citizen, c.id, c.challenge), res: await app.post('/v1/sessions', cmsBody(citizen, c.id, c.challenge)) };
    };
    assert.equal((await signIn(citizens[0]!)).res.status, 201);
    assert.equal((await signIn(citizens[0]!)).res.status, 201);
    const sessions = await app.sessionCount();
    const auditRows = (await app.db.audit.tail(1000)).length;
    const limited = await signIn(citizens[0]!);
    await assertLimited(limited.res);
    assert.equal(await app.sessionCount(), sessions, 'no session');
    const audit = await app.db.audit.tail(1000);
    assert.equal(audit.length, auditRows + 1);
    assert.equal(audit.at(-1)?.code, 'rate_limited');
    assert.equal(audit.at(-1)?.certificateSha256, createHash('sha256').update(citizens[0]!.certDer).digest('hex'));
    await problem(await app.post('/v1/sessions', limited.body), 403, 'challenge_invalid');
    assert.equal((await signIn(citizens[1]!)).res.status, 201);
  });

  test('a bad signature with someone\'s certificate does not use up their budget', async () => {
    const other = await startTestApp({ store: 'memory', database: sqlite(), pki, env: { ...unlimitedRates, RATE_LIMIT_CERTIFICATE_PER_MINUTE: '1' } });
    try {
      for (let i = 0; i < 3; i++) {
        const c = (await (await other.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
        // Signed over other bytes than the challenge: signature_invalid, before the count.
        const res = await other.post('/v1/sessions', cmsBody(citizens[1]!, c.id, 'not the challenge'));
        await problem(res, 403, 'signature_invalid');
      }
      const c = (await (await other.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
      assert.equal((await other.post('/v1/sessions', cmsBody(citizens[1]!, c.id, c.challenge))).status, 201);
    } finally {
      await other.close();
    }
  });
});

describe('OIDC endpoints', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      store: 'redis', database: postgres(), pki, realIssuer: true,
      env: { ...unlimitedRates, RATE_LIMIT_AUTHORIZE_PER_MINUTE: '1', RATE_LIMIT_LOGIN_PER_MINUTE: '1', RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE: '2' },
    });
  });
  after(async () => app.close());

  test('/authorize and the sign-in page count per address (problem+json 429)', async () => {
    await app.get('/authorize?client_id=nobody');
    await assertLimited(await app.get('/authorize?client_id=nobody'));
    await app.get('/login/AAAAAAAAAAAAAAAAAAAAAAAA');
    await assertLimited(await app.get('/login/AAAAAAAAAAAAAAAAAAAAAAAA'));
  });

  test('failed token requests count per client_id: then even the right secret waits (OAuth 429); other clients do not', async () => {
    const agency = await addClient(app);
    const bystander = await addClient(app);
    const token = `${app.url}/token`;
    const params = { grant_type: 'authorization_code', code: 'unknown', redirect_uri: 'https://agency.example/callback', code_verifier: 'v'.repeat(43) };
    for (let i = 0; i < 2; i++) assert.equal((await postForm(token, params, { id: agency.client.clientId, secret: 'wrong' })).status, 401);
    const limited = await postForm(token, params, { id: agency.client.clientId, secret: agency.secret! });
    assert.equal(limited.status, 429);
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.deepEqual(Object.keys((await limited.json()) as object).sort(), ['error', 'error_description']);
    // The bystander's right secret reaches the grant check (an unknown code): invalid_grant, not 429.
    const other = await postForm(token, params, { id: bystander.client.clientId, secret: bystander.secret! });
    assert.equal(other.status, 400);
    assert.equal(((await other.json()) as { error: string }).error, 'invalid_grant');
  });
});
