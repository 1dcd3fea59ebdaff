// docs/security-cases.md §G (97-119) against the real app on Redis + PostgreSQL, plus the
// interaction's own rules (browser binding, retries, cookies). Raw HTTP where a certified
// client would refuse to send the attack; openid-client where it is the victim.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { OperatorInputError } from '../../src/errors.ts';
import { assertRedirectUri } from '../../src/oidc/clients.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import {
  addClient, authorizationUrl, Browser, callbackUrl, oidc, postForm, redirectUri, relyingParty, signInAt, signInWithCode, startInteraction, startOidcApp,
  type TestClient,
} from './helpers.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let citizen: Citizen;
let registered: TestClient;
let config: oidc.Configuration;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('postgres');
  app = await startOidcApp({ store: 'redis', database, pki });
  citizen = await pki.citizen();
  registered = await addClient(app);
  config = await relyingParty(app, registered);
});
after(async () => {
  await app.close();
  await database.cleanup();
});

const basic = () => ({ id: registered.client.clientId, secret: registered.secret as string });
const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** A raw authorization request with every parameter under the test's control. */
function authorizeUrl(params: Record<string, string | undefined>): string {
  const verifier = randomBytes(32).toString('base64url');
  const defaults: Record<string, string> = {
    client_id: registered.client.clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid',
    state: 'st-1', code_challenge: challengeOf(verifier), code_challenge_method: 'S256',
  };
  const url = new URL(`${app.url}/authorize`);
  for (const [name, value] of Object.entries({ ...defaults, ...params })) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

async function expectErrorPage(url: string): Promise<void> {
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 400, url);
  assert.equal(res.headers.get('location'), null, 'never a redirect');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await res.text(), /role="alert"/);
}

async function expectErrorRedirect(url: string, error: string, state: string | undefined = 'st-1'): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get('location') ?? '');
  assert.equal(`${location.origin}${location.pathname}`, redirectUri, 'only the registered redirect_uri');
  assert.equal(location.searchParams.get('error'), error);
  assert.equal(location.searchParams.get('state'), state ?? null);
  assert.equal(location.searchParams.get('iss'), app.url, 'RFC 9207 iss on errors too');
  assert.equal(location.searchParams.get('code'), null);
  return location;
}

/** A code for `registered`, its verifier and the callback. */
async function code(extra: Record<string, string> = {}): Promise<{ code: string; verifier: string; callback: URL }> {
  const start = await authorizationUrl(config, extra);
  const callback = await callbackUrl(app, start.url, citizen);
  return { code: callback.searchParams.get('code') as string, verifier: start.verifier, callback };
}

async function redeem(params: Record<string, string>, credentials = basic()): Promise<Response> {
  return postForm(`${app.url}/token`, { grant_type: 'authorization_code', redirect_uri: redirectUri, ...params }, credentials);
}

async function oauthError(res: Response, status: number, error: string): Promise<void> {
  const body = (await res.json()) as { error: string; error_description: string };
  assert.equal(body.error, error, body.error_description);
  assert.equal(res.status, status);
  assert.equal(res.headers.get('cache-control'), 'no-store');
}

