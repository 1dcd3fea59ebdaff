// An agency sign-in (OpenID Connect code flow, openid-client as the agency) finished with a key
// token through the agent, as the sign-in page does it: the ID token and userinfo carry the
// token's level, and a relayed signature ends the interaction attempt with no code.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAgent, type Agent } from '../../agent/server.ts';
import { originOf } from '../../src/login/originBinding.ts';
import { openTokenModule } from '../../src/token/pkcs11.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { softhsmModule, softTokenCitizen, type SoftToken } from '../helpers/softhsm.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { addClient, authorizationUrl, Browser, oidc, relyingParty, startInteraction, startOidcApp } from '../oidc/helpers.ts';

let token: SoftToken;
let database: TestDatabase;
let app: TestApp;
let agent: Agent;
let origin: string;
let certificateId: string;

before(async () => {
  const pki = await createTestPki();
  const made = await softTokenCitizen(pki, 'Agency test token', 'CN=Token Holder,1.2.860.3.16.1.2=31201990000042,C=UZ');
  token = made.token;
  database = await openTestDatabase('postgres');
  app = await startOidcApp({ store: 'redis', database, pki });
  origin = originOf(app.url);
  agent = await startAgent({ module: openTokenModule(softhsmModule), origins: [origin], port: 0 });
  certificateId = `${token.slot}:${made.keyId}`;
});

after(async () => {
  await agent?.close();
  await app?.close();
  await database?.cleanup();
  token?.remove();
});

/** What the page does on the "key token" tab: a challenge, the agent's signature, POST /login/{id}. */
async function signWithToken(browser: Browser, loginUrl: string, agentOrigin = origin, target = agent): Promise<Response> {
  const challenge = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
  const signed = await fetch(`${target.url}/v1/sign`, {
    method: 'POST', headers: { origin: agentOrigin, 'content-type': 'application/json' },
    body: JSON.stringify({ certificate: certificateId, pin: token.pin, challenge: challenge.challenge }),
  });
  assert.equal(signed.status, 200);
  // The agent's answer ({format, cms, origin}) goes on unchanged, beside the challenge id.
  const answer = (await signed.json()) as { format: string; cms: string; origin: string };
  assert.deepEqual(Object.keys(answer).sort(), ['cms', 'format', 'origin']);
  return browser.fetch(loginUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ challengeId: challenge.id, ...answer }),
  });
}

test('an agency sign-in with a key token: the ID token and userinfo say acr high, amr hwk+pin', async () => {
  const config = await relyingParty(app, await addClient(app));
  const start = await authorizationUrl(config);
  const browser = new Browser();
  const loginUrl = await startInteraction(app, browser, start.url);
  const res = await signWithToken(browser, loginUrl);
  assert.equal(res.status, 200, await res.clone().text());
  const { redirectTo } = (await res.json()) as { redirectTo: string };
  const tokens = await oidc.authorizationCodeGrant(config, new URL(redirectTo), {
    pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims?.acr, 'urn:yagona:loa:high');
  assert.deepEqual(claims?.amr, ['hwk', 'pin', 'pop']);
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims!.sub);
  assert.equal(userinfo.name, 'Token Holder', 'the identity is the token certificate\'s');
});

test('a signature relayed through another origin gets no code; the citizen can retry in the same interaction', async () => {
  const config = await relyingParty(app, await addClient(app));
  const start = await authorizationUrl(config);
  const browser = new Browser();
  const loginUrl = await startInteraction(app, browser, start.url);
  const relayOrigin = 'https://yagona-id.example';
  const relayAgent = await startAgent({ module: openTokenModule(softhsmModule), origins: [relayOrigin], port: 0 });
  try {
    const relayed = await signWithToken(browser, loginUrl, relayOrigin, relayAgent);
    assert.equal(relayed.status, 403);
    const problem = (await relayed.json()) as { code: string; redirectTo?: string };
    assert.equal(problem.code, 'challenge_invalid');
    assert.equal(problem.redirectTo, undefined, 'no redirect, no code');
  } finally {
    await relayAgent.close();
  }
  const retry = await signWithToken(browser, loginUrl);
  assert.equal(retry.status, 200, await retry.clone().text());
  assert.match(((await retry.json()) as { redirectTo: string }).redirectTo, /^https:\/\/agency\.example\/callback\?code=/);
});
