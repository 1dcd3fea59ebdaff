// Every OIDC flow an agency app uses, driven by openid-client (a certified relying-party
// library) against the real app: Redis + PostgreSQL, and the embedded memory + SQLite.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { openTestDatabases, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { addClient, Browser, combos, logoutIn, logoutReceiver, oidc, relyingParty, signInWithCode, startOidcApp, type LogoutReceiver } from './helpers.ts';

let pki: TestPki;
let databases: TestDatabase[];

before(async () => {
  pki = await createTestPki();
  databases = await openTestDatabases();
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
});

for (const combo of combos) {
  describe(`OIDC flows (${combo.store} + ${combo.database})`, () => {
    let app: TestApp;
    let citizen: Citizen;
    let receiver: LogoutReceiver;

    before(async () => {
      const database = databases.find((d) => d.kind === combo.database);
      assert.ok(database);
      app = await startOidcApp({ store: combo.store, database, pki });
      citizen = await pki.citizen();
      receiver = await logoutReceiver();
    });
    after(async () => {
      await receiver.close();
      await app.close();
    });

    test('discovery lists every endpoint and the supported features', async () => {
      const res = await app.get('/.well-known/openid-configuration');
      assert.equal(res.status, 200);
      const meta = (await res.json()) as Record<string, unknown>;
      assert.equal(meta.issuer, app.url);
      for (const [name, path] of Object.entries({
        authorization_endpoint: '/authorize', token_endpoint: '/token', userinfo_endpoint: '/userinfo', jwks_uri: '/.well-known/jwks.json',
        end_session_endpoint: '/logout', introspection_endpoint: '/introspect', revocation_endpoint: '/revoke',
      })) assert.equal(meta[name], `${app.url}${path}`, name);
      assert.deepEqual(meta.response_types_supported, ['code']);
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(meta.id_token_signing_alg_values_supported, ['ES256', 'RS256', 'PS256']);
      assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
      assert.equal(meta.authorization_response_iss_parameter_supported, true);
      assert.equal(meta.backchannel_logout_supported, true);
      assert.ok((meta.scopes_supported as string[]).includes('national_id'));
      assert.ok((meta.scopes_supported as string[]).includes('organization'));
      assert.ok((meta.claims_supported as string[]).includes('organization'));
    });

    test('code + PKCE: state, nonce and iss checked by openid-client; the ID token carries what #111 asks', async () => {
      const registered = await addClient(app);
      const config = await relyingParty(app, registered);
      const { start, tokens } = await signInWithCode(app, config, citizen);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.refresh_token);
      const header = decodeProtectedHeader(tokens.id_token as string);
      assert.equal(header.alg, 'ES256');
      assert.ok(header.kid);
      const claims = tokens.claims();
      assert.ok(claims);
      assert.equal(claims.iss, app.url);
      assert.equal(claims.aud, registered.client.clientId);
      assert.equal(claims.nonce, start.nonce);
      assert.equal(claims.acr, 'urn:yagona:loa:substantial');
      assert.deepEqual(claims.amr, ['pop', 'swk']);
      assert.equal(typeof claims.auth_time, 'number');
      assert.equal(typeof claims.sid, 'string');
      assert.ok(claims.exp - claims.iat <= 300, 'short-lived');
      // Pairwise: no national identifier in sub, and another agency sees another sub.
      assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
      const other = await addClient(app);
      const second = await signInWithCode(app, await relyingParty(app, other), citizen);
      assert.notEqual(second.tokens.claims()?.sub, claims.sub);
      // The access token is the service's own session JWT for this client.
      const access = decodeJwt(tokens.access_token);
      assert.equal(access.aud, registered.client.clientId);
      assert.equal(access.sub, claims.sub);
    });

    test('a public-subject client sees an opaque sub, the same at every public client, and no PINFL without national_id; pairwise subs are stable', async () => {
      const pub = await addClient(app, { subjectType: 'public' });
      const { tokens } = await signInWithCode(app, await relyingParty(app, pub), citizen);
      const sub = tokens.claims()?.sub ?? '';
      assert.match(sub, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(tokens.claims()?.pinfl, undefined);
      const claims = await oidc.fetchUserInfo(await relyingParty(app, pub), tokens.access_token, sub);
      assert.equal(claims.pinfl, undefined);
      const otherPublic = await signInWithCode(app, await relyingParty(app, await addClient(app, { subjectType: 'public' })), citizen);
      assert.equal(otherPublic.tokens.claims()?.sub, sub, 'public: one sub for every public client');
      const pairwise = await addClient(app);
      const config = await relyingParty(app, pairwise);
      const a = await signInWithCode(app, config, citizen);
      const b = await signInWithCode(app, config, citizen);
      assert.equal(a.tokens.claims()?.sub, b.tokens.claims()?.sub);
    });

    test('userinfo releases names with profile and national identifiers only with national_id', async () => {
      const registered = await addClient(app, { scopes: ['openid', 'profile', 'national_id'] });
      const config = await relyingParty(app, registered);
      const plain = await signInWithCode(app, config, citizen);
      const sub = plain.tokens.claims()?.sub as string;
      const profile = await oidc.fetchUserInfo(config, plain.tokens.access_token, sub);
      assert.equal(profile.family_name, 'Karimov');
      assert.equal(profile.given_name, 'Aziz');
      assert.match(String(profile.name), /^Citizen \d+$/);
      assert.equal(profile.pinfl, undefined);
      assert.equal(profile.tin, undefined);
      const national = await signInWithCode(app, config, citizen, { scope: 'openid national_id email' });
      assert.equal(national.tokens.scope, 'openid national_id', 'unknown scopes are ignored, the granted ones named');
      const claims = await oidc.fetchUserInfo(config, national.tokens.access_token, sub);
      assert.match(String(claims.pinfl), /^\d{14}$/);
      assert.equal(claims.name, undefined, 'no profile scope, no names');
    });

    test("an employee: scopes decide names, the person's identifiers and the organisation, in the ID token and at userinfo alike", async () => {
      const employee = await pki.citizen({
        subject: 'CN=VALIYEV ALI,SN=VALIYEV,2.5.4.41=ALI,1.2.860.3.16.1.2=31201990000123,UID=512345678,' +
          'O=DUK YANGI TEXNOLOGIYALAR,1.2.860.3.16.1.1=305123456,TITLE=Dasturchi,C=UZ',
      });
      const registered = await addClient(app, { scopes: ['openid', 'profile', 'national_id', 'organization'] });
      const config = await relyingParty(app, registered);
      const all = await signInWithCode(app, config, employee, { scope: 'openid profile national_id organization' });
      const sub = all.tokens.claims()?.sub as string;
      const organization = { name: 'DUK YANGI TEXNOLOGIYALAR', tin: '305123456', title: 'Dasturchi' };
      for (const claims of [all.tokens.claims()!, await oidc.fetchUserInfo(config, all.tokens.access_token, sub)]) {
        assert.equal(claims.given_name, 'ALI', 'the given name from name (2.5.4.41)');
        assert.equal(claims.pinfl, '31201990000123');
        assert.equal(claims.tin, '512345678', "the person's TIN, from UID");
        assert.deepEqual(claims.organization, organization);
      }
      const some = await signInWithCode(app, config, employee, { scope: 'openid national_id' });
      for (const claims of [some.tokens.claims()!, await oidc.fetchUserInfo(config, some.tokens.access_token, sub)]) {
        assert.equal(claims.tin, '512345678');
        assert.equal(claims.organization, undefined, 'no organization scope, no organisation');
        assert.equal(claims.given_name, undefined, 'no profile scope, no names');
      }
    });

    test('client_secret_post works; max_age, prompt=login, acr_values and ui_locales are accepted on a fresh sign-in', async () => {
      const registered = await addClient(app, { authMethod: 'client_secret_post' });
      const config = await relyingParty(app, registered);
      // openid-client checks auth_time against max_age itself.
      const { tokens } = await signInWithCode(app, config, citizen, { max_age: '0', prompt: 'login', acr_values: 'urn:yagona:loa:substantial', ui_locales: 'en' });
      assert.ok(Math.abs((tokens.claims()?.auth_time ?? 0) - Date.now() / 1000) < 30);
    });

    test('refresh tokens rotate; reusing an old one revokes the whole family', async () => {
      const registered = await addClient(app);
      const config = await relyingParty(app, registered);
      const { tokens } = await signInWithCode(app, config, citizen);
      const sub = tokens.claims()?.sub as string;
      const first = tokens.refresh_token as string;
      const rotated = await oidc.refreshTokenGrant(config, first);
      assert.ok(rotated.refresh_token && rotated.refresh_token !== first);
      assert.notEqual(rotated.access_token, tokens.access_token);
      assert.equal(rotated.claims()?.sub, sub);
      assert.equal(rotated.claims()?.auth_time, tokens.claims()?.auth_time, 'refresh keeps the sign-in time');
      // The old access token ended with the rotation; the new one works.
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, sub));
      assert.equal((await oidc.fetchUserInfo(config, rotated.access_token, sub)).sub, sub);

      await assert.rejects(oidc.refreshTokenGrant(config, first), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      // Reuse killed the family: the current refresh token and access token are dead too.
      await assert.rejects(oidc.refreshTokenGrant(config, rotated.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(oidc.fetchUserInfo(config, rotated.access_token, sub));
    });

    test('introspection: active while the sign-in lives, inactive after RP-initiated logout; back-channel logout arrives', async () => {
      const registered = await addClient(app, { backchannelLogoutUri: receiver.url.replace('127.0.0.1', '127.0.0.1') });
      const config = await relyingParty(app, registered);
      const browser = new Browser();
      const { tokens } = await signInWithCode(app, config, citizen, {}, browser);
      const active = await oidc.tokenIntrospection(config, tokens.access_token);
      assert.equal(active.active, true);
      assert.equal(active.client_id, registered.client.clientId);
      assert.equal(active.sub, tokens.claims()?.sub);
      assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token as string)).active, true);
      // Another agency cannot learn anything about this token.
      const stranger = await relyingParty(app, await addClient(app));
      assert.equal((await oidc.tokenIntrospection(stranger, tokens.access_token)).active, false);

      const res = await logoutIn(browser, config, {
        id_token_hint: tokens.id_token as string, post_logout_redirect_uri: 'https://agency.example/signed-out', state: 'bye-1',
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), 'https://agency.example/signed-out?state=bye-1');

      const logoutToken = await receiver.next();
      const jwks = createRemoteJWKSet(new URL(`${app.url}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: app.url, audience: registered.client.clientId, typ: 'logout+jwt', algorithms: ['ES256'] });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.equal(payload.sid, tokens.claims()?.sid);
      assert.equal(payload.sub, tokens.claims()?.sub);
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal(payload.nonce, undefined);

      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
      assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token as string)).active, false);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string));
    });

    test('a dead or hanging back-channel endpoint does not hold up the citizen\'s logout', async () => {
      // Never answers; records whether the logout's request to it is still open.
      const open = { received: false, aborted: false };
      const hanging = createServer((req) => {
        open.received = true;
        req.socket.once('close', () => { open.aborted = true; });
      });
      hanging.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => hanging.once('listening', resolve));
      try {
        const slow = await addClient(app, { backchannelLogoutUri: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/logout` });
        const dead = await addClient(app, { backchannelLogoutUri: 'http://127.0.0.1:9/logout' });
        const browser = new Browser();
        const a = await signInWithCode(app, await relyingParty(app, slow), citizen, {}, browser);
        const deadConfig = await relyingParty(app, dead);
        const b = await signInWithCode(app, deadConfig, citizen, {}, browser);
        const res = await logoutIn(browser, await relyingParty(app, slow), { id_token_hint: a.tokens.id_token as string }, 'all');
        assert.equal(res.status, 200);
        // The page came back while the hanging agency still held its logout request: nothing
        // waited for it (awaiting would have lasted until the request timed out and closed).
        assert.equal(open.aborted, false, 'answered without waiting for the agencies');
        for (let i = 0; i < 100 && !open.received; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(open.received && !open.aborted, 'the hanging agency was told, and is still being waited for in the background');
        assert.equal((await oidc.tokenIntrospection(deadConfig, b.tokens.access_token)).active, false);
      } finally {
        hanging.closeAllConnections();
        await new Promise<void>((resolve) => { hanging.close(() => resolve()); });
      }
    });

    test('logout of all agencies ends the other agencies\' sign-ins in the session and notifies them', async () => {
      const first = await addClient(app);
      const second = await addClient(app, { backchannelLogoutUri: receiver.url });
      const browser = new Browser();
      const a = await signInWithCode(app, await relyingParty(app, first), citizen, {}, browser);
      const secondConfig = await relyingParty(app, second);
      const b = await signInWithCode(app, secondConfig, citizen, {}, browser);
      const res = await logoutIn(browser, await relyingParty(app, first), { id_token_hint: a.tokens.id_token as string, ui_locales: 'en' }, 'all');
      assert.equal(res.status, 200);
      assert.match(await res.text(), /You have signed out/);
      const token = decodeJwt(await receiver.next());
      assert.equal(token.sid, b.tokens.claims()?.sid);
      // The back channel audits its delivery after the agency has answered, so it may land
      // among these records or after them: the test picks out this session's logouts.
      const sid = a.tokens.claims()?.sid;
      assert.equal(b.tokens.claims()?.sid, sid);
      const logouts = (await app.db.audit.tail(10)).filter((e) => e.type === 'logout' && e.details?.sid === sid);
      assert.deepEqual(logouts.map((e) => e.details?.clientId).sort(), [first.client.clientId, second.client.clientId].sort());
      assert.ok(logouts.every((e) => e.details?.initiatedBy === first.client.clientId));
      assert.equal((await oidc.tokenIntrospection(secondConfig, b.tokens.access_token)).active, false);
    });

    test('token revocation (RFC 7009): a revoked refresh token ends its grant', async () => {
      const registered = await addClient(app);
      const config = await relyingParty(app, registered);
      const { tokens } = await signInWithCode(app, config, citizen);
      await oidc.tokenRevocation(config, tokens.refresh_token as string);
      assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token as string)).active, false);
      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
      // Revoking an access token ends that session only; an unknown token is still 200.
      const again = await signInWithCode(app, config, citizen);
      await oidc.tokenRevocation(config, again.tokens.access_token);
      assert.equal((await oidc.tokenIntrospection(config, again.tokens.access_token)).active, false);
      const refreshed = await oidc.refreshTokenGrant(config, again.tokens.refresh_token as string);
      assert.ok(refreshed.access_token);
      await oidc.tokenRevocation(config, 'not-a-token-we-issued');
    });

    test('private_key_jwt (RFC 7523) authenticates an agency with its own key', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'agency-key-1', alg: 'ES256', use: 'sig' }] };
      const registered = await addClient(app, { authMethod: 'private_key_jwt', jwks });
      assert.equal(registered.secret, undefined);
      const config = await relyingParty(app, registered, oidc.PrivateKeyJwt({ key: privateKey, kid: 'agency-key-1' }));
      const { tokens } = await signInWithCode(app, config, citizen);
      assert.ok(tokens.id_token);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, true);
    });

    test('key rotation while tokens are live: old tokens keep working, new ones use the new key', async () => {
      const registered = await addClient(app);
      const config = await relyingParty(app, registered);
      const browser = new Browser();
      const before = await signInWithCode(app, config, citizen, {}, browser);
      const oldKid = decodeProtectedHeader(before.tokens.id_token as string).kid;
      await app.deps.keys.rotate();
      const rotated = app.deps.keys.active();
      assert.notEqual(rotated.kid, oldKid);
      const sub = before.tokens.claims()?.sub as string;
      assert.equal((await oidc.fetchUserInfo(config, before.tokens.access_token, sub)).sub, sub);
      assert.equal((await oidc.tokenIntrospection(config, before.tokens.access_token)).active, true);
      // The same relying-party configuration verifies an ID token signed with the new key.
      const afterRotation = await signInWithCode(app, config, citizen);
      assert.equal(decodeProtectedHeader(afterRotation.tokens.id_token as string).kid, rotated.kid);
      const refreshed = await oidc.refreshTokenGrant(config, before.tokens.refresh_token as string);
      assert.equal(decodeProtectedHeader(refreshed.access_token).kid, rotated.kid);
      // An RP logout with the old-key ID token still works while that key is published.
      const res = await logoutIn(browser, config, { id_token_hint: before.tokens.id_token as string, ui_locales: 'en' });
      assert.match(await res.text(), /You have signed out/);
    });

    test('a revoked certificate ends the agencies\' grants: back-channel logout, and refresh refuses', async () => {
      const victim = await pki.citizen();
      const registered = await addClient(app, { backchannelLogoutUri: receiver.url });
      const config = await relyingParty(app, registered);
      const { tokens } = await signInWithCode(app, config, victim);
      const record = await app.deps.sessions.authenticate(tokens.access_token, registered.client.clientId);
      const leaf = record.certificatePath?.[0];
      assert.ok(leaf);
      // The operator's path: the registry records it, the revocation watcher ends the
      // sessions and the grants, the agency hears of it.
      await app.db.revocations.add({ issuer: leaf.issuer, serialHex: leaf.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
      await app.deps.revocationWatcher.refresh();
      await app.deps.revocationWatcher.settled();
      assert.equal(decodeJwt(await receiver.next()).sid, tokens.claims()?.sid);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);

      // The refresh grant reads the registry itself, before any watcher has polled.
      const other = await pki.citizen();
      const second = await signInWithCode(app, config, other);
      const otherLeaf = (await app.deps.sessions.authenticate(second.tokens.access_token, registered.client.clientId)).certificatePath?.[0];
      assert.ok(otherLeaf);
      await app.db.revocations.add({ issuer: otherLeaf.issuer, serialHex: otherLeaf.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
      await assert.rejects(oidc.refreshTokenGrant(config, second.tokens.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    });
  });
}
