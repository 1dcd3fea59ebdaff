// Single sign-on (issue 10): two agency apps driven by openid-client, one browser (a cookie
// jar), the real app. A sign-in at A; B with one click on the continue page; prompt=none;
// what asks for a new signature; idle and absolute ends on an injected clock; revocation;
// and two instances on Redis + PostgreSQL sharing the session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { openTestDatabase, uniqueKeyPrefix, type TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import {
  addClient, authorizationUrl, Browser, logoutIn, logoutReceiver, oidc, relyingParty, signInWithCode, startOidcApp,
  type AuthorizationStart, type LogoutReceiver, type TestClient,
} from './helpers.ts';

let pki: TestPki;
let sqlite: TestDatabase;
let postgres: TestDatabase;

before(async () => {
  pki = await createTestPki();
  sqlite = await openTestDatabase('sqlite');
  postgres = await openTestDatabase('postgres');
});
after(async () => {
  await sqlite.cleanup();
  await postgres.cleanup();
});

interface Agency {
  registered: TestClient;
  config: oidc.Configuration;
}

async function agency(app: TestApp, input: Parameters<typeof addClient>[1] = {}): Promise<Agency> {
  const registered = await addClient(app, input);
  return { registered, config: await relyingParty(app, registered) };
}

/** GET /authorize in the browser; where it sent the browser (the login page, or the agency with a code or error). */
async function authorize(browser: Browser, url: URL, base = url): Promise<URL> {
  const res = await browser.fetch(url.href);
  assert.equal(res.status, 303, `authorize answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('location') ?? '', base);
}

/** What the login page shows: the continue page (one click) or the key form (a signature). */
async function pageKind(browser: Browser, loginUrl: URL): Promise<'continue' | 'sign-in'> {
  const res = await browser.fetch(loginUrl.href);
  assert.equal(res.status, 200);
  const html = await res.text();
  if (html.includes('id="continue"')) return 'continue';
  assert.match(html, /id="key-form"/);
  return 'sign-in';
}

/** The continue page's one click; the agency's tokens through openid-client. */
async function continueTo(app: TestApp, browser: Browser, target: Agency, extra: Record<string, string> = {}, entry = app.url) {
  const start = await authorizationUrl(target.config, extra);
  const loginUrl = await authorize(browser, new URL(`${entry}${start.url.pathname}${start.url.search}`));
  assert.equal(await pageKind(browser, loginUrl), 'continue');
  const res = await browser.fetch(`${loginUrl.href}/continue`, { method: 'POST' });
  assert.equal(res.status, 303, await res.text());
  const callback = new URL(res.headers.get('location') ?? '');
  return redeem(target, start, callback);
}

function redeem(target: Agency, start: AuthorizationStart, callback: URL) {
  return oidc.authorizationCodeGrant(target.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });
}

const ssoReuses = async (app: TestApp) => (await app.db.audit.tail(50)).filter((event) => event.type === 'sso_reuse');

describe('single sign-on (memory + SQLite)', () => {
  const clock = fixedClock(new Date());
  let app: TestApp;
  let citizen: Citizen;
  let a: Agency;
  let b: Agency;

  before(async () => {
    app = await startOidcApp({ store: 'memory', database: sqlite, pki, clock, env: { SSO_IDLE_SECONDS: '900', SSO_MAX_SECONDS: '2000' } });
    citizen = await pki.citizen();
    a = await agency(app);
    b = await agency(app, { name: 'Agency B' });
  });
  after(() => app.close());

  test('a signature at A, then B with one click: the same sid, another sub, an audit event saying no signature was made', async () => {
    const browser = new Browser();
    const atA = await signInWithCode(app, a.config, citizen, { scope: 'openid profile' }, browser);
    const before = (await ssoReuses(app)).length;
    const atB = await continueTo(app, browser, b);
    const idA = atA.tokens.claims();
    const idB = atB.claims();
    assert.ok(idA && idB);
    assert.equal(idB.sid, idA.sid, 'one OP session, one sid');
    assert.notEqual(idB.sub, idA.sub, 'pairwise: B cannot link the citizen to A');
    assert.equal(idB.auth_time, idA.auth_time, 'the signature\'s time, not the click\'s');
    assert.equal(idB.acr, idA.acr);
    // The access tokens and introspection carry the same sid, and no certificate-derived value.
    for (const [tokens, config] of [[atA.tokens, a.config], [atB, b.config]] as const) {
      const access = decodeJwt(tokens.access_token);
      assert.equal(access.sid, idA.sid);
      assert.equal(access.cnf, undefined);
      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).sid, idA.sid);
    }
    const events = (await ssoReuses(app)).slice(before);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.details?.signature, false);
    assert.equal(events[0]?.details?.clientId, b.registered.client.clientId);
    assert.equal(events[0]?.details?.sid, idA.sid);
  });

  test('prompt=none: a code where the citizen went on before; consent_required at an agency never visited; login_required without a session', async () => {
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    const start = await authorizationUrl(a.config, { prompt: 'none' });
    const silent = await authorize(browser, start.url);
    assert.ok(silent.href.startsWith('https://agency.example/callback'));
    const tokens = await redeem(a, start, silent);
    assert.ok(tokens.id_token);

    const never = await authorize(browser, (await authorizationUrl(b.config, { prompt: 'none' })).url);
    assert.equal(never.searchParams.get('error'), 'consent_required');
    const nobody = await authorize(new Browser(), (await authorizationUrl(a.config, { prompt: 'none' })).url);
    assert.equal(nobody.searchParams.get('error'), 'login_required');
  });

  test('prompt=login, max_age=0 and acr_values above the session\'s level ask for the key again', async () => {
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    const cases: Array<Record<string, string>> = [{ prompt: 'login' }, { max_age: '0' }, { acr_values: 'urn:yagona:loa:high' }];
    for (const extra of cases) {
      assert.equal(await pageKind(browser, await authorize(browser, (await authorizationUrl(b.config, extra)).url)), 'sign-in', JSON.stringify(extra));
      // prompt=none cannot go with login (invalid_request); with the others it cannot be met.
      if (extra.prompt !== undefined) continue;
      const none = await authorize(browser, (await authorizationUrl(a.config, { ...extra, prompt: 'none' })).url);
      assert.equal(none.searchParams.get('error'), 'login_required', JSON.stringify(extra));
    }
    // Within the levels and ages it has, the session is offered.
    assert.equal(await pageKind(browser, await authorize(browser, (await authorizationUrl(b.config, { max_age: '600', acr_values: 'urn:yagona:loa:substantial' })).url)), 'continue');
  });

  test('a fresh signature by the same citizen keeps the sid and rotates the cookie; another citizen\'s ends the session', async () => {
    const browser = new Browser();
    const first = await signInWithCode(app, a.config, citizen, {}, browser);
    const cookieBefore = ssoCookieOf(browser);
    const again = await signInWithCode(app, b.config, citizen, { prompt: 'login' }, browser);
    assert.equal(again.tokens.claims()?.sid, first.tokens.claims()?.sid);
    assert.notEqual(ssoCookieOf(browser), cookieBefore, 'a new signature, a new cookie value');

    const other = await pki.citizen();
    const third = await signInWithCode(app, b.config, other, { prompt: 'login' }, browser);
    assert.notEqual(third.tokens.claims()?.sid, first.tokens.claims()?.sid);
    await assert.rejects(oidc.refreshTokenGrant(a.config, first.tokens.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  });

  test('a cookie the browser brought is never adopted, and the session is never readable from a page', async () => {
    const browser = new Browser();
    const planted = `${'a'.repeat(24)}.${'b'.repeat(43)}`;
    browser.setCookie('yagona-sso', planted);
    const start = await authorizationUrl(a.config);
    const loginUrl = await authorize(browser, start.url);
    assert.equal(await pageKind(browser, loginUrl), 'sign-in');
    const challenge = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const res = await browser.fetch(loginUrl.href, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, challenge.id, challenge.challenge)) });
    assert.equal(res.status, 200);
    const line = res.headers.getSetCookie().find((cookie) => cookie.startsWith('yagona-sso='));
    assert.ok(line);
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);
    assert.notEqual(ssoCookieOf(browser), planted);
  });

  test('idle: 900 s without an authorize or refresh ends the session; each reuse extends it up to the absolute end', async () => {
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    const silently = async () => authorize(browser, (await authorizationUrl(a.config, { prompt: 'none' })).url);
    // Each reuse within 900 s extends it: 800 + 800 s live, past the first 900.
    clock.advanceSeconds(800);
    assert.ok((await silently()).searchParams.get('code'));
    clock.advanceSeconds(800);
    assert.ok((await silently()).searchParams.get('code'));
    // The absolute end (SSO_MAX_SECONDS=2000 here) wins over a fresh idle time.
    clock.advanceSeconds(500);
    assert.equal((await silently()).searchParams.get('error'), 'login_required');
    assert.equal(await pageKind(browser, await authorize(browser, (await authorizationUrl(b.config)).url)), 'sign-in');

    const idle = new Browser();
    await signInWithCode(app, a.config, citizen, {}, idle);
    clock.advanceSeconds(901);
    assert.equal((await authorize(idle, (await authorizationUrl(a.config, { prompt: 'none' })).url)).searchParams.get('error'), 'login_required');
  });

  test('a revoked certificate ends the session: the next authorize asks for a signature', async () => {
    const victim = await pki.citizen();
    const browser = new Browser();
    const { tokens } = await signInWithCode(app, a.config, victim, {}, browser);
    const leaf = (await app.deps.sessions.authenticate(tokens.access_token, a.registered.client.clientId)).certificatePath?.[0];
    assert.ok(leaf);
    // Only the registry knows yet (no watcher poll): the reuse reads it.
    await app.db.revocations.add({ issuer: leaf.issuer, serialHex: leaf.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
    assert.equal(await pageKind(browser, await authorize(browser, (await authorizationUrl(b.config)).url)), 'sign-in');
    assert.equal((await authorize(browser, (await authorizationUrl(a.config, { prompt: 'none' })).url)).searchParams.get('error'), 'login_required');
    assert.equal(await app.deps.oidc.sso.find(decodeJwt(tokens.id_token as string).sid as string), undefined);

    // The operator's path: the watcher ends the session on every instance before anyone asks.
    const other = await pki.citizen();
    const signedIn = await signInWithCode(app, a.config, other, {}, new Browser());
    const sid = decodeJwt(signedIn.tokens.id_token as string).sid as string;
    assert.ok(await app.deps.oidc.sso.find(sid));
    const otherLeaf = (await app.deps.sessions.authenticate(signedIn.tokens.access_token, a.registered.client.clientId)).certificatePath?.[0];
    assert.ok(otherLeaf);
    await app.db.revocations.add({ issuer: otherLeaf.issuer, serialHex: otherLeaf.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
    await app.deps.revocationWatcher.refresh();
    await app.deps.revocationWatcher.settled();
    assert.equal(await app.deps.oidc.sso.find(sid), undefined);
  });

  test('"use another key" and a session ended while the continue page was open lead to the sign-in page, no code', async () => {
    const browser = new Browser();
    const { tokens } = await signInWithCode(app, a.config, citizen, {}, browser);
    const another = await authorize(browser, (await authorizationUrl(b.config)).url);
    assert.equal(await pageKind(browser, another), 'continue');
    const res = await browser.fetch(`${another.href}/another`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /id="key-form"/);
    assert.equal(await pageKind(browser, another), 'sign-in', 'the interaction stays a sign-in');

    const ended = await authorize(browser, (await authorizationUrl(b.config)).url);
    assert.equal(await pageKind(browser, ended), 'continue');
    await app.deps.oidc.sso.end(decodeJwt(tokens.id_token as string).sid as string);
    const late = await browser.fetch(`${ended.href}/continue`, { method: 'POST' });
    assert.equal(late.status, 200);
    assert.match(await late.text(), /id="key-form"/);
  });

  test('response_mode=form_post: continue and prompt=none answer through the form page, in the citizen\'s language and look', async () => {
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    browser.setCookie('yagona-locale', 'ru');
    const start = await authorizationUrl(b.config, { response_mode: 'form_post' });
    const loginUrl = await authorize(browser, start.url);
    assert.equal(await pageKind(browser, loginUrl), 'continue');
    const clicked = await browser.fetch(`${loginUrl.href}/continue`, { method: 'POST' });
    assert.equal(clicked.status, 303);
    const formPage = await browser.fetch(new URL(clicked.headers.get('location') ?? '', loginUrl).href);
    assert.equal(formPage.status, 200);
    assert.match(formPage.headers.get('content-security-policy') ?? '', /form-action https:\/\/agency\.example/);
    const html = await formPage.text();
    assert.match(html, /<html lang="ru">/);
    assert.match(html, /<link rel="stylesheet" href="\/assets\/login\//);
    assert.match(html, />Продолжить<\/button>/);
    assert.match(html, /name="code" value="[A-Za-z0-9_-]{43}"/);
    const silent = await authorize(browser, (await authorizationUrl(b.config, { response_mode: 'form_post', prompt: 'none' })).url);
    assert.match(await (await browser.fetch(silent.href)).text(), /name="code"/);
  });

  test('an id_token_hint for another citizen: login_required', async () => {
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    const someoneElse = await signInWithCode(app, a.config, await pki.citizen());
    const res = await authorize(browser, (await authorizationUrl(a.config, { id_token_hint: someoneElse.tokens.id_token as string })).url);
    assert.equal(res.searchParams.get('error'), 'login_required');
  });
});

describe('logout a citizen can trust (Redis + PostgreSQL)', () => {
  const clock = fixedClock(new Date());
  let app: TestApp;
  let receiverA: LogoutReceiver;
  let receiverB: LogoutReceiver;

  before(async () => {
    app = await startOidcApp({ store: 'redis', database: postgres, pki, clock });
    receiverA = await logoutReceiver();
    // B's endpoint fails twice before it takes the token: the third try delivers it.
    receiverB = await logoutReceiver(2);
  });
  after(async () => {
    await receiverA.close();
    await receiverB.close();
    await app.close();
  });

  async function signedInAtBoth() {
    const citizen = await pki.citizen();
    const a = await agency(app, { backchannelLogoutUri: receiverA.url });
    const b = await agency(app, { name: 'Agency B', backchannelLogoutUri: receiverB.url });
    const browser = new Browser();
    const atA = (await signInWithCode(app, a.config, citizen, {}, browser)).tokens;
    const atB = await continueTo(app, browser, b);
    return { a, b, browser, atA, atB };
  }

  /** The audit events of back-channel deliveries to `clientId`, once there are `count` (bounded wait: retries take 2.5 s). */
  async function deliveries(clientId: string, count: number) {
    for (let i = 0; i < 100; i++) {
      const found = (await app.db.audit.tail(100)).filter((e) => e.type === 'backchannel_logout' && e.details?.clientId === clientId);
      if (found.length >= count) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`no ${count} back-channel audit events for ${clientId}`);
  }

  test('"all agencies" at B: A and B get logout tokens of the session (B after retries), refresh stops, the browser signs again', async () => {
    const { a, b, browser, atA, atB } = await signedInAtBoth();
    const sid = atA.claims()?.sid;
    const res = await logoutIn(browser, b.config, { id_token_hint: atB.id_token as string, ui_locales: 'en' }, 'all');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /signed out of every application/);
    assert.equal(decodeJwt(await receiverA.next()).sid, sid);
    const [delivered] = await deliveries(b.registered.client.clientId, 1);
    assert.equal(delivered?.outcome, 'success');
    assert.equal(delivered?.details?.attempts, 3);
    assert.equal(receiverB.received.length, 3);
    assert.equal(decodeJwt(receiverB.received[2] as string).sid, sid);
    for (const [agencyOf, tokens] of [[a, atA], [b, atB]] as const) {
      await assert.rejects(oidc.refreshTokenGrant(agencyOf.config, tokens.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    }
    const logouts = (await app.db.audit.tail(20)).filter((e) => e.type === 'logout' && e.details?.sid === sid);
    assert.deepEqual(logouts.map((e) => e.details?.clientId).sort(), [a.registered.client.clientId, b.registered.client.clientId].sort());
    assert.equal(await pageKind(browser, await authorize(browser, (await authorizationUrl(a.config)).url)), 'sign-in');

    // The same hint again: nothing was left, and the page says so, with the way back.
    const again = await browser.fetch(oidc.buildEndSessionUrl(b.config, { id_token_hint: atB.id_token as string, post_logout_redirect_uri: 'https://agency.example/signed-out', ui_locales: 'en' }).href);
    assert.equal(again.status, 200);
    const html = await again.text();
    assert.match(html, /nothing left to end/);
    assert.match(html, /href="https:\/\/agency.example\/signed-out"/);
  });

  test('"this agency": B ends, A goes on in the same session', async () => {
    const { a, b, browser, atA, atB } = await signedInAtBoth();
    const res = await logoutIn(browser, b.config, { id_token_hint: atB.id_token as string, post_logout_redirect_uri: 'https://agency.example/signed-out', state: 's' }, 'agency');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), 'https://agency.example/signed-out?state=s');
    await assert.rejects(oidc.refreshTokenGrant(b.config, atB.refresh_token as string));
    assert.ok((await oidc.refreshTokenGrant(a.config, atA.refresh_token as string)).access_token);
    assert.ok((await authorize(browser, (await authorizationUrl(a.config, { prompt: 'none' })).url)).searchParams.get('code'));
    assert.equal((await authorize(browser, (await authorizationUrl(b.config, { prompt: 'none' })).url)).searchParams.get('error'), 'consent_required');
    await deliveries(b.registered.client.clientId, 1);
  });

  test('a hint from another browser: the page asks first, offers this agency only, and nothing ends until the citizen confirms', async () => {
    const { a, atA } = await signedInAtBoth();
    const elsewhere = new Browser();
    const asked = await elsewhere.fetch(oidc.buildEndSessionUrl(a.config, { id_token_hint: atA.id_token as string, ui_locales: 'en' }).href);
    const html = await asked.text();
    assert.match(html, /not made in this browser/);
    assert.doesNotMatch(html, /value="all"/);
    assert.equal((await oidc.tokenIntrospection(a.config, atA.access_token)).active, true, 'nothing ended by asking');
    // A confirmation from yet another browser is refused: the question was this browser's.
    const id = /name="logout_id" value="([^"]+)"/.exec(html)?.[1] as string;
    const stranger = await new Browser().fetch(`${app.url}/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_id: id, end: 'agency' }) });
    assert.equal(stranger.status, 404);
    assert.equal((await oidc.tokenIntrospection(a.config, atA.access_token)).active, true);
    const logouts = (await app.db.audit.tail(20)).filter((e) => e.type === 'logout' && e.details?.sid === atA.claims()?.sid);
    assert.deepEqual(logouts, []);
  });

  test('logout after admin keys rotate: the retired key stays published while its ID tokens can be hints', async () => {
    const { a, browser, atA } = await signedInAtBoth();
    const oldKid = decodeProtectedHeader(atA.id_token as string).kid;
    await app.deps.keys.rotate();
    // Past SESSION_TTL_SECONDS (600), once the retirement's limit; within the session's idle time.
    clock.advanceSeconds(700);
    assert.ok((await (await app.get('/.well-known/jwks.json')).json() as { keys: Array<{ kid: string }> }).keys.some((key) => key.kid === oldKid));
    const res = await logoutIn(browser, a.config, { id_token_hint: atA.id_token as string, ui_locales: 'en' }, 'all');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /signed out of every application/);
  });
});

