// From a fresh folder, as README's "Two commands" promise: `npm start` registers the demo
// agency app, and its saved settings sign a dev citizen in through the code flow with a
// printed key-file password (openid-client as the agency).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadKeyFile, signChallenge } from '../../src/client/signIn.ts';
import { startFreshService, type FreshService } from '../helpers/freshService.ts';
import { Browser, oidc } from './helpers.ts';

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

test('the first start registers the demo agency app, and it signs a dev citizen in', async () => {
  assert.match(output, /registered the demo agency app/);
  const settings = JSON.parse(await readFile(join(dir, 'data/demo-agency.json'), 'utf8')) as { issuer: string; clientId: string; clientSecret: string; appUrl: string };
  assert.equal(settings.issuer, issuer);
  const [, file, password] = /(certs\/dev\/citizens\/\S+\.p12)\s+password: (\S+)/.exec(output) ?? [];
  assert.ok(file && password);

  const config = await oidc.discovery(new URL(issuer), settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), { execute: [oidc.allowInsecureRequests] });
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
  const challenge = (await (await fetch(`${issuer}/v1/challenges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string; challenge: string };
  const credential = await loadKeyFile(join(dir, file), password);
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
});
