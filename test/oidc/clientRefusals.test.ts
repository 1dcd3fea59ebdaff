// Issue 14's negative cases against the real app on Redis + PostgreSQL: pushed requests and
// request objects, DPoP proofs at the token and userinfo endpoints, what a FAPI 2.0 client may
// not do, a native app's redirect on another host, and a FAPI 2.0 refresh retried after a lost
// answer; a rotated secret up to and from the end of its overlap, on an injected clock. Each
// refusal asserts the OAuth error and that nothing was issued: no request_uri, no redirect
// with a code, no token, no new session. Hand-made requests where openid-client would refuse
// to send the attack.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { rotateClientSecret } from '../../src/oidc/clients.ts';
import {
  assertErrorPage, assertOAuthError, currentDpopNonce, dpopProof, fapiClient, fapiRedirectUri, holderOf, keyHolder, nativeClient, type FapiClient, type KeyHolder,
} from './clientKinds.ts';
import {
  addClient, appOnRedisAndPostgres, Browser, callbackUrl, oidc, postForm, relyingParty, signInWithCode, startInteraction, startOidcApp,
} from './helpers.ts';

const file = appOnRedisAndPostgres();

const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A private_key_jwt assertion (RFC 7523 §3) as openid-client makes one, with the algorithm under the test's control. */
async function assertion(clientId: string, key: CryptoKey | KeyObject, kid: string, alg = 'ES256'): Promise<Record<string, string>> {
  const jwt = await new SignJWT({ jti: randomBytes(16).toString('base64url') }).setProtectedHeader({ alg, kid })
    .setIssuer(clientId).setSubject(clientId).setAudience(file.app.url).setIssuedAt().setExpirationTime('60s').sign(key);
  return { client_id: clientId, client_assertion_type: jwtBearer, client_assertion: jwt };
}

/** An RSA key as a Node KeyObject, which signs PS256 and RS256 alike; its public JWK without "alg", as an agency may register it. */
async function rsaKey(kid: string): Promise<{ privateKey: KeyObject; jwk: JWK }> {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' } };
}

/** The authorization request's own parameters, PKCE S256 included. */
function requestParams(redirectUri = fapiRedirectUri, verifier = randomBytes(32).toString('base64url')): Record<string, string> {
  return {
    response_type: 'code', redirect_uri: redirectUri, scope: 'openid profile', state: randomBytes(8).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  };
}

/** POST /par refused: the error, and no request_uri came back. */
async function refusedPush(res: Response, status: number, error: string): Promise<void> {
  const body = await assertOAuthError(res, status, error) as { request_uri?: string };
  assert.equal(body.request_uri, undefined);
}

async function pushedUrl(fapi: FapiClient): Promise<URL> {
  return oidc.buildAuthorizationUrlWithPAR(fapi.config, requestParams(), { DPoP: fapi.dpop });
}

/** A sign-in by PAR with the client's DPoP key (binding the code to it): the callback and what redeems it. */
async function pushedSignIn(fapi: FapiClient): Promise<{ callback: URL; verifier: string; params: Record<string, string> }> {
  const verifier = randomBytes(32).toString('base64url');
  const params = { ...requestParams(fapiRedirectUri, verifier), nonce: randomBytes(8).toString('base64url') };
  const callback = await callbackUrl(file.app, await oidc.buildAuthorizationUrlWithPAR(fapi.config, params, { DPoP: fapi.dpop }), file.citizen);
  return { callback, verifier, params };
}

const ath = (accessToken: string) => createHash('sha256').update(accessToken).digest('base64url');

