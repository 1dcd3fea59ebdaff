// The three kinds of agency app (issue 14), each driven end to end by openid-client through a
// real sign-in, refresh, userinfo and logout, on Redis + PostgreSQL and on the embedded
// memory + SQLite: a FAPI 2.0 backend (PAR, private_key_jwt, DPoP), a web backend (client
// secret, RS256 ID tokens) and a mobile app (public client, loopback redirect, DPoP-bound
// access and refresh tokens).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import { accessTokenHash } from '../../src/oidc/tokens.ts';
import { openTestDatabases, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { fapiClient, fapiRedirectUri, nativeClient, nativeScheme } from './clientKinds.ts';
import { addClient, Browser, callbackUrl, combos, logoutIn, oidc, signInWithCode, startOidcApp } from './helpers.ts';

let pki: TestPki;
let databases: TestDatabase[];

before(async () => {
  pki = await createTestPki();
  databases = await openTestDatabases();
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
});

/** What a fresh authorization request needs: PKCE, state and nonce. */
async function freshRequest(): Promise<{ verifier: string; state: string; nonce: string; params: Record<string, string> }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  return { verifier, state, nonce, params: { scope: 'openid profile', state, nonce, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' } };
}

for (const combo of combos) {
  describe(`agency app kinds (${combo.store} + ${combo.database})`, () => {
    let app: TestApp;
    let citizen: Citizen;

    before(async () => {
      const database = databases.find((d) => d.kind === combo.database);
      assert.ok(database);
      app = await startOidcApp({ store: combo.store, database, pki });
      citizen = await pki.citizen();
    });
    after(async () => {
      await app.close();
    });

    test('FAPI 2.0 backend: PAR with DPoP, private_key_jwt, DPoP-bound tokens, refresh without rotation, userinfo, logout', async () => {
      const fapi = await fapiClient(app);
      const request = await freshRequest();
      // The browser carries nothing of the request but the client and the pushed reference.
      const url = await oidc.buildAuthorizationUrlWithPAR(fapi.config, { redirect_uri: fapiRedirectUri, ...request.params }, { DPoP: fapi.dpop });
      assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
      assert.match(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
      const browser = new Browser();
      const callback = await callbackUrl(app, url, citizen, browser);
      assert.equal(callback.searchParams.get('iss'), app.url, 'RFC 9207 iss in the response');
      const tokens = await oidc.authorizationCodeGrant(fapi.config, callback,
        { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true }, undefined, { DPoP: fapi.dpop });

      const jkt = await calculateJwkThumbprint(await exportJWK(fapi.dpopKeys.publicKey));
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt }, 'bound to the DPoP key (RFC 9449 §6.1)');
      const idToken = tokens.id_token as string;
      assert.equal(decodeProtectedHeader(idToken).alg, 'ES256');
      assert.equal(decodeJwt(idToken).at_hash, accessTokenHash(tokens.access_token));
      const sub = tokens.claims()?.sub as string;

      const claims = await oidc.fetchUserInfo(fapi.config, tokens.access_token, sub, { DPoP: fapi.dpop });
      assert.equal(claims.family_name, 'Karimov');
      const introspected = await oidc.tokenIntrospection(fapi.config, tokens.access_token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.token_type, 'DPoP');
      assert.deepEqual(introspected.cnf, { jkt });

      // FAPI 2.0 §5.3.2.1: no rotation. The refresh token stays; the access token is new and bound again.
      const refreshed = await oidc.refreshTokenGrant(fapi.config, tokens.refresh_token as string, undefined, { DPoP: fapi.dpop });
      assert.equal(refreshed.refresh_token, tokens.refresh_token);
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
      assert.equal(decodeJwt(refreshed.id_token as string).at_hash, accessTokenHash(refreshed.access_token));
      assert.equal((await oidc.fetchUserInfo(fapi.config, refreshed.access_token, sub, { DPoP: fapi.dpop })).sub, sub);
      await assert.rejects(oidc.fetchUserInfo(fapi.config, tokens.access_token, sub, { DPoP: fapi.dpop }), 'the replaced access token ended');

      const logout = await logoutIn(browser, fapi.config, {
        id_token_hint: refreshed.id_token as string, post_logout_redirect_uri: 'https://kadastr.example.uz/signed-out', state: 'bye',
      });
      assert.equal(logout.status, 303);
      assert.equal(logout.headers.get('location'), 'https://kadastr.example.uz/signed-out?state=bye');
      assert.equal((await oidc.tokenIntrospection(fapi.config, refreshed.access_token)).active, false);
      await assert.rejects(oidc.refreshTokenGrant(fapi.config, tokens.refresh_token as string, undefined, { DPoP: fapi.dpop }),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    });

    test('web backend: client secret, RS256 ID tokens verified against the JWKS, rotating refresh, userinfo, logout', async () => {
      const web = await addClient(app, { idTokenSignedResponseAlg: 'RS256' });
      const config = await oidc.discovery(new URL(app.url), web.client.clientId, { id_token_signed_response_alg: 'RS256' },
        oidc.ClientSecretBasic(web.secret), { execute: [oidc.allowInsecureRequests] });
      const browser = new Browser();
      const { tokens } = await signInWithCode(app, config, citizen, {}, browser);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      const header = decodeProtectedHeader(tokens.id_token as string);
      assert.equal(header.alg, 'RS256');
      const jwks = (await (await app.get('/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string; alg: string; kty: string }> };
      assert.equal(jwks.keys.find((k) => k.kid === header.kid)?.alg, 'RS256');
      await jwtVerify(tokens.id_token as string, createLocalJWKSet(jwks), { algorithms: ['RS256'], issuer: app.url, audience: web.client.clientId });
      assert.equal(decodeJwt(tokens.id_token as string).at_hash, accessTokenHash(tokens.access_token));
      const sub = tokens.claims()?.sub as string;
      assert.equal((await oidc.fetchUserInfo(config, tokens.access_token, sub)).sub, sub);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'a bearer refresh token rotates');
      assert.equal((await oidc.fetchUserInfo(config, refreshed.access_token, sub)).sub, sub);
      const logout = await logoutIn(browser, config, { id_token_hint: refreshed.id_token as string, post_logout_redirect_uri: 'https://agency.example/signed-out' });
      assert.equal(logout.status, 303);
      assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);
      await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token as string));
    });

    test('mobile app: no secret, loopback redirect on any port, dpop_jkt, DPoP-bound access and refresh tokens, userinfo, revocation, logout', async () => {
      const app_ = await nativeClient(app);
      const request = await freshRequest();
      const jkt = await calculateJwkThumbprint(await exportJWK(app_.dpopKeys.publicKey));
      // RFC 8252 §7.3: the app opened its listener on a port of its own; the registration has none.
      const redirect = 'http://127.0.0.1:49731/callback';
      const url = oidc.buildAuthorizationUrl(app_.config, { redirect_uri: redirect, dpop_jkt: jkt, ...request.params });
      const browser = new Browser();
      const callback = await callbackUrl(app, url, citizen, browser);
      assert.equal(`${callback.origin}${callback.pathname}`, redirect);
      const tokens = await oidc.authorizationCodeGrant(app_.config, callback,
        { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true }, undefined, { DPoP: app_.dpop });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt });
      const sub = tokens.claims()?.sub as string;
      assert.equal((await oidc.fetchUserInfo(app_.config, tokens.access_token, sub, { DPoP: app_.dpop })).given_name, 'Aziz');

      // A DPoP-bound refresh token (RFC 9449 §5) is kept: a retry on a flaky mobile network works.
      const refreshed = await oidc.refreshTokenGrant(app_.config, tokens.refresh_token as string, undefined, { DPoP: app_.dpop });
      assert.equal(refreshed.refresh_token, tokens.refresh_token);
      const again = await oidc.refreshTokenGrant(app_.config, tokens.refresh_token as string, undefined, { DPoP: app_.dpop });
      assert.equal((await oidc.fetchUserInfo(app_.config, again.access_token, sub, { DPoP: app_.dpop })).sub, sub);

      // Logout through the browser back to the app's own scheme; the grant ends with it.
      const logout = await logoutIn(browser, app_.config, { id_token_hint: again.id_token as string, post_logout_redirect_uri: `${nativeScheme}:/signed-out`, state: 's' });
      assert.equal(logout.status, 303);
      assert.equal(logout.headers.get('location'), `${nativeScheme}:/signed-out?state=s`);
      await assert.rejects(oidc.fetchUserInfo(app_.config, again.access_token, sub, { DPoP: app_.dpop }));
      await assert.rejects(oidc.refreshTokenGrant(app_.config, tokens.refresh_token as string, undefined, { DPoP: app_.dpop }),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');

      // A public client revokes its own refresh token with nothing but its client_id (RFC 7009 §2.1).
      const second = await freshRequest();
      const secondCallback = await callbackUrl(app, oidc.buildAuthorizationUrl(app_.config, { redirect_uri: `${nativeScheme}:/oauth2redirect`, ...second.params }), citizen);
      const more = await oidc.authorizationCodeGrant(app_.config, secondCallback,
        { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce }, undefined, { DPoP: app_.dpop });
      await oidc.tokenRevocation(app_.config, more.refresh_token as string);
      await assert.rejects(oidc.refreshTokenGrant(app_.config, more.refresh_token as string, undefined, { DPoP: app_.dpop }),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    });
  });
}