describe('the citizen\'s own page (memory + SQLite)', () => {
  let app: TestApp;

  before(async () => {
    app = await startOidcApp({ store: 'memory', database: sqlite, pki });
  });
  after(() => app.close());

  test('/account shows the session and its agencies; "sign out everywhere" ends it, the certificate\'s other sessions and every grant', async () => {
    const citizen = await pki.citizen();
    const a = await agency(app, { name: 'Soliq' });
    const b = await agency(app, { name: 'Kadastr' });
    const browser = new Browser();
    browser.setCookie('yagona-locale', 'en');
    const nobody = await browser.fetch(`${app.url}/account`);
    assert.match(await nobody.text(), /not signed in through Yagona ID/);

    const atA = (await signInWithCode(app, a.config, citizen, {}, browser)).tokens;
    const atB = await continueTo(app, browser, b);
    // The same certificate in another browser: a session of its own.
    const elsewhere = new Browser();
    const atAElsewhere = (await signInWithCode(app, a.config, citizen, {}, elsewhere)).tokens;

    const page = await browser.fetch(`${app.url}/account`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const html = await page.text();
    assert.match(html, /signed in as Citizen \d+/);
    assert.match(html, /<ul id="agencies"><li>Soliq<\/li><li>Kadastr<\/li><\/ul>/);
    assert.doesNotMatch(html, /\d{14}/, 'no PINFL on the page');
    const sid = /name="sid" value="([^"]+)"/.exec(html)?.[1] as string;

    // A form without the session's sid (another site's) ends nothing.
    const forged = await browser.fetch(`${app.url}/account/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'sid=guess' });
    assert.equal(forged.status, 303);
    assert.equal((await oidc.tokenIntrospection(a.config, atA.access_token)).active, true);

    const done = await browser.fetch(`${app.url}/account/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ sid }) });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /signed out everywhere/);
    for (const [config, tokens] of [[a.config, atA], [b.config, atB], [a.config, atAElsewhere]] as const) {
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    }
    assert.equal(await pageKind(elsewhere, await authorize(elsewhere, (await authorizationUrl(b.config)).url)), 'sign-in', 'the other browser signs again');
  });
});

