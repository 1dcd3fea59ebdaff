// Single sign-on in real Chromium (issue 10): a key-file sign-in at the demo agency, then a
// second agency reached with one click on the continue page, in the citizen's language and
// under the pages' CSP; and an agency that asks for acr `high` is offered the key token alone.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerClient } from '../../src/oidc/clients.ts';
import type { ClientRecord } from '../../src/stores/types.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/testPki.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { atKeyStep, keyFile, launchChromium, openKey, record, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let demo: Agency;
let chromium: ChromiumSession;
let dir: string;
/** Agency B: a callback that only says "ok", and its registration. */
let callback: Server;
let callbackUrl: string;
let agencyB: ClientRecord;
let secretB: string;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki });
  dir = mkdtempSync(join(tmpdir(), 'yagona-sso-page-'));
  demo = await startAgency(app, dir);
  callback = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); });
  callback.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => callback.once('listening', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  const registered = await registerClient(app.db.clients, { name: 'Kadastr', redirectUris: [callbackUrl], postLogoutRedirectUris: [`${callbackUrl}/bye`] }, new Date());
  agencyB = registered.client;
  secretB = registered.clientSecret as string;
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await demo?.close();
  callback?.closeAllConnections();
  await new Promise<void>((resolve) => { callback?.close(() => resolve()); });
  await app?.close();
  await database?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** The PKCE verifier of agency B's last request. */
let verifierB = '';

/** An authorization request of agency B, as its backend would build it. */
function authorizeB(extra: Record<string, string> = {}): string {
  verifierB = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: agencyB.clientId, redirect_uri: callbackUrl, response_type: 'code', scope: 'openid profile',
    code_challenge: createHash('sha256').update(verifierB).digest('base64url'), code_challenge_method: 'S256', state: randomBytes(8).toString('hex'), ...extra,
  });
  return `${app.url}/authorize?${params}`;
}

/** Agency B's backend redeeming the code of its callback: its ID token. */
async function idTokenOfB(callbackHref: string): Promise<string> {
  const code = new URL(callbackHref).searchParams.get('code') ?? '';
  const res = await fetch(`${app.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${agencyB.clientId}:${secretB}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl, code_verifier: verifierB }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { id_token: string }).id_token;
}

describe('single sign-on in Chromium', () => {
  test('a key file at the demo agency, then Kadastr with one click on the continue page (ru → en), no key file', async () => {
    const citizen = await pki.citizen({ key: 'ec-p256' });
    const first = await chromium.context.newPage();
    await first.goto(`${demo.url}/login`);
    await atKeyStep(first);
    await openKey(first, { name: 'fuqaro.p12', buffer: await keyFile(pki, citizen, 'pw') }, 'pw');
    await first.locator('#sign').click();
    await first.waitForURL(`${demo.url}/`);
    // The session's cookie is for the service alone, and no script can read it.
    const ssoCookie = (await chromium.context.cookies(app.url)).find((cookie) => cookie.name === 'yagona-sso');
    assert.ok(ssoCookie?.httpOnly);
    assert.equal(ssoCookie.sameSite, 'Lax');
    assert.equal(await first.evaluate(() => document.cookie.includes('yagona-sso')), false);

    const page = await chromium.context.newPage();
    const { problems } = record(page);
    await page.goto(authorizeB({ ui_locales: 'ru' }));
    await page.locator('#continue').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.match((await page.locator('h1').textContent()) ?? '', /Продолжить в «Kadastr»/);
    assert.match((await page.locator('.intro').textContent()) ?? '', /Citizen \d+/);
    assert.equal(await page.locator('#key-file').count(), 0, 'no key file is asked for');
    await page.locator('button.lang[data-locale="en"]').click();
    assert.match((await page.locator('h1').textContent()) ?? '', /Continue to «Kadastr»/);
    assert.match((await page.locator('#receives').textContent()) ?? '', /your name/);
    await page.locator('#continue').click();
    await page.waitForURL((url) => url.href.startsWith(callbackUrl));
    assert.ok(new URL(page.url()).searchParams.get('code'));
    assert.deepEqual(problems, [], 'no CSP violation or script error on the continue page');
    const reuse = (await app.db.audit.tail(5)).find((event) => event.type === 'sso_reuse');
    assert.equal(reuse?.details?.signature, false);

    // Logout at Kadastr: two agencies in the session, so the page asks; "all" ends both and
    // the browser goes back to Kadastr's registered page.
    const idToken = await idTokenOfB(page.url());
    const logout = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: `${callbackUrl}/bye`, state: 'bye', ui_locales: 'uz' });
    await page.goto(`${app.url}/logout?${logout}`);
    await page.locator('#end-all').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'uz');
    await page.locator('#end-all').click();
    await page.waitForURL(`${callbackUrl}/bye?state=bye`);
    assert.deepEqual(problems, [], 'no CSP violation on the logout page, nor on its redirect');
    assert.equal((await chromium.context.cookies(app.url)).find((cookie) => cookie.name === 'yagona-sso'), undefined, 'the cookie is gone');
    await first.close();
    await page.close();
  });

  test('acr_values=…:high: the page offers the key token alone, even with a key-file session', async () => {
    const page = await chromium.context.newPage();
    await page.goto(authorizeB({ acr_values: 'urn:yagona:loa:high', ui_locales: 'en' }));
    await page.locator('#token-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#method-file').count(), 0);
    assert.equal(await page.locator('#method-eimzo').count(), 0);
    assert.equal(await page.locator('#key-form').isHidden(), true);
    await page.close();
  });
});
