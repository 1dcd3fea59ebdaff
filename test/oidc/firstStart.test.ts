// From a fresh folder, as README's "Two commands" promise: `npm start` registers the demo
// agency app, and its saved settings sign a dev citizen in through the code flow with a
// printed key-file password (openid-client as the agency). Then further dev starts: in the
// same folder (same SQLite database and settings file, another port), in another folder
// sharing that database, and with a database of their own — none breaks the first one's demo,
// and each says what it did with the registration.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadKeyFile, signChallenge } from '../../src/client/signIn.ts';
import { startFreshService, type FreshService } from '../helpers/freshService.ts';
import { Browser, oidc } from './helpers.ts';

interface DemoSettings { issuer: string; clientId: string; clientSecret: string; appUrl: string }

let service: FreshService;
let dir: string;
let issuer: string;
let output = '';

before(async () => {
  service = await startFreshService('oidc-first-start');
  dir = service.dir;
  issuer = `http://localhost:${service.port}`;
  output = service.output();
});
after(async () => service.stop());

const readSettings = async (folder: string) => JSON.parse(await readFile(join(folder, 'data/demo-agency.json'), 'utf8')) as DemoSettings;

/** The demo app's journey with `settings`: authorize, sign with a printed dev key file of `folder`, code, userinfo. */
async function demoSignsIn(settings: DemoSettings, folder: string, printed: string): Promise<void> {
  const [, file, password] = /(certs\/dev\/citizens\/\S+\.p12)\s+password: (\S+)/.exec(printed) ?? [];
  assert.ok(file && password);
  const config = await oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), { execute: [oidc.allowInsecureRequests] });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${settings.appUrl}/callback`, scope: 'openid profile', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const browser = new Browser();
  const interaction = await browser.fetch(url.href);
  assert.equal(interaction.status, 303);
  const loginUrl = new URL(interaction.headers.get('location') ?? '', url).href;
  const challenge = (await (await fetch(`${settings.issuer}/v1/challenges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string; challenge: string };
  const credential = await loadKeyFile(join(folder, file), password);
  const signed = await browser.fetch(loginUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ challengeId: challenge.id, format: 'cms', cms: Buffer.from(signChallenge(credential, challenge.challenge)).toString('base64') }),
  });
  assert.equal(signed.status, 200);
  const { redirectTo } = (await signed.json()) as { redirectTo: string };
  assert.ok(redirectTo.startsWith(`${settings.appUrl}/callback?`));
  const tokens = await oidc.authorizationCodeGrant(config, new URL(redirectTo), { pkceCodeVerifier: verifier, expectedState: state });
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub as string);
  assert.match(String(userinfo.name), /\S/);
}

/**
 * The token endpoint's answer to `settings`' client with a code nobody issued: `invalid_grant`
 * once the client authenticated (RFC 6749 §3.2.1 comes first), `invalid_client` when the secret
 * is not the registration's. A cheap probe that the demo's registration still holds.
 */
async function tokenEndpointSays(settings: DemoSettings): Promise<string> {
  const res = await fetch(`${settings.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${settings.clientId}:${settings.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'never-issued', redirect_uri: `${settings.appUrl}/callback`, code_verifier: 'v'.repeat(43) }),
  });
  return ((await res.json()) as { error: string }).error;
}

test('the first start registers the demo agency app, and it signs a dev citizen in', async () => {
  assert.match(output, /registered the demo agency app/);
  const settings = await readSettings(dir);
  assert.equal(settings.issuer, issuer);
  await demoSignsIn(settings, dir, output);
});

test('a second start in the same folder (its database and settings, another port) reuses the registration and says whose the file is', async () => {
  const before = await readFile(join(dir, 'data/demo-agency.json'), 'utf8');
  const second = await startFreshService('oidc-second-start', { dir });
  try {
    const secondIssuer = `http://localhost:${second.port}`;
    const said = second.output();
    assert.match(said, new RegExp(`"outcome":"reused-elsewhere".*matches, but names another instance \\(${issuer}\\) sharing this database: left both as they are`));
    assert.ok(said.includes(`ISSUER_URL=${secondIssuer} npm run demo:agency`), said);
    assert.doesNotMatch(said, /registered the demo agency app/);
    assert.equal(await readFile(join(dir, 'data/demo-agency.json'), 'utf8'), before, 'the settings file is untouched');
    // The first start's demo still signs in, and the same registration serves the second as the message says.
    await demoSignsIn(await readSettings(dir), dir, output);
    assert.equal(await tokenEndpointSays({ ...await readSettings(dir), issuer: secondIssuer }), 'invalid_grant');
    assert.equal(await tokenEndpointSays({ ...await readSettings(dir), issuer: secondIssuer, clientSecret: 'x'.repeat(43) }), 'invalid_client');
  } finally {
    await second.stop();
  }
});

test('a start in another folder sharing the database leaves the registration alone and says what to do', async () => {
  const shared = await startFreshService('oidc-shared-database', { env: { DATABASE_URL: `sqlite:${join(dir, 'data/yagona.sqlite')}` } });
  try {
    const said = shared.output();
    assert.match(said, /"level":40.*"outcome":"left-alone".*demo-agency is registered in this database already, and there is no data\/demo-agency\.json here/);
    assert.match(said, /left the registration alone, so that instance's demo keeps working; npm run demo:agency will not work with this one/);
    assert.match(said, /copy data\/demo-agency\.json from the instance that registered it, or `npm run admin -- clients remove demo-agency`/);
    assert.equal(existsSync(join(shared.dir, 'data/demo-agency.json')), false, 'no settings written');
    assert.equal(await tokenEndpointSays(await readSettings(dir)), 'invalid_grant', 'the first start\'s demo secret still holds');
  } finally {
    await shared.stop();
  }
});

test('a start with a database of its own registers a demo app of its own', async () => {
  const own = await startFreshService('oidc-own-database');
  try {
    assert.match(own.output(), /"outcome":"registered".*registered the demo agency app/);
    const settings = await readSettings(own.dir);
    assert.equal(settings.issuer, `http://localhost:${own.port}`);
    assert.notEqual(settings.clientSecret, (await readSettings(dir)).clientSecret);
    assert.equal(await tokenEndpointSays(settings), 'invalid_grant');
    assert.equal(await tokenEndpointSays(await readSettings(dir)), 'invalid_grant');
  } finally {
    await own.stop();
  }
});