describe('privacy at agencies (memory + SQLite)', () => {
  let app: TestApp;

  before(async () => {
    app = await startOidcApp({ store: 'memory', database: sqlite, pki });
  });
  after(() => app.close());

  test('the tokens of A and B share no value derived from the certificate or the PINFL', async () => {
    const citizen = await pki.citizen();
    const a = await agency(app);
    const b = await agency(app, { name: 'Agency B', subjectType: 'public' });
    const identified = await agency(app, { name: 'Tax office', scopes: ['openid', 'national_id'] });
    const browser = new Browser();
    const atA = await signInWithCode(app, a.config, citizen, {}, browser);
    const atB = await continueTo(app, browser, b);
    const national = await continueTo(app, browser, identified, { scope: 'openid national_id' });
    const pinfl = String(national.claims()?.pinfl);
    assert.match(pinfl, /^\d{14}$/);
    const session = await app.deps.sessions.authenticate(atA.tokens.access_token, a.registered.client.clientId);
    const certificateValues = [pinfl, session.certificateSha256, Buffer.from(session.certificateSha256, 'hex').toString('base64url'), session.certificatePath?.[0]?.serialHex ?? ''];
    const seen = (tokens: { id_token?: string; access_token: string }) => JSON.stringify([decodeJwt(tokens.id_token as string), decodeJwt(tokens.access_token)]);
    for (const text of [seen(atA.tokens), seen(atB)]) {
      for (const value of certificateValues) assert.ok(!text.includes(value), `a token carries ${value}`);
    }
    const [subA, subB] = [atA.tokens.claims()?.sub, atB.claims()?.sub];
    assert.notEqual(subA, subB);
  });

  test('a client asks only for the scopes it is registered for: invalid_scope beyond them, default openid profile', async () => {
    const plain = await agency(app);
    assert.deepEqual(plain.registered.client.scopes, ['openid', 'profile']);
    const refused = await authorize(new Browser(), (await authorizationUrl(plain.config, { scope: 'openid national_id' })).url);
    assert.equal(refused.searchParams.get('error'), 'invalid_scope');
    // Scopes nobody knows are still ignored (OIDC Core §3.1.2.1).
    const unknown = await authorize(new Browser(), (await authorizationUrl(plain.config, { scope: 'openid profile email' })).url);
    assert.match(unknown.pathname, /^\/login\//);
  });

  test('the continue page names what the agency will receive, in the citizen\'s language', async () => {
    const citizen = await pki.citizen();
    const a = await agency(app);
    const tax = await agency(app, { name: 'Soliq', scopes: ['openid', 'profile', 'national_id'] });
    const browser = new Browser();
    await signInWithCode(app, a.config, citizen, {}, browser);
    for (const [locale, words] of [['uz', /JShShIR va STIR/], ['ru', /ПИНФЛ и ИНН/], ['en', /PINFL and TIN/]] as const) {
      const page = await authorize(browser, (await authorizationUrl(tax.config, { scope: 'openid profile national_id', ui_locales: locale })).url);
      const html = await (await browser.fetch(page.href)).text();
      assert.match(html, new RegExp(`<html lang="${locale}">`));
      assert.match(html, words);
      assert.match(html, /Soliq/);
    }
  });
});

describe('single sign-on across two instances (Redis + PostgreSQL)', () => {
  let one: TestApp;
  let two: TestApp;

  before(async () => {
    const keyPrefix = uniqueKeyPrefix('sso');
    one = await startOidcApp({ store: 'redis', database: postgres, pki, keyPrefix });
    // The second instance of the same service: its issuer, its Redis and its database.
    two = await startTestAppAs(one, keyPrefix);
  });
  after(async () => {
    await two.close();
    await one.close();
  });

  test('signed in through instance 1, continued through instance 2', async () => {
    const citizen = await pki.citizen();
    const a = await agency(one);
    const b = await agency(one, { name: 'Agency B' });
    const browser = new Browser();
    const atA = await signInWithCode(one, a.config, citizen, {}, browser);
    const atB = await continueTo(one, browser, b, {}, two.url);
    assert.equal(atB.claims()?.sid, atA.tokens.claims()?.sid);
    assert.notEqual(atB.claims()?.sub, atA.tokens.claims()?.sub);
  });
});

function startTestAppAs(first: TestApp, keyPrefix: string): Promise<TestApp> {
  return startTestApp({ store: 'redis', database: postgres, pki, keyPrefix, env: { ISSUER_URL: first.url } });
}

const ssoCookieOf = (browser: Browser) => browser.cookie('yagona-sso');
