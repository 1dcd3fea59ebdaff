// The README's agency guides are real: each client kind's code in examples/agency-clients runs
// end to end against the real service on Redis + PostgreSQL (sign-in, userinfo, refresh,
// logout), the two ways of checking an access token show what each notices, and the README
// quotes each file's marked region exactly, so guide and code cannot drift.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import * as accessTokens from '../../examples/agency-clients/accessTokens.ts';
import * as fapi2 from '../../examples/agency-clients/fapi2.ts';
import * as mobile from '../../examples/agency-clients/mobile.ts';
import * as web from '../../examples/agency-clients/web.ts';
import { fapiRedirectUri, keyHolder, nativeScheme } from './clientKinds.ts';
import { addClient, appOnRedisAndPostgres, Browser, callbackUrl, oidc, redirectUri } from './helpers.ts';

/** Only because the test issuer is http on 127.0.0.1; an agency's is https. */
const local = { execute: [oidc.allowInsecureRequests] };
const guides = ['web', 'fapi2', 'mobile', 'accessTokens'];

const file = appOnRedisAndPostgres();

/** The citizen's browser follows the logout URL; the service ends the session and redirects back. */
async function logoutThrough(browser: Browser, url: URL, expected: string): Promise<void> {
  const res = await browser.fetch(url.href);
  assert.equal(res.status, 303, await res.text());
  assert.equal(res.headers.get('location'), expected);
}

const invalidGrant = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

describe('agency guides (redis + postgres)', () => {
  test('README quotes each guide\'s marked region exactly', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of guides) {
      const source = await readFile(new URL(`../../examples/agency-clients/${name}.ts`, import.meta.url), 'utf8');
      const region = /\/\/ #region guide\n([\s\S]*?)\/\/ #endregion guide\n/.exec(source)?.[1];
      assert.ok(region, `${name}.ts has no guide region`);
      assert.ok(readme.includes(`\`\`\`ts\n${region}\`\`\`\n`), `README.md does not quote examples/agency-clients/${name}.ts as it is`);
    }
  });

  test('web backend: sign-in, userinfo, a rotating refresh, both token checks, logout — only introspection notices the logout', async () => {
    const { client, secret } = await addClient(file.app);
    const config = await web.connect(new URL(file.app.url), client.clientId, secret as string, local);
    const { url, pending } = await web.signInUrl(config, redirectUri);
    const browser = new Browser();
    const tokens = await web.finishSignIn(config, await callbackUrl(file.app, url, file.citizen, browser), pending);
    const sub = tokens.claims()?.sub as string;
    assert.equal((await web.userinfo(config, tokens.access_token, sub)).family_name, 'Karimov');

    const refreshed = await web.refresh(config, tokens.refresh_token as string);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal((await web.userinfo(config, refreshed.access_token, sub)).sub, sub);

    const check = accessTokens.localCheck(config);
    assert.equal((await check(refreshed.access_token)).sub, sub);
    assert.equal((await accessTokens.introspect(config, refreshed.access_token))?.sub, sub);

    await logoutThrough(browser, web.logoutUrl(config, refreshed.id_token as string, 'https://agency.example/signed-out'), 'https://agency.example/signed-out');
    assert.equal(await accessTokens.introspect(config, refreshed.access_token), undefined, 'introspection sees the logout at once');
    assert.equal((await check(refreshed.access_token)).sub, sub, 'the JWT alone still verifies until its exp');
    await assert.rejects(web.userinfo(config, refreshed.access_token, sub));
    await assert.rejects(web.refresh(config, refreshed.refresh_token as string), invalidGrant);
  });

  test('FAPI 2.0 backend: PAR, private_key_jwt, DPoP-bound tokens, a refresh retried after a lost answer, logout', async () => {
    const key = await keyHolder();
    const { client } = await addClient(file.app, {
      profile: 'fapi2', redirectUris: [fapiRedirectUri], postLogoutRedirectUris: ['https://kadastr.example.uz/signed-out'],
      jwks: { keys: [{ ...key.publicJwk, kid: 'kadastr-1', alg: 'ES256', use: 'sig' }] },
    });
    const agency = await fapi2.connect(new URL(file.app.url), client.clientId, key.privateKey, 'kadastr-1', local);
    const { url, pending } = await fapi2.signInUrl(agency, fapiRedirectUri);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    const browser = new Browser();
    const tokens = await fapi2.finishSignIn(agency, await callbackUrl(file.app, url, file.citizen, browser), pending);
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    const sub = tokens.claims()?.sub as string;
    assert.equal((await fapi2.userinfo(agency, tokens.access_token, sub)).given_name, 'Aziz');

    const lost = await fapi2.refresh(agency, tokens.refresh_token as string);
    const retried = await fapi2.refresh(agency, tokens.refresh_token as string);
    assert.equal(retried.refresh_token, tokens.refresh_token, 'not rotated');
    assert.notEqual(retried.access_token, lost.access_token);
    assert.equal((await fapi2.userinfo(agency, retried.access_token, sub)).sub, sub);
    const introspected = await accessTokens.introspect(agency.config, retried.access_token);
    assert.equal(introspected?.token_type, 'DPoP');
    assert.deepEqual(introspected?.cnf, (await accessTokens.localCheck(agency.config)(retried.access_token)).cnf, 'the key a resource checks the proof against');

    await logoutThrough(browser, fapi2.logoutUrl(agency, retried.id_token as string, 'https://kadastr.example.uz/signed-out'), 'https://kadastr.example.uz/signed-out');
    await assert.rejects(fapi2.userinfo(agency, retried.access_token, sub));
    await assert.rejects(fapi2.refresh(agency, tokens.refresh_token as string), invalidGrant);
  });

  test('mobile app: a loopback listener on its own port, no secret, code and tokens bound to the device key, logout to its scheme', async () => {
    const { client } = await addClient(file.app, {
      applicationType: 'native', redirectUris: ['http://127.0.0.1/callback'], postLogoutRedirectUris: [`${nativeScheme}:/signed-out`],
    });
    const device = await mobile.connect(new URL(file.app.url), client.clientId, local);
    const browser = new Browser();
    let redirectedTo: URL | undefined;
    const tokens = await mobile.signIn(device, async (url) => {
      assert.equal(url.searchParams.get('dpop_jkt'), device.jkt);
      redirectedTo = await callbackUrl(file.app, url, file.citizen, browser);
      // The system browser lands on the app's listener.
      const landed = await fetch(redirectedTo);
      assert.equal(landed.status, 200);
      await landed.text();
    });
    assert.match(redirectedTo?.origin ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(redirectedTo?.port, '', 'a port the registration did not name');
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    const sub = tokens.claims()?.sub as string;
    assert.equal((await mobile.userinfo(device, tokens.access_token, sub)).sub, sub);

    const first = await mobile.refresh(device, tokens.refresh_token as string);
    const again = await mobile.refresh(device, tokens.refresh_token as string);
    assert.equal(again.refresh_token, first.refresh_token);
    assert.equal((await mobile.userinfo(device, again.access_token, sub)).family_name, 'Karimov');

    await logoutThrough(browser, mobile.logoutUrl(device, again.id_token as string, `${nativeScheme}:/signed-out`), `${nativeScheme}:/signed-out`);
    await assert.rejects(mobile.userinfo(device, again.access_token, sub));
    await assert.rejects(mobile.refresh(device, tokens.refresh_token as string), invalidGrant);
  });
});
