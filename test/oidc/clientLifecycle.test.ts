// Client types and lifecycle (issue 14): `admin clients add --type native | --profile fapi2`,
// `clients update` and `clients rotate-secret` through the real command program, on the same
// SQLite database as the real app, and what they mean at the endpoints: an update keeps the
// client_id and every citizen's pairwise sub; a rotated secret works during its overlap and
// never after. Every change leaves an audit event.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { secretMatches } from '../../src/oidc/clients.ts';
import type { ClientRecord } from '../../src/stores/types.ts';
import { runAdmin } from '../helpers/admin.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { authorizationUrl, Browser, postForm, redirectUri, relyingParty, signInWithCode, startOidcApp } from './helpers.ts';

let database: TestDatabase;
let pki: TestPki;
let citizen: Citizen;
let app: TestApp;
const clock = fixedClock(new Date());

/** One admin command; `ok` false expects exit 1 and returns its one stderr line. */
async function admin(args: string[], ok = true): Promise<{ json: Record<string, unknown>; line: string }> {
  const run = await runAdmin([...args, '--yes', '--json'], { DATABASE_URL: database.url });
  assert.equal(run.code, ok ? 0 : 1, `${args.join(' ')}: ${run.stderr}`);
  return ok ? { json: JSON.parse(run.stdout) as Record<string, unknown>, line: '' } : { json: {}, line: run.stderr };
}

async function stored(clientId: string): Promise<ClientRecord> {
  const client = await app.db.clients.find(clientId);
  assert.ok(client, clientId);
  return client;
}

async function jwksFile(name: string, alg = 'ES256'): Promise<{ file: string; privateKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const file = join(dirname(database.url.slice('sqlite:'.length)), `${name}.json`);
  await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: name, alg, use: 'sig' }] }));
  return { file, privateKey };
}

before(async () => {
  database = await openTestDatabase('sqlite');
  pki = await createTestPki();
  citizen = await pki.citizen();
  app = await startOidcApp({ store: 'memory', database, pki, clock });
});
after(async () => {
  await app.close();
  await database.cleanup();
});

