// E-IMZO on the sign-in page in real Chromium (issue 18), against the stand-in module of
// test/helpers/eimzoStandIn.ts on E-IMZO's fixed port (the real module could not run here):
// the method comes first when the module answers; list → choose → password in the module's
// window → session with the PINFL, signed with real O'zDSt by OpenSSL's gost engine; and each
// refusal in the citizen's language: module absent (with the official download page), domain
// not registered, wrong password (the module's reason), expired key (before any password).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { eimzoDownloadUrl, eimzoTexts } from '../../src/http/loginPage/eimzoTexts.ts';
import { dictionaries, formatDate } from '../../src/http/loginPage/i18n.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import type { TestApp } from '../helpers/app.ts';
import { engineCitizenKey, type EimzoKey, type EimzoStandIn, publishedApiKeys, startEimzoStandIn } from '../helpers/eimzoStandIn.ts';
import { exclusively } from '../helpers/exclusive.ts';
import { freePort } from '../helpers/ports.ts';
import { engineChain, gostCases, type GostChain } from '../helpers/gostPki.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { openGostEngine, type GostEngine } from '../pki/algorithms/gost/gostEngine.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { alertText, lastSessionPinfl, launchChromium, record, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

exclusively('eimzo-port');

const pinfl = '31507760340029';
const day = 86_400_000;
let dir: string;
let engine: GostEngine;
let chain: GostChain;
let valid: EimzoKey;
let expired: EimzoKey;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let standIn: EimzoStandIn | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yagona-eimzo-page-'));
  engine = openGostEngine();
  chain = await engineChain(engine, gostCases[0]!, '31111111111111');
  const ca = chain.ca;
  const now = Date.now();
  valid = await engineCitizenKey(engine, ca, [chain.ca.der, chain.root.der], {
    subject: `CN=ALIYEV VALI,SN=ALIYEV,2.5.4.41=VALI,1.2.860.3.16.1.2=${pinfl},UID=512345678,O=Не указано,C=UZ`,
    name: `DS${pinfl}_1.pfx`, password: 'Maxfiy-2026', notBefore: new Date(now - day), notAfter: new Date(now + 365 * day),
  });
  expired = await engineCitizenKey(engine, ca, [chain.ca.der, chain.root.der], {
    subject: 'CN=KARIMOVA NODIRA,SN=KARIMOVA,2.5.4.41=NODIRA,1.2.860.3.16.1.2=42201850120044,C=UZ',
    name: 'DS42201850120044_1.pfx', password: 'eski', notBefore: new Date(now - 400 * day), notAfter: new Date(now - 2 * day),
  });
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki: { anchors: chain.anchors, intermediates: chain.intermediates } });
  agency = await startAgency(app, dir);
  chromium = await launchChromium({ ignoreHTTPSErrors: true });
});
after(async () => {
  await standIn?.close();
  await chromium?.close();
  await agency?.close();
  await app?.close();
  await database?.cleanup();
  engine?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await chromium.context.clearCookies();
});