describe('issue 14 refusals (redis + postgres)', () => {
  test('a PAR request_uri works once and only for the client that pushed it: invalid_request_uri, no interaction; one that leaked is spent', async () => {
    const a = await fapiClient(file.app);
    const b = await fapiClient(file.app);
    const once = await pushedUrl(a);
    await startInteraction(file.app, new Browser(), once);
    await assertErrorPage(await fetch(once, { redirect: 'manual' }), 'invalid_request_uri');

    const leaked = await pushedUrl(a);
    const byB = new URL(leaked);
    byB.searchParams.set('client_id', b.client.clientId);
    await assertErrorPage(await fetch(byB, { redirect: 'manual' }), 'invalid_request_uri');
    await assertErrorPage(await fetch(leaked, { redirect: 'manual' }), 'invalid_request_uri');

    // By reference to another host, never fetched (RFC 9101 §10.4).
    const elsewhere = new URL(`${file.app.url}/authorize`);
    elsewhere.search = new URLSearchParams({ client_id: a.client.clientId, request_uri: 'https://evil.example/request.jwt' }).toString();
    await assertErrorPage(await fetch(elsewhere, { redirect: 'manual' }), 'request_uri_not_supported');
  });

  test('a request object unsigned, signed by a key the client did not register, or with RS256: invalid_request_object at /par and /authorize', async () => {
    const es = await keyHolder();
    const rsa = await rsaKey('rsa-1');
    const { client } = await addClient(file.app, {
      profile: 'fapi2', redirectUris: [fapiRedirectUri], jwks: { keys: [{ ...es.publicJwk, kid: 'es-1', alg: 'ES256', use: 'sig' }, rsa.jwk] },
    });
    const id = client.clientId;
    const claims = () => ({ ...requestParams(), client_id: id, nonce: randomBytes(8).toString('base64url') });
    const signed = (key: CryptoKey | KeyObject, kid: string, alg: string) => new SignJWT(claims()).setProtectedHeader({ alg, kid, typ: 'oauth-authz-req+jwt' })
      .setIssuer(id).setAudience(file.app.url).setIssuedAt().setExpirationTime('60s').sign(key);
    const push = async (request: string) => postForm(`${file.app.url}/par`, { ...(await assertion(id, es.privateKey, 'es-1')), request });

    // The controls: objects signed with either registered key, in an algorithm FAPI 2.0 allows, are accepted.
    for (const good of [await signed(es.privateKey, 'es-1', 'ES256'), await signed(rsa.privateKey, 'rsa-1', 'PS256')]) {
      const res = await push(good);
      assert.equal(res.status, 201, await res.clone().text());
      assert.match(((await res.json()) as { request_uri: string }).request_uri, /^urn:ietf:params:oauth:request_uri:/);
    }

    const unsigned = new UnsecuredJWT(claims()).setIssuer(id).setAudience(file.app.url).setIssuedAt().setExpirationTime('60s').encode();
    const stranger = await keyHolder();
    for (const bad of [unsigned, await signed(stranger.privateKey, 'es-1', 'ES256'), await signed(rsa.privateKey, 'rsa-1', 'RS256')]) {
      await refusedPush(await push(bad), 400, 'invalid_request_object');
      const url = new URL(`${file.app.url}/authorize`);
      url.search = new URLSearchParams({ client_id: id, request: bad }).toString();
      await assertErrorPage(await fetch(url, { redirect: 'manual' }), 'invalid_request_object');
    }
  });

  test('a FAPI 2.0 client: a plain authorization request is invalid_request at its redirect URI, with no code', async () => {
    const fapi = await fapiClient(file.app);
    const url = oidc.buildAuthorizationUrl(fapi.config, requestParams());
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, fapiRedirectUri);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('state'), url.searchParams.get('state'));
    assert.equal(location.searchParams.get('code'), null);
    assert.equal(res.headers.getSetCookie().some((c) => c.includes('yagona-browser')), false, 'no interaction started');
  });

  test('a FAPI 2.0 client: client_secret_basic and RS256 assertions are invalid_client, a request without PKCE (or plain) invalid_request', async () => {
    const fapi = await fapiClient(file.app);
    const id = fapi.client.clientId;
    await refusedPush(await postForm(`${file.app.url}/par`, requestParams(), { id, secret: randomBytes(32).toString('base64url') }), 401, 'invalid_client');
    const token = await postForm(`${file.app.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { id, secret: randomBytes(32).toString('base64url') });
    assert.equal(((await assertOAuthError(token, 401, 'invalid_client')) as { access_token?: string }).access_token, undefined);

    // One RSA key registered without "alg": PS256 with it is accepted, RS256 with the same key is not (FAPI 2.0 §5.4.1).
    const rsa = await rsaKey('rsa-1');
    const { client } = await addClient(file.app, { profile: 'fapi2', redirectUris: [fapiRedirectUri], jwks: { keys: [rsa.jwk] } });
    const ps = await postForm(`${file.app.url}/par`, { ...requestParams(), ...(await assertion(client.clientId, rsa.privateKey, 'rsa-1', 'PS256')) });
    assert.equal(ps.status, 201, await ps.clone().text());
    await refusedPush(await postForm(`${file.app.url}/par`, { ...requestParams(), ...(await assertion(client.clientId, rsa.privateKey, 'rsa-1', 'RS256')) }), 401, 'invalid_client');
    // The same key and RS256 at a client of the plain profile: the refusal above is the profile's.
    const plain = await addClient(file.app, { authMethod: 'private_key_jwt', redirectUris: [fapiRedirectUri], jwks: { keys: [rsa.jwk] } });
    const rs = await postForm(`${file.app.url}/par`, { ...requestParams(), ...(await assertion(plain.client.clientId, rsa.privateKey, 'rsa-1', 'RS256')) });
    assert.equal(rs.status, 201, await rs.clone().text());

    const { code_challenge: challenge, code_challenge_method: _method, ...noPkce } = requestParams();
    await refusedPush(await postForm(`${file.app.url}/par`, { ...noPkce, ...(await assertion(id, fapi.key.privateKey, fapi.kid)) }), 400, 'invalid_request');
    await refusedPush(await postForm(`${file.app.url}/par`, {
      ...noPkce, code_challenge: challenge ?? '', code_challenge_method: 'plain', ...(await assertion(id, fapi.key.privateKey, fapi.kid)),
    }), 400, 'invalid_request');
  });

  test('a native app: an https redirect on another host, or its host at another port or over http: error page, no interaction', async () => {
    const { client } = await addClient(file.app, { applicationType: 'native', redirectUris: ['https://app.soliq.uz/callback', 'http://127.0.0.1/callback'] });
    const config = await oidc.discovery(new URL(file.app.url), client.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const url = (redirectUri: string) => oidc.buildAuthorizationUrl(config, requestParams(redirectUri));
    for (const redirectUri of ['https://evil.example/callback', 'https://app.soliq.uz.evil.example/callback', 'https://app.soliq.uz:8443/callback',
      'http://app.soliq.uz/callback', 'http://localhost:49731/callback']) {
      await assertErrorPage(await fetch(url(redirectUri), { redirect: 'manual' }), 'invalid_request');
    }
    // The control: the loopback redirect on a port of the app's own is accepted.
    await startInteraction(file.app, new Browser(), url('http://127.0.0.1:49731/callback'));
  });

  test('a rotated secret, on an injected clock: both secrets until the overlap\'s last second, then the old one is invalid_client and the grant goes on', async () => {
    const clock = fixedClock(new Date());
    const timed = await startOidcApp({ store: 'redis', database: file.database, pki: file.pki, clock });
    try {
      const registered = await addClient(timed);
      const id = registered.client.clientId;
      const { tokens } = await signInWithCode(timed, await relyingParty(timed, registered), file.citizen);
      const { clientSecret } = await rotateClientSecret(timed.db.clients, id, 600, clock.now());
      const refresh = (secret: string, token: string) => postForm(`${timed.url}/token`, { grant_type: 'refresh_token', refresh_token: token }, { id, secret });

      clock.advanceSeconds(599);
      const during = await refresh(registered.secret as string, tokens.refresh_token as string);
      assert.equal(during.status, 200, await during.clone().text());
      const { refresh_token: next } = (await during.json()) as { refresh_token: string };
      const withNew = await postForm(`${timed.url}/introspect`, { token: next }, { id, secret: clientSecret as string });
      assert.equal(((await withNew.json()) as { active: boolean }).active, true, 'the new secret works during the overlap too');
      const sessions = await timed.sessionCount();
      clock.advanceSeconds(1);
      assert.equal(((await assertOAuthError(await refresh(registered.secret as string, next), 401, 'invalid_client')) as { access_token?: string }).access_token, undefined);
      assert.equal(await timed.sessionCount(), sessions, 'no session made');
      const after = await refresh(clientSecret as string, next);
      assert.equal(after.status, 200, await after.clone().text());
    } finally {
      await timed.close();
    }
  });
});

describe('DPoP proofs at the real endpoints (redis + postgres)', () => {
  let fapi: FapiClient;
  let holder: KeyHolder;
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

  before(async () => {
    fapi = await fapiClient(file.app);
    holder = await holderOf(fapi.dpopKeys);
    const { callback, verifier, params } = await pushedSignIn(fapi);
    tokens = await oidc.authorizationCodeGrant(fapi.config, callback, { pkceCodeVerifier: verifier, expectedState: params.state, expectedNonce: params.nonce }, undefined, { DPoP: fapi.dpop });
  });

  const userinfo = (proof: string, method = 'GET') => fetch(`${file.app.url}/userinfo`, { method, headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
  const userinfoProof = async (input: { key?: KeyHolder; htm?: string; htu?: string; iat?: number } = {}) =>
    dpopProof(input.key ?? holder, { htm: input.htm ?? 'GET', htu: input.htu ?? `${file.app.url}/userinfo`, nonce: await currentDpopNonce(file.app), ath: ath(tokens.access_token), ...(input.iat === undefined ? {} : { iat: input.iat }) });

  async function refusedAtUserinfo(res: Response): Promise<void> {
    assert.match(res.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_dpop_proof"/);
    const body = await assertOAuthError(res, 401, 'invalid_dpop_proof') as { sub?: string };
    assert.equal(body.sub, undefined, 'no claims');
  }

  test('userinfo: a proof replayed, for another URL or method, with a stale iat, or by another key than the token\'s cnf.jkt: 401 invalid_dpop_proof', async () => {
    const once = await userinfoProof();
    assert.equal((await userinfo(once)).status, 200);
    await refusedAtUserinfo(await userinfo(once));
    await refusedAtUserinfo(await userinfo(await userinfoProof({ htu: `${file.app.url}/token` })));
    await refusedAtUserinfo(await userinfo(await userinfoProof({ htm: 'POST' })));
    await refusedAtUserinfo(await userinfo(await userinfoProof({ iat: Math.floor(Date.now() / 1000) - 120 })));
    await refusedAtUserinfo(await userinfo(await userinfoProof({ key: await keyHolder() })));
    // The refusals ended nothing: the token's holder goes on.
    assert.equal((await userinfo(await userinfoProof())).status, 200);
  });

  /** POST /token with a DPoP proof, as the FAPI client (a fresh assertion each time) unless `auth` says otherwise. */
  const tokenRequest = async (params: Record<string, string>, proof: string, auth?: Record<string, string>) => fetch(`${file.app.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
    body: new URLSearchParams({ ...params, ...(auth ?? await assertion(fapi.client.clientId, fapi.key.privateKey, fapi.kid)) }),
  });
  const tokenProof = async (input: { key?: KeyHolder; htu?: string; iat?: number } = {}) =>
    dpopProof(input.key ?? holder, { htu: input.htu ?? `${file.app.url}/token`, nonce: await currentDpopNonce(file.app), ...(input.iat === undefined ? {} : { iat: input.iat }) });
  const noToken = async (res: Response, error: string) => {
    const body = await assertOAuthError(res, 400, error) as { access_token?: string };
    assert.equal(body.access_token, undefined);
  };

  // A confidential client's refresh token is bound by its client authentication, not to a DPoP
  // key (RFC 9449 §5); a native app's is bound to its key (below).
  test('token endpoint: a refresh with a proof replayed, for another URL, or stale: invalid_dpop_proof, no token, the refresh token lives on', async () => {
    const refresh = (proof: string) => tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, proof);
    const used = await tokenProof();
    const first = await refresh(used);
    assert.equal(first.status, 200, await first.clone().text());
    const sessions = await file.app.sessionCount();
    await noToken(await refresh(used), 'invalid_dpop_proof');
    await noToken(await refresh(await tokenProof({ htu: `${file.app.url}/par` })), 'invalid_dpop_proof');
    await noToken(await refresh(await tokenProof({ iat: Math.floor(Date.now() / 1000) - 120 })), 'invalid_dpop_proof');
    assert.equal(await file.app.sessionCount(), sessions, 'no session made by a refusal');
    assert.equal((await refresh(await tokenProof())).status, 200, 'the holder still refreshes');
    // Its client authentication binds it, not a DPoP key (RFC 9449 §5): a proof of a new key is taken, and the new access token bound to that key.
    const moved = await keyHolder();
    const rebound = await refresh(await tokenProof({ key: moved }));
    assert.equal(rebound.status, 200, await rebound.clone().text());
    assert.deepEqual(decodeJwt(((await rebound.json()) as { access_token: string }).access_token).cnf, { jkt: moved.jkt });
  });

  test('a code bound by the pushed request\'s proof, redeemed with another key: invalid_grant, and the code is spent', async () => {
    const sessions = await file.app.sessionCount();
    const { callback, verifier } = await pushedSignIn(fapi);
    const redeem = async (key: KeyHolder) => tokenRequest({
      grant_type: 'authorization_code', code: callback.searchParams.get('code') as string, redirect_uri: fapiRedirectUri, code_verifier: verifier,
    }, await tokenProof({ key }));
    await noToken(await redeem(await keyHolder()), 'invalid_grant');
    await noToken(await redeem(holder), 'invalid_grant');
    assert.equal(await file.app.sessionCount(), sessions, 'the sign-in\'s session ended with its code, and none was made');
  });

  test('a native app\'s refresh token with a proof of another key: invalid_grant, no token; the device goes on', async () => {
    const device = await nativeClient(file.app);
    const verifier = randomBytes(32).toString('base64url');
    const params = requestParams('http://127.0.0.1:49731/callback', verifier);
    const callback = await callbackUrl(file.app, oidc.buildAuthorizationUrl(device.config, params), file.citizen);
    const issued = await oidc.authorizationCodeGrant(device.config, callback, { pkceCodeVerifier: verifier, expectedState: params.state }, undefined, { DPoP: device.dpop });
    const sessions = await file.app.sessionCount();
    // Whoever stole the refresh token, without the device's key, gets nothing and ends nothing (RFC 9449 §5).
    await noToken(await tokenRequest({ grant_type: 'refresh_token', refresh_token: issued.refresh_token as string }, await tokenProof({ key: await keyHolder() }),
      { client_id: device.client.clientId }), 'invalid_grant');
    assert.equal(await file.app.sessionCount(), sessions);
    const refreshed = await oidc.refreshTokenGrant(device.config, issued.refresh_token as string, undefined, { DPoP: device.dpop });
    assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
  });

  test('FAPI 2.0: a refresh retried after a lost answer succeeds; the grant lives, no reuse is recorded', async () => {
    const sub = tokens.claims()?.sub as string;
    const lost = await oidc.refreshTokenGrant(fapi.config, tokens.refresh_token as string, undefined, { DPoP: fapi.dpop });
    const retried = await oidc.refreshTokenGrant(fapi.config, tokens.refresh_token as string, undefined, { DPoP: fapi.dpop });
    assert.equal(retried.refresh_token, tokens.refresh_token);
    assert.notEqual(retried.access_token, lost.access_token);
    assert.equal((await oidc.fetchUserInfo(fapi.config, retried.access_token, sub, { DPoP: fapi.dpop })).sub, sub);
    const introspected = await oidc.tokenIntrospection(fapi.config, tokens.refresh_token as string);
    assert.equal(introspected.active, true);
    const events = await file.app.db.audit.tail(20);
    assert.equal(events.some((e) => e.type === 'oidc_token_reuse' && e.details?.clientId === fapi.client.clientId), false);
  });
});