describe('client types', () => {
  test('--type native: a public client, no secret, DPoP-bound; loopback, claimed https and reverse-domain schemes only', async () => {
    const { json } = await admin(['clients', 'add', '--name', 'Soliq mobile', '--type', 'native',
      '--redirect-uri', 'uz.soliq.mobile:/oauth2redirect', 'http://127.0.0.1/callback', 'https://app.soliq.uz/callback']);
    assert.equal(json.client_secret, undefined);
    assert.equal(json.application_type, 'native');
    assert.equal(json.token_endpoint_auth_method, 'none');
    assert.equal(json.dpop_bound_access_tokens, true);
    for (const uri of ['myapp:/cb', 'javascript:alert(1)', 'http://192.168.1.5/cb', 'http://localhost/cb', 'uz.soliq.mobile://host/cb']) {
      const { line } = await admin(['clients', 'add', '--name', 'Bad', '--type', 'native', '--redirect-uri', uri], false);
      assert.match(line, /native app's redirect URI/, uri);
    }
    assert.match((await admin(['clients', 'add', '--name', 'Bad', '--type', 'native', '--redirect-uri', 'https://a.uz/cb', '--auth', 'client_secret_basic'], false)).line, /public client/);
    // A web backend gets no private-use scheme, and cannot be public.
    assert.match((await admin(['clients', 'add', '--name', 'Bad', '--redirect-uri', 'uz.soliq.mobile:/cb'], false)).line, /must use https/);
    assert.match((await admin(['clients', 'add', '--name', 'Bad', '--redirect-uri', 'https://a.uz/cb', '--auth', 'none'], false)).line, /web backend authenticates/);
  });

  test('--profile fapi2: private_key_jwt with ES256/PS256 keys, PAR and DPoP required; anything weaker refused', async () => {
    const keys = await jwksFile('fapi-es256');
    const { json } = await admin(['clients', 'add', '--name', 'Land registry', '--profile', 'fapi2', '--redirect-uri', 'https://kadastr.uz/cb', '--jwks', keys.file]);
    assert.equal(json.client_secret, undefined);
    assert.equal(json.profile, 'fapi2');
    assert.equal(json.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(json.require_pushed_authorization_requests, true);
    assert.equal(json.dpop_bound_access_tokens, true);
    assert.equal(json.id_token_signed_response_alg, 'ES256');
    const base = ['clients', 'add', '--name', 'Weak', '--profile', 'fapi2', '--redirect-uri', 'https://kadastr.uz/cb'];
    assert.match((await admin(base, false)).line, /private_key_jwt needs --jwks/);
    assert.match((await admin([...base, '--auth', 'client_secret_basic'], false)).line, /private_key_jwt/);
    assert.match((await admin([...base, '--jwks', keys.file, '--id-token-alg', 'RS256'], false)).line, /ES256 or PS256/);
    assert.match((await admin([...base, '--jwks', keys.file, '--no-require-par'], false)).line, /PAR/);
    assert.match((await admin([...base, '--jwks', (await jwksFile('fapi-rs256', 'RS256')).file], false)).line, /RS256 is of no use/);
    assert.match((await admin([...base, '--jwks', keys.file, '--type', 'native'], false)).line, /(public client|confidential backends)/);
    // PS256 ID tokens are a FAPI client's choice too.
    const ps = await admin([...base, '--jwks', keys.file, '--id-token-alg', 'PS256']);
    assert.equal(ps.json.id_token_signed_response_alg, 'PS256');
  });
});

describe('client lifecycle', () => {
  test('update changes name, redirect and logout URIs and profile; the client_id and every citizen\'s sub stay; each change is audited', async () => {
    const { json } = await admin(['clients', 'add', '--name', 'Health', '--redirect-uri', redirectUri, '--post-logout-redirect-uri', 'https://agency.example/bye']);
    const clientId = String(json.client_id);
    const secret = String(json.client_secret);
    const before = await stored(clientId);
    const config = await relyingParty(app, { client: before, secret });
    const first = await signInWithCode(app, config, citizen);

    const moved = 'https://agency.example/new-callback';
    const update = await admin(['clients', 'update', clientId, '--name', 'Health ministry', '--redirect-uri', moved, '--post-logout-redirect-uri', 'none']);
    assert.deepEqual(update.json.changed, ['name', 'redirectUris', 'postLogoutRedirectUris']);
    assert.equal(update.json.client_secret, undefined, 'the secret stays');
    const after = await stored(clientId);
    assert.equal(after.subjectSalt, before.subjectSalt);
    assert.equal(after.secretHash, before.secretHash);
    assert.deepEqual(after.redirectUris, [moved]);
    assert.deepEqual(after.postLogoutRedirectUris, []);
    const [event] = await app.db.audit.tail(1);
    assert.equal(event?.type, 'client_updated');
    assert.deepEqual(event?.details, { clientId, changed: ['name', 'redirectUris', 'postLogoutRedirectUris'], secretIssued: false });

    // The old redirect URI is gone at once; the new one signs the same citizen in as the same sub.
    const old = await authorizationUrl(config);
    assert.equal((await new Browser().fetch(old.url.href)).status, 400);
    const second = await signInWithCode(app, config, citizen, { redirect_uri: moved });
    assert.equal(second.tokens.claims()?.sub, first.tokens.claims()?.sub);
    assert.equal(second.tokens.claims()?.aud, clientId);

    // Up to FAPI 2.0 with keys: private_key_jwt, the secret dropped, PAR and DPoP required.
    const keys = await jwksFile('health-key');
    const fapi = await admin(['clients', 'update', clientId, '--profile', 'fapi2', '--jwks', keys.file]);
    assert.equal(fapi.json.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(fapi.json.require_pushed_authorization_requests, true);
    const upgraded = await stored(clientId);
    assert.equal(upgraded.secretHash, null);
    assert.equal(upgraded.subjectSalt, before.subjectSalt);
    await assertRefused(postForm(`${app.url}/introspect`, { token: 'x' }, { id: clientId, secret }), 'the secret of a private_key_jwt client');

    // An update registration would refuse changes nothing.
    assert.match((await admin(['clients', 'update', clientId, '--auth', 'client_secret_basic'], false)).line, /private_key_jwt/);
    assert.deepEqual(await stored(clientId), upgraded);
    assert.match((await admin(['clients', 'update', 'agency-nobody', '--name', 'x'], false)).line, /no client agency-nobody/);
    assert.match((await admin(['clients', 'update', clientId], false)).line, /nothing to change/);
  });

  test('rotate-secret: a new secret at once, the old one during the stated overlap and never after; audited', async () => {
    clock.set(new Date());
    const { json } = await admin(['clients', 'add', '--name', 'Pension fund', '--redirect-uri', redirectUri]);
    const clientId = String(json.client_id);
    const oldSecret = String(json.client_secret);
    const config = await relyingParty(app, { client: await stored(clientId), secret: oldSecret });
    const { tokens } = await signInWithCode(app, config, citizen);
    const before = await stored(clientId);

    const rotated = await admin(['clients', 'rotate-secret', clientId, '--overlap', '10m']);
    const newSecret = String(rotated.json.client_secret);
    assert.match(newSecret, /^[A-Za-z0-9_-]{43}$/);
    const until = Date.parse(String(rotated.json.previous_secret_valid_until));
    assert.ok(Math.abs(until - (Date.now() + 600_000)) < 30_000, 'the overlap the operator stated');
    const [event] = await app.db.audit.tail(1);
    assert.equal(event?.type, 'client_secret_rotated');
    assert.deepEqual(event?.details, { clientId, previousValidUntil: rotated.json.previous_secret_valid_until });
    const after = await stored(clientId);
    assert.equal(after.clientId, before.clientId);
    assert.equal(after.subjectSalt, before.subjectSalt);

    // During the overlap: both secrets, at the token endpoint (a refresh) and at introspection.
    const refresh = (secret: string, token: string) => postForm(`${app.url}/token`, { grant_type: 'refresh_token', refresh_token: token }, { id: clientId, secret });
    const duringOld = await refresh(oldSecret, tokens.refresh_token as string);
    assert.equal(duringOld.status, 200, await duringOld.clone().text());
    const { refresh_token: next } = (await duringOld.json()) as { refresh_token: string };
    assert.equal((await postForm(`${app.url}/introspect`, { token: next }, { id: clientId, secret: newSecret })).status, 200);

    // After it: the old secret is refused and changes nothing; the new one refreshes.
    clock.advanceSeconds(660);
    await assertRefused(refresh(oldSecret, next), 'the old secret after the overlap');
    const afterNew = await refresh(newSecret, next);
    assert.equal(afterNew.status, 200, await afterNew.clone().text());
    assert.ok(!secretMatches(await stored(clientId), oldSecret, clock.now()));

    // --overlap 0 (a leaked secret): the previous one is gone at once.
    const leaked = await admin(['clients', 'rotate-secret', clientId, '--overlap', '0']);
    assert.equal(leaked.json.previous_secret_valid_until, null);
    await assertRefused(postForm(`${app.url}/introspect`, { token: 'x' }, { id: clientId, secret: newSecret }), 'a secret rotated with no overlap');
    assert.equal((await postForm(`${app.url}/introspect`, { token: 'x' }, { id: clientId, secret: String(leaked.json.client_secret) })).status, 200);
    // Only secret clients have a secret to rotate; a bounded overlap.
    assert.match((await admin(['clients', 'rotate-secret', clientId, '--overlap', '31d'], false)).line, /overlap/);
    const native = await admin(['clients', 'add', '--name', 'App', '--type', 'native', '--redirect-uri', 'http://127.0.0.1/cb']);
    assert.match((await admin(['clients', 'rotate-secret', String(native.json.client_id)], false)).line, /has no secret/);
  });
});

async function assertRefused(response: Promise<Response>, what: string): Promise<void> {
  const res = await response;
  assert.equal(res.status, 401, what);
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_client', what);
}

