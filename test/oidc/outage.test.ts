// Redis down: the OIDC endpoints fail closed and say so in their own formats (a 503, never
// an answer about the token or a silent success), fast.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { addClient, postForm, redirectUri, startOidcApp, type TestClient } from './helpers.ts';

let database: TestDatabase;
let app: TestApp;
let client: TestClient;

before(async () => {
  database = await openTestDatabase('sqlite');
  // A port nothing listens on: every Redis command fails at once.
  app = await startOidcApp({ store: 'redis', redisUrl: 'redis://127.0.0.1:1', database, pki: await createTestPki() });
  client = await addClient(app);
});
after(async () => {
  await app.close();
  await database.cleanup();
});

test('token, introspection and userinfo answer 503 temporarily_unavailable; authorize a 503 page', async () => {
  const basic = { id: client.client.clientId, secret: client.secret as string };
  const started = performance.now();
  const token = await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x', redirect_uri: redirectUri, code_verifier: 'v'.repeat(43) }, basic);
  assert.equal(token.status, 503);
  assert.equal((await token.json() as { error: string }).error, 'temporarily_unavailable');
  assert.ok(performance.now() - started < 2000, 'answers within the command timeout');

  const now = Math.floor(Date.now() / 1000);
  const accessToken = app.deps.keys.signJwt({ iss: app.url, sub: 's', aud: client.client.clientId, iat: now, exp: now + 600, jti: 'j', sid: 's' }, 'at+jwt');
  const introspection = await postForm(`${app.url}/introspect`, { token: accessToken }, basic);
  assert.equal(introspection.status, 503);
  const userinfo = await fetch(`${app.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(userinfo.status, 503);
  assert.equal((await userinfo.json() as { error: string }).error, 'temporarily_unavailable');

  const authorize = await fetch(`${app.url}/authorize?client_id=${client.client.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`, { redirect: 'manual' });
  assert.equal(authorize.status, 503);
  assert.equal(authorize.headers.get('location'), null);
});