/** The agency's "Sign in", arrived on the sign-in page once the page has asked for E-IMZO. */
async function fromAgency(): Promise<Page> {
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/[A-Za-z0-9_-]{24}$`));
  await page.waitForFunction(() => document.documentElement.dataset.eimzo !== undefined);
  return page;
}

const methodOrder = (page: Page) => page.locator('.methods button').evaluateAll((buttons) => buttons.map((button) => button.id));
const calls = () => standIn?.calls.map(({ request }) => (request.plugin === undefined ? String(request.name) : `${String(request.plugin)}.${String(request.name)}`)) ?? [];

/** Sessions and audit rows before a refusal. */
async function counts(): Promise<{ sessions: number; auditRows: number }> {
  return { sessions: await app.sessionCount(), auditRows: (await app.db.audit.tail(1000)).length };
}

/** No new session, no challenge asked for, nothing new in the audit log: the refusal happened in the page. */
async function nothingHappened(requests: ReturnType<typeof record>['requests'], was: { sessions: number; auditRows: number }): Promise<void> {
  assert.deepEqual(await counts(), was);
  assert.deepEqual(requests.filter((request) => request.method === 'POST'), [], 'no challenge asked for, nothing posted');
}

describe('E-IMZO absent', () => {
  test('the method is last; chosen, it says E-IMZO is not running, in uz/ru/en, with the official download page', async () => {
    const was = await counts();
    const page = await fromAgency();
    const { requests } = record(page);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.eimzo), 'absent');
    assert.deepEqual(await methodOrder(page), ['method-file', 'method-token', 'method-eimzo']);
    assert.ok(await page.locator('#key-form').isVisible(), 'the key file stays the first way in');
    await page.locator('#method-eimzo').click();
    assert.equal(await alertText(page), `${eimzoTexts.uz.problems.module_missing} ${eimzoTexts.uz.download}`);
    assert.equal(await page.locator('#eimzo-download').getAttribute('href'), eimzoDownloadUrl);
    for (const locale of ['ru', 'en'] as const) {
      await page.locator(`button[data-locale="${locale}"]`).click();
      await page.waitForFunction((lang) => document.documentElement.lang === lang, locale);
      assert.equal(await page.locator('#alert').textContent(), `${eimzoTexts[locale].problems.module_missing} ${eimzoTexts[locale].download}`);
    }
    assert.ok(await page.locator('#key-form').isHidden());
    await nothingHappened(requests, was);
    await page.close();
  });
});

describe('E-IMZO answering (the stand-in)', () => {
  before(async () => {
    standIn = await startEimzoStandIn(app.url, [valid, expired]);
  });
  afterEach(() => {
    standIn?.calls.splice(0);
  });

  test('first and chosen; list → choose → password in E-IMZO → back at the agency, session with the PINFL', async () => {
    const page = await fromAgency();
    const { requests, problems } = record(page);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.eimzo), 'answered');
    assert.deepEqual(await methodOrder(page), ['method-eimzo', 'method-file', 'method-token']);
    assert.equal(await page.locator('#method-eimzo').getAttribute('aria-pressed'), 'true');
    assert.ok(await page.locator('#key-form').isHidden());
    const cards = page.locator('#eimzo-keys .identity');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 2);
    const first = (await cards.nth(0).textContent()) ?? '';
    assert.match(first, /ALIYEV VALI/);
    assert.match(first, new RegExp(pinfl), 'PINFL from the alias');
    assert.match(first, /512345678/, 'TIN from the alias');
    assert.doesNotMatch(first, /Не указано/, 'a placeholder organisation is not shown');
    assert.match((await cards.nth(1).textContent()) ?? '', new RegExp(dictionaries.uz.expiredBadge));

    standIn!.typedPassword = valid.password;
    await page.locator('#eimzo-sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.equal(await page.locator('#name').textContent(), 'ALIYEV VALI');
    assert.equal(await lastSessionPinfl(app), pinfl);

    // The protocol as E-IMZO's client speaks it: the probe, then version, apikey with every
    // configured pair, the listing; then load_key, verify_password, create_pkcs7 over the
    // challenge's bytes (attached), unload_key.
    assert.deepEqual(calls(), ['version', 'version', 'apikey', 'pfx.list_all_certificates', 'pfx.load_key', 'pfx.verify_password', 'pkcs7.create_pkcs7', 'pfx.unload_key']);
    const byName = (name: string) => standIn!.calls.find(({ request }) => request.name === name)!;
    assert.deepEqual(byName('apikey').request.arguments, Object.entries(publishedApiKeys).flat());
    assert.equal(byName('apikey').origin, app.url);
    const [data64, keyId, detached] = byName('create_pkcs7').request.arguments as string[];
    assert.equal(detached, 'no');
    assert.deepEqual(byName('unload_key').request.arguments, [keyId]);
    const posts = requests.filter((request) => request.method === 'POST' && request.url.startsWith(app.url));
    assert.equal(posts.length, 2);
    const signed = JSON.parse(posts[1]!.body!.toString()) as { cms: string };
    const content = Buffer.from(data64!, 'base64').toString('utf8');
    assert.ok(Buffer.from(signed.cms, 'base64').includes(Buffer.from(content)), 'the pkcs7_64 posted carries the challenge');
    assert.deepEqual(problems.filter((problem) => !problem.includes(agency.url)), []);
    await page.close();
  });

  test('an expired key is named from validto before E-IMZO asks for a password (the choice kept across a language switch)', async () => {
    const was = await counts();
    const page = await fromAgency();
    const { requests } = record(page);
    await page.locator('#eimzo-keys .identity').nth(1).click();
    await page.locator('button[data-locale="ru"]').click();
    await page.waitForFunction(() => document.documentElement.lang === 'ru');
    await page.locator('#eimzo-sign').click();
    const expected = eimzoTexts.ru.problems.key_expired.replace('{date}', formatDate(dictionaries.ru, parseCertificate(expired.certDer).notAfter));
    assert.equal(await alertText(page), expected);
    assert.ok(!calls().includes('pfx.load_key'), 'no key loaded, no password asked');
    await nothingHappened(requests, was);
    await page.close();
  });

  test('a wrong password: E-IMZO\'s reason in the page; then the right one signs in', async () => {
    const was = await counts();
    const page = await fromAgency();
    const { requests } = record(page);
    await page.locator('#eimzo-keys .identity').first().waitFor();
    standIn!.typedPassword = 'not-the-password';
    await page.locator('#eimzo-sign').click();
    assert.equal(await alertText(page), eimzoTexts.uz.problems.wrong_password.replace('{reason}', standIn!.wrongPasswordReason));
    assert.deepEqual(calls().slice(-3), ['pfx.load_key', 'pfx.verify_password', 'pfx.unload_key'], 'the loaded key is let go');
    await nothingHappened(requests, was);

    standIn!.typedPassword = valid.password;
    await page.locator('#eimzo-sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.equal(await lastSessionPinfl(app), pinfl);
    await page.close();
  });

  test('a domain E-IMZO has no key for: the operator\'s step, in uz/ru/en; no key is listed', async () => {
    // A module that knows the localhost key only, freshly started (a registered domain stays registered while it runs).
    await standIn!.close();
    standIn = await startEimzoStandIn(app.url, [valid, expired], { apiKeys: { localhost: publishedApiKeys.localhost! } });
    const was = await counts();
    const page = await fromAgency();
    const { requests } = record(page);
    assert.equal(await alertText(page), eimzoTexts.uz.problems.domain_not_registered.replaceAll('{domain}', '127.0.0.1'));
    await page.locator('button[data-locale="en"]').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.locator('#alert').textContent(), eimzoTexts.en.problems.domain_not_registered.replaceAll('{domain}', '127.0.0.1'));
    assert.match((await page.locator('#alert').textContent()) ?? '', /EIMZO_API_KEYS/);
    assert.deepEqual(calls(), ['version', 'version', 'apikey']);
    assert.equal(await page.locator('#eimzo-keys .identity').count(), 0);
    await nothingHappened(requests, was);
    await page.close();
  });
});

describe('E-IMZO from an https page: wss://127.0.0.1:64443', () => {
  let tls: { key: string; cert: string };
  let front: TlsServer;
  let httpsOrigin: string;
  const piped = new Set<Socket>();

  before(async () => {
    await standIn?.close();
    standIn = undefined;
    // One loopback certificate for both ends: E-IMZO's installer trusts its own; Chromium here ignores the issuer.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.pem')], { stdio: 'pipe' });
    tls = { key: readFileSync(join(dir, 'tls.key'), 'utf8'), cert: readFileSync(join(dir, 'tls.pem'), 'utf8') };
    // The service behind TLS, as a deployment's proxy puts it: same interaction, same cookie (cookies ignore the port).
    const appPort = Number(new URL(app.url).port);
    front = createTlsServer(tls, (socket) => {
      const upstream = connect(appPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      // Each side ends with the other, and is cut in after() too: an upstream left open is a
      // busy keep-alive connection that the service's close() would wait for without end.
      piped.add(upstream);
      upstream.on('close', () => { piped.delete(upstream); socket.destroy(); });
      socket.on('close', () => upstream.destroy());
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    // Every connection, handshake done or not (Chromium opens some ahead of need), so close() returns.
    front.on('connection', (socket: Socket) => {
      piped.add(socket);
      socket.on('close', () => piped.delete(socket));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => front.listen(port, '127.0.0.1', resolve));
    httpsOrigin = `https://127.0.0.1:${port}`;
    standIn = await startEimzoStandIn(httpsOrigin, [valid], { tls });
  });
  after(async () => {
    // Chromium keeps its connections open; they are cut so the server can close.
    for (const socket of piped) socket.destroy();
    await new Promise((resolve) => front?.close(resolve));
  });

  test('the page over https reaches E-IMZO on its TLS endpoint and signs in', async (t) => {
    const page = await fromAgency();
    // Closed even when an assertion fails: its open connections would hold the TLS front open.
    t.after(() => page.close());
    const loginPath = new URL(page.url()).pathname;
    await page.goto(`${httpsOrigin}${loginPath}`);
    await page.waitForFunction(() => document.documentElement.dataset.eimzo !== undefined);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.eimzo), 'answered');
    await page.locator('#eimzo-keys .identity').first().waitFor();
    standIn!.typedPassword = valid.password;
    await page.locator('#eimzo-sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.equal(await lastSessionPinfl(app), pinfl);
    assert.ok(standIn!.calls.every(({ origin }) => origin === httpsOrigin));
    // unload_key answered before the page left for the agency.
    assert.deepEqual(calls().slice(-4), ['pfx.load_key', 'pfx.verify_password', 'pkcs7.create_pkcs7', 'pfx.unload_key']);
  });
});