describe('§G OIDC / OAuth attacks (redis + postgres)', () => {
  test('#97 redirect_uri not byte-equal to the registered one: error page, never a redirect', async () => {
    for (const variant of [
      'https://agency.example/callback/', 'https://agency.example/callback/x', 'https://agency.example/callback?x=1', 'https://agency.example/callback#f',
      'https://AGENCY.example/callback', 'https://agency.example/Callback', 'https://agency.example@evil.example/callback', 'https://agency.example.evil.com/callback',
      'https://agency.example/%2e%2e/callback', 'https://agency.example/callback%252f', 'https://agency.example:443/callback', 'http://agency.example/callback', '',
    ]) await expectErrorPage(authorizeUrl({ redirect_uri: variant }));
    await expectErrorPage(authorizeUrl({ redirect_uri: undefined }));
    await expectErrorPage(authorizeUrl({ client_id: 'agency-unknown' }));
    await expectErrorPage(authorizeUrl({ client_id: undefined }));
    // A repeated parameter is ambiguous, so nothing is trusted (RFC 6749 §3.1).
    await expectErrorPage(`${authorizeUrl({})}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`);
  });

  test('#98 http (not loopback) or localhost redirect URIs are refused at registration', () => {
    for (const bad of ['http://agency.example/cb', 'http://localhost/cb', 'http://localhost:3000/cb', 'https://agency.example/cb#x', 'https://u:p@agency.example/cb', 'ftp://agency.example/', 'relative/cb', 'https://agency.example/a/../cb']) {
      assert.throws(() => assertRedirectUri(bad, 'redirect URI'), OperatorInputError, bad);
    }
    for (const good of ['https://agency.example/cb', 'http://127.0.0.1:3000/cb', 'http://[::1]:8080/cb']) assertRedirectUri(good, 'redirect URI');
  });

  test('#99 response_type token / id_token token, or another response_mode: error to the registered URI only', async () => {
    await expectErrorRedirect(authorizeUrl({ response_type: 'token' }), 'unsupported_response_type');
    await expectErrorRedirect(authorizeUrl({ response_type: 'id_token token' }), 'unsupported_response_type');
    await expectErrorRedirect(authorizeUrl({ response_type: 'code id_token' }), 'unsupported_response_type');
    await expectErrorRedirect(authorizeUrl({ response_mode: 'fragment' }), 'invalid_request');
    await expectErrorRedirect(authorizeUrl({ scope: 'profile' }), 'invalid_scope');
    // A request object that is no signed JWT: its redirect_uri proves nothing, so a page (RFC 9101 §6.3).
    await expectErrorPage(authorizeUrl({ request: 'eyJ.x.y' }));
  });

  test('#100 a code redeemed twice: invalid_grant, and the first redemption\'s tokens are revoked', async () => {
    const { code: c, verifier } = await code();
    const first = await redeem({ code: c, code_verifier: verifier });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    const tokens = (await first.json()) as { access_token: string; refresh_token: string };
    await oauthError(await redeem({ code: c, code_verifier: verifier }), 400, 'invalid_grant');
    const [event] = await app.db.audit.tail(1);
    assert.equal(event?.type, 'oidc_token_reuse');
    assert.deepEqual(event?.details, { kind: 'authorization_code', clientId: registered.client.clientId, sid: event?.details?.sid, revoked: true });
    const userinfo = await fetch(`${app.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(userinfo.status, 401);
    assert.match(userinfo.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic()), 400, 'invalid_grant');
  });

  test('#101 the same code redeemed 20 times at once: exactly one success', async () => {
    const { code: c, verifier } = await code();
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem({ code: c, code_verifier: verifier })));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    const refused = results.filter((r) => r.status !== 200);
    assert.equal(refused.length, 19);
    for (const res of refused) await oauthError(res, 400, 'invalid_grant');
  });

  test('#102 a code redeemed 61 s after issuance: invalid_grant', async () => {
    const clock = fixedClock(new Date());
    const timed = await startOidcApp({ store: 'redis', database, pki, clock });
    try {
      const client = await addClient(timed);
      const timedConfig = await relyingParty(timed, client);
      const start = await authorizationUrl(timedConfig);
      const callback = await callbackUrl(timed, start.url, citizen);
      clock.advanceSeconds(61);
      const res = await postForm(`${timed.url}/token`, {
        grant_type: 'authorization_code', redirect_uri: redirectUri, code: callback.searchParams.get('code') as string, code_verifier: start.verifier,
      }, { id: client.client.clientId, secret: client.secret as string });
      await oauthError(res, 400, 'invalid_grant');
    } finally {
      await timed.close();
    }
  });

  test('the same refresh token sent twice at once: one rotation succeeds, the grant survives', async () => {
    const { tokens } = await signInWithCode(app, config, citizen);
    const results = await Promise.all(Array.from({ length: 5 }, () => postForm(`${app.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, basic())));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1);
    const rotated = (await ok[0]?.json()) as { refresh_token: string };
    const next = await oidc.refreshTokenGrant(config, rotated.refresh_token);
    assert.ok(next.access_token);
  });

  test('an OIDC sign-in is audited with the agency it was for', async () => {
    const { tokens } = await signInWithCode(app, config, citizen);
    const [event] = await app.db.audit.tail(1);
    assert.equal(event?.type, 'sign_in');
    assert.equal(event?.outcome, 'success');
    assert.equal(event?.details?.clientId, registered.client.clientId);
    assert.equal(event?.subject, tokens.claims()?.sub);
  });

  test('an interaction expires after 10 minutes; ui_locales picks the page language', async () => {
    const clock = fixedClock(new Date());
    const timed = await startOidcApp({ store: 'redis', database, pki, clock });
    try {
      const client = await addClient(timed);
      const browser = new Browser();
      const start = await authorizationUrl(await relyingParty(timed, client), { ui_locales: 'ru en' });
      const loginUrl = await startInteraction(timed, browser, start.url);
      assert.match(await (await browser.fetch(loginUrl)).text(), /<html lang="ru">/);
      clock.advanceSeconds(601);
      assert.equal((await browser.fetch(loginUrl)).status, 404);
      const late = await signInAt(timed, browser, loginUrl, citizen);
      assert.equal(late.status, 404);
      assert.equal((await late.json() as { code: string }).code, 'not_found');
    } finally {
      await timed.close();
    }
  });

  test('#93 refresh tokens die after 15 idle minutes, and every grant after 12 hours however active', async () => {
    const clock = fixedClock(new Date());
    const timed = await startOidcApp({ store: 'redis', database, pki, clock });
    try {
      const client = await addClient(timed);
      const timedConfig = await relyingParty(timed, client);
      const refresh = (token: string) => postForm(`${timed.url}/token`, { grant_type: 'refresh_token', refresh_token: token }, { id: client.client.clientId, secret: client.secret as string });
      const idle = await signInWithCode(timed, timedConfig, citizen);
      clock.advanceSeconds(15 * 60 + 1);
      await oauthError(await refresh(idle.tokens.refresh_token as string), 400, 'invalid_grant');

      const active = await signInWithCode(timed, timedConfig, citizen);
      let token = active.tokens.refresh_token as string;
      let elapsed = 0;
      while (elapsed + 14 * 60 < 12 * 3600) {
        clock.advanceSeconds(14 * 60);
        elapsed += 14 * 60;
        const res = await refresh(token);
        assert.equal(res.status, 200, `refresh after ${elapsed} s`);
        token = ((await res.json()) as { refresh_token: string }).refresh_token;
      }
      clock.advanceSeconds(12 * 3600 - elapsed);
      await oauthError(await refresh(token), 400, 'invalid_grant');
    } finally {
      await timed.close();
    }
  });

  test('#103 a code redeemed by another client, or with another redirect_uri: invalid_grant', async () => {
    const other = await addClient(app, { redirectUris: [redirectUri, 'https://agency.example/other'] });
    const stolen = await code();
    await oauthError(await redeem({ code: stolen.code, code_verifier: stolen.verifier }, { id: other.client.clientId, secret: other.secret as string }), 400, 'invalid_grant');
    // The failed attempt used the code up: the rightful client cannot redeem it either.
    await oauthError(await redeem({ code: stolen.code, code_verifier: stolen.verifier }), 400, 'invalid_grant');
    const moved = await code();
    await oauthError(await redeem({ code: moved.code, code_verifier: moved.verifier, redirect_uri: 'https://agency.example/other' }), 400, 'invalid_grant');
  });

  test('#104 #106 no code_challenge: invalid_request at authorization, so no code can skip PKCE', async () => {
    const location = await expectErrorRedirect(authorizeUrl({ code_challenge: undefined, code_challenge_method: undefined }), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /code_challenge/);
  });

  test('#105 code_challenge_method=plain (or missing, or a non-S256 value): invalid_request', async () => {
    const verifier = randomBytes(32).toString('base64url');
    await expectErrorRedirect(authorizeUrl({ code_challenge: verifier, code_challenge_method: 'plain' }), 'invalid_request');
    await expectErrorRedirect(authorizeUrl({ code_challenge_method: undefined }), 'invalid_request');
    await expectErrorRedirect(authorizeUrl({ code_challenge: 'short' }), 'invalid_request');
  });

  test('#107 a wrong code_verifier uses the code up; malformed verifiers are invalid_request', async () => {
    const a = await code();
    await oauthError(await redeem({ code: a.code, code_verifier: randomBytes(32).toString('base64url') }), 400, 'invalid_grant');
    await oauthError(await redeem({ code: a.code, code_verifier: a.verifier }), 400, 'invalid_grant');
    for (const verifier of ['x', 'a'.repeat(200), `${'a'.repeat(42)} `, `${'a'.repeat(43)}!`]) {
      const b = await code();
      await oauthError(await redeem({ code: b.code, code_verifier: verifier }), 400, 'invalid_request');
      await oauthError(await redeem({ code: b.code, code_verifier: b.verifier }), 400, 'invalid_grant');
    }
    const c = await code();
    await oauthError(await redeem({ code: c.code }), 400, 'invalid_grant');
  });

  test('#108 a constant code_challenge is refused the second time', async () => {
    const challenge = challengeOf(randomBytes(32).toString('base64url'));
    const first = await fetch(authorizeUrl({ code_challenge: challenge }), { redirect: 'manual' });
    assert.equal(first.status, 303);
    assert.match(first.headers.get('location') ?? '', /^login\//);
    await expectErrorRedirect(authorizeUrl({ code_challenge: challenge }), 'invalid_request');
  });

  test('#109 #110 every authorization response carries iss; state comes back byte-exact; oversized state is refused', async () => {
    const state = 'ü+ /?&=%2F"<x>';
    const start = await authorizationUrl(config, { state });
    const callback = await callbackUrl(app, start.url, citizen);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), app.url);
    await expectErrorPage(authorizeUrl({ state: 'x'.repeat(1025) }));
    // openid-client refuses a response whose iss is not the issuer it discovered (mix-up).
    const forged = new URL(callback);
    forged.searchParams.set('iss', 'https://other-idp.example');
    await assert.rejects(oidc.authorizationCodeGrant(config, forged, { pkceCodeVerifier: start.verifier, expectedState: state }));
  });

  test('#110 #111 the ID token nonce equals the request\'s; without nonce there is none', async () => {
    const { start, tokens } = await signInWithCode(app, config, citizen);
    assert.equal(tokens.claims()?.nonce, start.nonce);
    const withoutNonce = await authorizationUrl(config);
    withoutNonce.url.searchParams.delete('nonce');
    const callback = await callbackUrl(app, withoutNonce.url, citizen);
    const res = await redeem({ code: callback.searchParams.get('code') as string, code_verifier: withoutNonce.verifier });
    const body = (await res.json()) as { id_token: string };
    const payload = JSON.parse(Buffer.from(body.id_token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(payload.nonce, undefined);
  });

  test('#112 password, client_credentials and implicit grants: unsupported_grant_type', async () => {
    for (const grant of ['password', 'client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code']) {
      await oauthError(await postForm(`${app.url}/token`, { grant_type: grant, username: 'a', password: 'b' }, basic()), 400, 'unsupported_grant_type');
    }
    await oauthError(await postForm(`${app.url}/token`, {}, basic()), 400, 'invalid_request');
  });

  test('client authentication: wrong secret, wrong method, unknown client → 401 invalid_client (with Basic challenge)', async () => {
    const wrong = await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x' }, { id: registered.client.clientId, secret: 'nope' });
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    await oauthError(wrong, 401, 'invalid_client');
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: registered.client.clientId, client_secret: registered.secret as string }), 401, 'invalid_client');
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x' }), 401, 'invalid_client');
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x' }, { id: 'agency-nobody', secret: 'x'.repeat(43) }), 401, 'invalid_client');
    await oauthError(await postForm(`${app.url}/introspect`, { token: 'x' }, { id: registered.client.clientId, secret: 'nope' }), 401, 'invalid_client');
  });

  test('#113 private_key_jwt: none, wrong key, expired, wrong audience, replayed jti → 401 invalid_client', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
    const keyed = await addClient(app, { authMethod: 'private_key_jwt', jwks });
    const id = keyed.client.clientId;
    const assertion = (key: CryptoKey, claims: Record<string, unknown> = {}, expiresIn = '60s') =>
      new SignJWT({ jti: randomBytes(12).toString('base64url'), ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(id).setSubject(id).setAudience(app.url).setIssuedAt().setExpirationTime(expiresIn).sign(key);
    const post = (jwt: string | undefined) => postForm(`${app.url}/token`, {
      grant_type: 'refresh_token', refresh_token: 'unknown', client_id: id,
      ...(jwt === undefined ? {} : { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
    });
    // A valid assertion gets past authentication (to the grant's own error), once.
    const good = await assertion(privateKey);
    await oauthError(await post(good), 400, 'invalid_grant');
    await oauthError(await post(good), 401, 'invalid_client');
    const raced = await assertion(privateKey);
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => post(raced)))).map((r) => r.status).sort();
    assert.deepEqual(statuses, [400, ...Array<number>(9).fill(401)], 'a replay racing the original loses too');
    await oauthError(await post(undefined), 401, 'invalid_client');
    const other = await generateKeyPair('ES256');
    await oauthError(await post(await assertion(other.privateKey)), 401, 'invalid_client');
    await oauthError(await post(await assertion(privateKey, {}, '-10min')), 401, 'invalid_client');
    await oauthError(await post(await assertion(privateKey, {}, '2h')), 401, 'invalid_client');
    await oauthError(await post(await new SignJWT({ jti: 'j-aud' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(id).setSubject(id).setAudience('https://other.example').setIssuedAt().setExpirationTime('60s').sign(privateKey)), 401, 'invalid_client');
    await oauthError(await post(await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(id).setSubject(id).setAudience(app.url).setIssuedAt().setExpirationTime('60s').sign(privateKey)), 401, 'invalid_client');
    // A client secret is not accepted for a private_key_jwt client.
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { id, secret: 'x'.repeat(43) }), 401, 'invalid_client');
  });

  test('#114 the authorization endpoint and its errors answer 303, never 307', async () => {
    assert.equal((await fetch(authorizeUrl({}), { redirect: 'manual' })).status, 303);
    assert.equal((await fetch(authorizeUrl({ response_type: 'token' }), { redirect: 'manual' })).status, 303);
  });

  test('#115 the sign-in page cannot be framed and runs under a strict CSP', async () => {
    const browser = new Browser();
    const loginUrl = await startInteraction(app, browser, (await authorizationUrl(config)).url);
    const res = await browser.fetch(loginUrl);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(await res.text(), /<html lang="uz">/);
  });

  test('#116 a CORS preflight from another origin gets no Access-Control-Allow-Origin', async () => {
    for (const path of ['/authorize', '/token', '/userinfo']) {
      const res = await fetch(`${app.url}${path}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      assert.equal(res.headers.get('access-control-allow-origin'), null, path);
    }
  });

  test('#117 logout to an unregistered post_logout_redirect_uri: error page, no redirect, nothing ended', async () => {
    const { tokens } = await signInWithCode(app, config, citizen);
    for (const target of ['https://evil.example/', 'https://agency.example/signed-out/', 'https://agency.example/callback']) {
      const res = await fetch(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: target }), { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
    }
    const forged = await fetch(`${app.url}/logout?id_token_hint=eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.&post_logout_redirect_uri=${encodeURIComponent('https://agency.example/signed-out')}`, { redirect: 'manual' });
    assert.equal(forged.status, 400);
    assert.equal(forged.headers.get('location'), null);
    const repeated = await fetch(`${app.url}/logout?id_token_hint=a&id_token_hint=b`, { redirect: 'manual' });
    assert.equal(repeated.status, 400);
    assert.match(repeated.headers.get('content-type') ?? '', /^text\/html/);
    // An access token is not an ID token hint.
    const accessHint = await fetch(`${app.url}/logout?id_token_hint=${tokens.access_token}`, { redirect: 'manual' });
    assert.equal(accessHint.status, 400);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
  });

  test('#118 a cross-site GET /logout without id_token_hint ends nothing', async () => {
    const { tokens } = await signInWithCode(app, config, citizen);
    const res = await fetch(`${app.url}/logout?ui_locales=en`, { redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Nothing was signed out/);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
  });

  test('#119 prompt=none: login_required, no code', async () => {
    await expectErrorRedirect(authorizeUrl({ prompt: 'none' }), 'login_required');
    await expectErrorRedirect(authorizeUrl({ prompt: 'none login' }), 'invalid_request');
  });

  test('#94 the browser cookie: HttpOnly, SameSite=Lax, Path=/, no Domain; __Host- and Secure behind https', async () => {
    const res = await fetch(authorizeUrl({}), { redirect: 'manual' });
    const cookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /^yagona-browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const secure = await startOidcApp({ store: 'redis', database, pki, env: { ISSUER_URL: 'https://id.example' } });
    try {
      const client = await addClient(secure);
      const url = new URL(authorizeUrl({ client_id: client.client.clientId }).replace(app.url, secure.url));
      const secureRes = await fetch(url, { redirect: 'manual' });
      assert.equal(secureRes.status, 303);
      assert.match(secureRes.headers.getSetCookie()[0] ?? '', /^__Host-yagona-browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      assert.match(secureRes.headers.get('location') ?? '', /^login\/[A-Za-z0-9_-]{24}$/);
    } finally {
      await secure.close();
    }
  });

  test('the interaction belongs to the browser that started it', async () => {
    const owner = new Browser();
    const loginUrl = await startInteraction(app, owner, (await authorizationUrl(config)).url);
    const thief = new Browser();
    await thief.fetch(authorizeUrl({}));
    const stolen = await signInAt(app, thief, loginUrl, citizen);
    assert.equal(stolen.status, 404);
    assert.equal((await stolen.json() as { code: string }).code, 'not_found');
    const page = await thief.fetch(loginUrl);
    assert.equal(page.status, 404);
    const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const noCookie = await fetch(loginUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, c.id, c.challenge)) });
    assert.equal(noCookie.status, 404);
    // The owner still finishes it.
    assert.equal((await signInAt(app, owner, loginUrl, citizen)).status, 200);
  });

  test('a rejected sign-in answers like the direct API and may be retried until one succeeds; then the interaction is spent', async () => {
    const browser = new Browser();
    const loginUrl = await startInteraction(app, browser, (await authorizationUrl(config)).url);
    const c1 = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const wrong = await browser.fetch(loginUrl, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, c1.id, `${c1.challenge}x`)),
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await wrong.json() as { code: string }).code, 'signature_invalid');
    const reused = await browser.fetch(loginUrl, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, c1.id, c1.challenge)),
    });
    assert.equal((await reused.json() as { code: string }).code, 'challenge_invalid');
    const ok = await signInAt(app, browser, loginUrl, citizen);
    assert.equal(ok.status, 200);
    const again = await signInAt(app, browser, loginUrl, citizen);
    assert.equal(again.status, 404);
  });

  test('#88 an agency\'s access token does not open the direct API (it would show claims its scopes withheld)', async () => {
    const { tokens } = await signInWithCode(app, config, citizen);
    const res = await app.get('/v1/sessions/current', { authorization: `Bearer ${tokens.access_token}` });
    assert.equal(res.status, 401);
    assert.equal((await res.json() as { code: string }).code, 'session_invalid');
    const del = await fetch(`${app.url}/v1/sessions/current`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(del.status, 401);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
    // Nor is an ID token an access token anywhere.
    await oauthError(await fetch(`${app.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.id_token}` } }), 401, 'invalid_token');
    assert.equal((await app.get('/v1/sessions/current', { authorization: `Bearer ${tokens.id_token}` })).status, 401);
  });

  test('a removed agency app is cut off: userinfo, refresh and introspection refuse it at once', async () => {
    const doomed = await addClient(app);
    const doomedConfig = await relyingParty(app, doomed);
    const { tokens } = await signInWithCode(app, doomedConfig, citizen);
    assert.ok(await app.db.clients.remove(doomed.client.clientId));
    await oauthError(await fetch(`${app.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } }), 401, 'invalid_token');
    await oauthError(await postForm(`${app.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, { id: doomed.client.clientId, secret: doomed.secret as string }), 401, 'invalid_client');
    await oauthError(await postForm(`${app.url}/introspect`, { token: tokens.access_token }, { id: doomed.client.clientId, secret: doomed.secret as string }), 401, 'invalid_client');
  });

  test('userinfo refuses a direct-API session token and tokens of ended sign-ins', async () => {
    const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const direct = (await (await app.post('/v1/sessions', cmsBody(citizen, c.id, c.challenge))).json()) as { accessToken: string };
    const res = await fetch(`${app.url}/userinfo`, { headers: { authorization: `Bearer ${direct.accessToken}` } });
    await oauthError(res, 401, 'invalid_token');
    assert.equal((await oidc.tokenIntrospection(config, direct.accessToken)).active, false);
    await oauthError(await fetch(`${app.url}/userinfo`), 401, 'invalid_token');
  });
});
