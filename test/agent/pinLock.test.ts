// A second PKCS#11 module, openCryptoki's software token, which locks its PIN after three wrong
// tries as smart cards do: the agent signs with it and the service accepts; then the citizen is
// warned at the final try, told when the token locks, and refused without a login attempt once
// it is locked — never "wrong PIN" for a locked token.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAgent, type Agent } from '../../agent/server.ts';
import { originOf } from '../../src/login/originBinding.ts';
import { openTokenModule } from '../../src/token/pkcs11.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { initOpencryptokiToken, type OpencryptokiToken } from '../helpers/opencryptoki.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { certifyTokenKey, qualifiedCa } from '../helpers/softhsm.ts';
import { createTestPki } from '../helpers/testPki.ts';

let token: OpencryptokiToken;
let database: TestDatabase;
let app: TestApp;
let agent: Agent;
let origin: string;
let certificateId: string;

before(async () => {
  const pki = await createTestPki();
  const qca = await qualifiedCa(pki);
  token = initOpencryptokiToken('Yagona lock test', '246810');
  // Debian's openCryptoki soft token has no EC and no CKM_SHA256_RSA_PKCS: an RSA key signed
  // through the DigestInfo + CKM_RSA_PKCS path many smart cards need.
  const key = token.generateKey('rsa-2048', 'sign-in key');
  token.storeCertificate(await certifyTokenKey(qca, key.publicKey, 'CN=Locked Out,C=UZ'), 'sign-in certificate', key.keyId);
  token.storeCertificate(qca.certDer, 'Test Qualified Citizen CA');
  database = await openTestDatabase('sqlite');
  app = await startTestApp({ store: 'memory', database, pki, realIssuer: true });
  origin = originOf(app.url);
  agent = await startAgent({ module: openTokenModule(token.module), origins: [origin], port: 0 });
  certificateId = `${token.slot}:${key.keyId}`;
});

after(async () => {
  await agent?.close();
  await app?.close();
  await database?.cleanup();
});

async function sign(pin: string, challenge: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${agent.url}/v1/sign`, {
    method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ certificate: certificateId, pin, challenge }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function newChallenge(): Promise<{ id: string; challenge: string }> {
  return (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
}

test('openCryptoki (RSA, raw CKM_RSA_PKCS): the agent signs with the token and the service accepts it as a hardware key', async () => {
  const c = await newChallenge();
  const signed = await sign(token.pin, c.challenge);
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  const res = await app.post('/v1/sessions', { challengeId: c.id, format: 'cms', cms: signed.body.cms });
  assert.equal(res.status, 201, await res.clone().text());
  const { accessToken } = (await res.json()) as { accessToken: string };
  const current = (await (await app.get('/v1/sessions/current', { authorization: `Bearer ${accessToken}` })).json()) as { acr: string; amr: string[] };
  assert.equal(current.acr, 'urn:yagona:loa:high');
  assert.deepEqual(current.amr, ['hwk', 'pin', 'pop']);
});

test('three wrong PINs lock the token: warned at the final try, told when it locks, refused after', async () => {
  const { challenge } = await newChallenge();
  const first = await sign('000000', challenge);
  assert.deepEqual([first.status, first.body.code, first.body.pinFinalTry], [403, 'pin_incorrect', false]);
  const second = await sign('000000', challenge);
  assert.deepEqual([second.status, second.body.code, second.body.pinFinalTry], [403, 'pin_incorrect', true]);
  assert.match(String(second.body.detail), /one more wrong PIN locks the token/);
  const third = await sign('000000', challenge);
  assert.deepEqual([third.status, third.body.code, third.body.pinLocked], [423, 'pin_locked', true]);
  assert.match(String(third.body.detail), /has now locked it/);
  // Locked: even the right PIN is refused, and by the token's flag, before any login.
  const right = await sign(token.pin, challenge);
  assert.deepEqual([right.status, right.body.code], [423, 'pin_locked']);
  assert.match(String(right.body.detail), /PUK/);
  const listing = await fetch(`${agent.url}/v1/certificates`, { headers: { origin } });
  const tokens = ((await listing.json()) as { tokens: Array<{ pinLocked: boolean }> }).tokens;
  assert.equal(tokens[0]?.pinLocked, true, 'the page can show the token as locked before asking for a PIN');
});
