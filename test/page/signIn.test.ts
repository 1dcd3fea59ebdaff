// The citizen's sign-in page in real Chromium (Debian's package, playwright-core): from the
// demo agency app through the page and back with a code, the key file opened and the
// challenge signed in the page; every refusal told in a focused role="alert"; the citizen
// retries without going back to the agency.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { errorCodes, type ErrorCode } from '../../src/errors.ts';
import { dictionaries, fill, locales, type Problem, problemWords } from '../../src/http/loginPage/i18n.ts';
import { agentOrigin } from '../../src/login/originBinding.ts';
import { interactionTtlSeconds } from '../../src/oidc/grants.ts';
import { certificateKey } from '../../src/revocation/certificateKey.ts';
import type { Clock } from '../../src/clock.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import {
  agentOrigins, alertText, atKeyStep, foreignCspSources, keyFile, keyFileOfSeveral, launchChromium, openKey, record, screenshotPath, startAgency,
  type Agency, type ChromiumSession,
} from './helpers.ts';
import { pem } from '../helpers/pem.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let dir: string;
// The service's clock, moved forward to let an interaction expire.
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki, clock });
  dir = mkdtempSync(join(tmpdir(), 'yagona-page-'));
  agency = await startAgency(app, dir);
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await agency?.close();
  await app?.close();
  await database?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  offsetMs = 0;
  await chromium.context.clearCookies();
});

/** A new tab at the agency's "Sign in with Yagona ID", arrived on the sign-in page. */
async function fromAgency(): Promise<Page> {
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/[A-Za-z0-9_-]{24}$`));
  await atKeyStep(page);
  return page;
}

describe('the sign-in page in Chromium', () => {
  test('agency → page → key file → back at the agency, signed in with the citizen\'s name; nothing secret leaves the page', async () => {
    const citizen = await pki.citizen({ key: 'ec-p256' });
    const password = 'Maxfiy-parol-2026';
    const file = await keyFile(pki, citizen, password);
    const page = await fromAgency();
    const { requests, problems } = record(page);
    const loginPath = new URL(page.url()).pathname;
    const loginCsp = (await page.request.get(page.url())).headers()['content-security-policy'] ?? '';
    assert.equal(await page.getAttribute('html', 'lang'), 'uz');

    await openKey(page, { name: 'fuqaro.p12', buffer: file }, password);
    const card = page.locator('#identities .identity');
    await card.waitFor();
    const cardText = (await card.textContent()) ?? '';
    assert.match(cardText, /Citizen \d+/);
    assert.match(cardText, /3120199\d{7}/, 'PINFL shown');
    assert.match(cardText, /Test Citizen CA/, 'issuer shown');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'check-heading');
    assert.equal(await page.inputValue('#password'), '', 'the password is cleared once the file is open');

    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.match((await page.locator('#name').textContent()) ?? '', /^Citizen \d+$/);

    // Only same-origin requests, and none carries the password, the key file or the private key.
    const pkcs8 = citizen.privateKey.export({ type: 'pkcs8', format: 'der' });
    const secrets = [Buffer.from(password), file, pkcs8, Buffer.from(file.toString('base64')), Buffer.from(pkcs8.toString('base64'))];
    const toService = requests.filter((request) => request.url.startsWith(app.url));
    // The service, the agency, and at most the key token agent on its loopback origin.
    const allowed = [app.url, agency.url, ...agentOrigins(loginCsp)];
    for (const request of requests) {
      assert.ok(allowed.some((origin) => request.url.startsWith(`${origin}/`)), `request to another origin: ${request.url}`);
      assert.ok(!request.url.includes(password), 'password in a URL');
      for (const secret of secrets) assert.ok(request.body === null || !request.body.includes(secret), `a secret in the body of ${request.method} ${request.url}`);
    }
    const posts = toService.filter((request) => request.method === 'POST');
    assert.deepEqual(posts.map((request) => new URL(request.url).pathname), ['/v1/challenges', loginPath]);
    assert.deepEqual(JSON.parse(posts[0]!.body!.toString()), {});
    const signed = JSON.parse(posts[1]!.body!.toString()) as Record<string, string>;
    assert.deepEqual(Object.keys(signed).sort(), ['challengeId', 'cms', 'format']);
    assert.equal(signed.format, 'cms');
    assert.ok(!Buffer.from(signed.cms!, 'base64').includes(pkcs8), 'the CMS does not carry the private key');
    // The demo agency has no favicon; the service's page has nothing to complain about.
    assert.deepEqual(problems.filter((problem) => !problem.includes(agency.url)), []);
    await page.close();
  });

  for (const key of ['rsa-4096', 'ec-p521', 'ed25519'] as const) {
    test(`a ${key} key file signs in too (WebCrypto in Chromium)`, async () => {
      const citizen = await pki.citizen({ key });
      const page = await fromAgency();
      await openKey(page, { name: `${key}.p12`, buffer: await keyFile(pki, citizen, 'pw') }, 'pw');
      await page.locator('#sign').click();
      await page.waitForURL(`${agency.url}/`);
      assert.match((await page.locator('#name').textContent()) ?? '', /^Citizen \d+$/);
      await page.close();
    });
  }

  test('the page and its assets carry the security headers; assets are immutable, the page is never cached', async () => {
    const page = await fromAgency();
    const response = await page.reload();
    assert.ok(response);
    const headers = response.headers();
    const csp = headers['content-security-policy'] ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", `connect-src 'self' ${agentOrigin} ws://127.0.0.1:64646 wss://127.0.0.1:64443`, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) {
      assert.ok(csp.split('; ').includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.deepEqual(foreignCspSources(csp), []);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
    assert.match(headers['strict-transport-security'] ?? '', /max-age=31536000; includeSubDomains/);
    assert.equal(headers['cache-control'], 'no-store');
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
    for (const path of html.match(/\/assets\/login\/[A-Za-z0-9._-]+/g) ?? []) {
      const asset = await fetch(`${app.url}${path}`, { headers: { 'accept-encoding': 'br, gzip' } });
      assert.equal(asset.status, 200, path);
      assert.equal(asset.headers.get('content-encoding'), 'br');
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
      assert.match(asset.headers.get('content-type') ?? '', /^(text\/javascript|text\/css|image\/svg\+xml)/);
      const plain = await fetch(`${app.url}${path}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.headers.get('content-encoding'), null);
      assert.deepEqual(Buffer.from(await asset.arrayBuffer()), Buffer.from(await plain.arrayBuffer()), 'fetch decodes br to the same bytes');
    }
    assert.equal((await fetch(`${app.url}/assets/login/page.0000000000000000.js`)).status, 404);
    // A framing attempt from another origin is refused by the browser: the frame stays empty.
    const framer = await chromium.context.newPage();
    await framer.setContent(`<iframe src="${page.url()}"></iframe>`);
    const frame = await (await framer.locator('iframe').elementHandle())?.contentFrame();
    assert.ok(frame);
    await frame.waitForLoadState('load');
    assert.equal(await frame.locator('#key-form').count(), 0, 'Chromium refuses to frame the page');
    // The control: the demo agency's page, which sends no anti-framing headers, does show in a frame.
    await framer.setContent(`<iframe src="${agency.url}/"></iframe>`);
    const control = await (await framer.locator('iframe').elementHandle())?.contentFrame();
    await control?.waitForLoadState('load');
    assert.equal(await control?.locator('h1').textContent(), 'Demo agency');
    await framer.close();
    await page.close();
  });

  test('a wrong password is told in the alert, and the right one then signs in without going back', async () => {
    const citizen = await pki.citizen({ key: 'rsa-2048' });
    const file = await keyFile(pki, citizen, 'togri');
    const page = await fromAgency();
    const { requests } = record(page);
    await openKey(page, { name: 'kalit.pfx', buffer: file }, 'notogri');
    assert.match(await alertText(page), /Parol notoʻgʻri/);
    assert.equal(await page.getAttribute('#password', 'aria-invalid'), 'true');
    await page.screenshot({ path: screenshotPath('sign-in-uz-wrong-password'), fullPage: true });
    await page.locator('#password').fill('togri');
    await page.locator('#open').click();
    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    // Neither the wrong password nor the right one, nor the file, went anywhere.
    for (const request of requests) {
      for (const secret of [Buffer.from('notogri'), Buffer.from('togri'), file]) {
        assert.ok(!request.url.includes(secret.toString()) && (request.body === null || !request.body.includes(secret)), `${request.method} ${request.url}`);
      }
    }
    await page.close();
  });

  test('a revoked certificate is refused with its reason; another key file then signs in', async () => {
    const revoked = await pki.citizen();
    await app.db.revocations.add({ ...certificateKey('CN=Test Citizen CA,O=Yagona Test,C=UZ', revoked.serialHex), reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
    await app.deps.revocationWatcher.refresh();
    await app.deps.revocationWatcher.settled();
    const page = await fromAgency();
    await openKey(page, { name: 'eski.p12', buffer: await keyFile(pki, revoked, 'pw') }, 'pw');
    await page.locator('#sign').click();
    assert.match(await alertText(page), /bekor qilingan/);
    // Back at the first step, ready for another file.
    assert.equal(await page.locator('#key-form').isVisible(), true);
    assert.equal(await page.locator('#sign-form').isVisible(), false);
    const good = await pki.citizen();
    await openKey(page, { name: 'yangi.p12', buffer: await keyFile(pki, good, 'pw') }, 'pw');
    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    await page.close();
  });

  test('an expired certificate is marked before signing and refused with its reason', async () => {
    const day = 86_400_000;
    const expired = await pki.citizen({ notBefore: new Date(Date.now() - 400 * day), notAfter: new Date(Date.now() - day) });
    const page = await fromAgency();
    await openKey(page, { name: 'kalit.p12', buffer: await keyFile(pki, expired, 'pw') }, 'pw');
    assert.equal(await page.locator('#identities .badge').textContent(), 'Muddati oʻtgan');
    await page.locator('#sign').click();
    assert.match(await alertText(page), /amal qilish muddati tugagan/);
    await page.close();
  });

  test('an interaction that expired says so and offers no form', async () => {
    const citizen = await pki.citizen();
    const page = await fromAgency();
    await openKey(page, { name: 'kalit.p12', buffer: await keyFile(pki, citizen, 'pw') }, 'pw');
    offsetMs = (interactionTtlSeconds + 5) * 1000;
    await page.locator('#sign').click();
    const message = await alertText(page);
    assert.match(message, /muddati tugagan/);
    assert.match(message, /Yagona ID demo agency|«/);
    assert.equal(await page.locator('#key-form').isVisible(), false);
    assert.equal(await page.locator('#sign-form').isVisible(), false);
    await page.close();
  });

  test('every error code the service answers with, and a lost connection, is told in the focused alert in each language', async () => {
    const citizen = await pki.citizen();
    const file = await keyFile(pki, citizen, 'pw');
    const page = await fromAgency();
    const client = (await page.getAttribute('#main', 'data-client')) ?? '';
    let answer: { status: number; code: ErrorCode } | 'abort' | undefined;
    await page.route('**/login/*', async (route) => {
      if (route.request().method() !== 'POST' || answer === undefined) return route.continue();
      if (answer === 'abort') return route.abort('internetdisconnected');
      const { status, code } = answer;
      await route.fulfill({ status, contentType: 'application/problem+json', body: JSON.stringify({ type: `urn:yagona-id:error:${code}`, title: 'x', status, detail: 'x', code }) });
    });
    // not_found ends the interaction, so it goes last.
    const cases: Array<{ status: number; code: ErrorCode } | 'abort'> = [
      ...(Object.keys(errorCodes) as ErrorCode[]).filter((code) => code !== 'not_found').map((code) => ({ status: errorCodes[code].status, code })),
      'abort',
      { status: 404, code: 'not_found' },
    ];
    for (const [index, next] of cases.entries()) {
      const lang = locales[index % locales.length]!;
      await page.locator(`button[data-locale="${lang}"]`).click();
      if (await page.locator('#key-form').isVisible()) await openKey(page, { name: 'kalit.p12', buffer: file }, 'pw');
      answer = next;
      await page.locator('#sign').click();
      const problem: Problem = next === 'abort' ? 'network' : next.code;
      assert.equal(await alertText(page), fill(dictionaries[lang].errors[problem], client, problemWords(problem, 'x')), `${problem} in ${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
    }
    assert.equal(await page.locator('#sign-form').isVisible(), false, 'nothing to retry once the interaction is gone');
    await page.close();
  });

  test('a key file with several certificates lets the citizen pick one, and signs with that one', async () => {
    const first = await pki.citizen({ key: 'ec-p256' });
    const second = await pki.citizen({ key: 'rsa-2048' });
    const file = await keyFileOfSeveral(pki, [first, second], 'ikki');
    const page = await fromAgency();
    await openKey(page, { name: 'ikkita.p12', buffer: file }, 'ikki');
    const radios = page.locator('#identities input[type="radio"]');
    await radios.first().waitFor();
    assert.equal(await radios.count(), 2);
    assert.equal(await page.locator('#choose-one').isVisible(), true);
    const names = await page.locator('#identities .who').allTextContents();
    const secondName = names.find((name) => name !== names[0]);
    assert.ok(secondName);
    await page.screenshot({ path: screenshotPath('sign-in-uz-several'), fullPage: true });
    // The second, chosen with the keyboard: arrow keys move between radios.
    await radios.first().focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await radios.nth(1).isChecked(), true);
    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.equal(await page.locator('#name').textContent(), secondName);
    await page.close();
  });

  test('wrong file type, a file that is not a key file, and a legacy (RC2/3DES) key file each get their own sentence', async () => {
    const page = await fromAgency();
    await openKey(page, { name: 'ariza.pdf', buffer: Buffer.from('%PDF-1.7\n% not a key file\n') }, 'pw');
    assert.match(await alertText(page), /Bu kalit fayli emas/);
    await openKey(page, { name: 'kalit.p12', buffer: Buffer.from('not a PKCS#12 at all') }, 'pw');
    assert.match(await alertText(page), /kalit fayli sifatida oʻqilmadi/);
    await page.locator('#key-file').setInputFiles([]);
    await page.locator('#open').click();
    assert.match(await alertText(page), /Kalit faylingizni tanlang/);
    const legacy = legacyKeyFile(await pki.citizen(), 'pw');
    await openKey(page, { name: 'eski.pfx', buffer: legacy }, 'pw');
    assert.match(await alertText(page), /eski shifrlash/);
    await page.close();
  });
});

/** The agency's authorization request with `ui_locales` added, opened in a new tab. */
async function withLocales(uiLocales: string): Promise<Page> {
  const start = await fetch(`${agency.url}/login`, { redirect: 'manual' });
  const authorize = new URL(start.headers.get('location') ?? '');
  authorize.searchParams.set('ui_locales', uiLocales);
  const page = await chromium.context.newPage();
  await page.goto(authorize.href);
  await atKeyStep(page);
  return page;
}

const expected = {
  uz: { title: 'Yagona ID orqali kirish', label: 'Kalit fayli (.p12 yoki .pfx)', wrong: /^Parol notoʻgʻri\./, open: 'Kalitni ochish' },
  ru: { title: 'Вход через Yagona ID', label: 'Файл ключа (.p12 или .pfx)', wrong: /^Неверный пароль\./, open: 'Открыть ключ' },
  en: { title: 'Sign in with Yagona ID', label: 'Key file (.p12 or .pfx)', wrong: /^Wrong password\./, open: 'Open key' },
} as const;

describe('languages', () => {
  for (const [uiLocales, lang] of [['uz', 'uz'], ['ru', 'ru'], ['en', 'en'], ['fr ru en', 'ru'], ['de', 'uz']] as const) {
    test(`ui_locales=${uiLocales} shows the page in ${lang}, errors included; screenshots on desktop and phone`, async () => {
      const page = await withLocales(uiLocales);
      const { problems } = record(page);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await page.title(), expected[lang].title);
      assert.equal(await page.locator('h1').textContent(), expected[lang].title);
      assert.equal(await page.locator('label[for="key-file"]').textContent(), expected[lang].label);
      assert.equal(await page.locator('#open').textContent(), expected[lang].open);
      assert.equal(await page.getAttribute(`button[data-locale="${lang}"]`, 'aria-pressed'), 'true');
      const shots = uiLocales === lang;
      if (shots) await page.screenshot({ path: screenshotPath(`sign-in-${lang}`), fullPage: true });
      if (shots) {
        await page.setViewportSize({ width: 360, height: 740 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
        assert.equal(overflow, false, 'no horizontal scrolling at phone width');
        await page.screenshot({ path: screenshotPath(`sign-in-${lang}-phone`), fullPage: true });
      }
      const citizen = await pki.citizen({ key: 'ec-p384' });
      const file = await keyFile(pki, citizen, 'pw');
      await openKey(page, { name: 'key.p12', buffer: file }, 'bad');
      assert.match(await alertText(page), expected[lang].wrong);
      if (shots) await page.screenshot({ path: screenshotPath(`sign-in-${lang}-phone-error`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.locator('#password').fill('pw');
      await page.locator('#open').click();
      await page.locator('#identities .identity').waitFor();
      if (shots) await page.screenshot({ path: screenshotPath(`sign-in-${lang}-certificate`), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test('the switch changes the language in place: texts, <html lang>, title, the shown error and the certificate card', async () => {
    const page = await fromAgency();
    const citizen = await pki.citizen();
    await openKey(page, { name: 'key.p12', buffer: await keyFile(pki, citizen, 'pw') }, 'bad');
    assert.match(await alertText(page), expected.uz.wrong);
    for (const lang of ['ru', 'en', 'uz'] as const) {
      await page.locator(`button[data-locale="${lang}"]`).click();
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await page.title(), expected[lang].title);
      assert.equal(await page.locator('h1').textContent(), expected[lang].title);
      assert.match((await page.locator('#alert').textContent()) ?? '', expected[lang].wrong);
      assert.equal(await page.getAttribute(`button[data-locale="${lang}"]`, 'aria-pressed'), 'true');
    }
    await page.locator('button[data-locale="en"]').click();
    await page.locator('#password').fill('pw');
    await page.locator('#open').click();
    const card = page.locator('#identities .identity');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /Issued by.*Valid until/);
    await page.locator('button[data-locale="ru"]').click();
    assert.match((await card.textContent()) ?? '', /Кем выдан.*Действителен до/);
    assert.equal(await page.locator('#sign').textContent(), 'Подписать и войти');
    // Still signs in after switching.
    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    await page.close();
  });
});

/** axe-core's WCAG 2.2 A/AA rules on the page as it is now: the violations, by rule and element. */
async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP (rightly) admits no such script.
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
  });
  return result.violations.flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${JSON.stringify(node.target)}`));
}

describe('accessibility', () => {
  test('axe-core finds no WCAG 2.2 AA violation on the key step, with an error, on the certificate step, on a phone', async () => {
    const page = await fromAgency();
    assert.deepEqual(await axeViolations(page), []);
    const citizen = await pki.citizen();
    const file = await keyFile(pki, citizen, 'pw');
    await openKey(page, { name: 'kalit.p12', buffer: file }, 'xato');
    await alertText(page);
    assert.deepEqual(await axeViolations(page), []);
    await page.locator('#password').fill('pw');
    await page.locator('#open').click();
    await page.locator('#identities .identity').waitFor();
    assert.deepEqual(await axeViolations(page), []);
    await page.setViewportSize({ width: 320, height: 640 });
    assert.deepEqual(await axeViolations(page), []);
    await page.close();
  });
});

describe('keyboard only', () => {
  test('Tab, Space, typing and Enter complete the sign-in, with a visible focus ring on every stop', async () => {
    const citizen = await pki.citizen({ key: 'ec-p256' });
    const file = await keyFile(pki, citizen, 'klaviatura');
    const page = await fromAgency();
    const focused = () => page.evaluate(() => {
      const active = document.activeElement as HTMLElement | null;
      // The file input is transparent over its picker, which draws the focus ring.
      const ringed = active?.id === 'key-file' ? active.parentElement : active;
      const style = ringed ? getComputedStyle(ringed) : undefined;
      return { id: active?.id ?? '', locale: active?.dataset.locale ?? '', outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '', shadow: style?.boxShadow ?? 'none' };
    });
    const stops: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      const now = await focused();
      stops.push(now.id || `lang-${now.locale}`);
      assert.ok(/solid 3px/.test(now.outline) || now.shadow !== 'none', `no visible focus on ${now.id || now.locale}: ${now.outline}`);
      if (now.id === 'key-file') break;
    }
    // The language switch first; other ways to sign in may come between it and the key file.
    assert.deepEqual(stops.slice(0, 3), ['lang-uz', 'lang-ru', 'lang-en']);
    assert.equal(stops.at(-1), 'key-file');
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Space');
    await (await chooser).setFiles({ name: 'kalit.p12', mimeType: 'application/x-pkcs12', buffer: file });
    assert.equal(await page.locator('#file-name').textContent(), 'kalit.p12');
    await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'password');
    await page.keyboard.type('klaviatura');
    await page.keyboard.press('Enter');
    await page.locator('#sign').waitFor();
    assert.equal((await focused()).id, 'check-heading');
    await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'sign');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${agency.url}/`);
    assert.match((await page.locator('#name').textContent()) ?? '', /^Citizen \d+$/);
    await page.close();
  });
});

/** What `openssl pkcs12 -export -legacy` writes (RC2-40 certificates, 3DES key): browsers cannot decrypt it. */
function legacyKeyFile(citizen: Citizen, password: string): Buffer {
  const key = join(dir, 'legacy.key');
  const cert = join(dir, 'legacy.pem');
  const out = join(dir, 'legacy.p12');
  writeFileSync(key, citizen.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(cert, pem(citizen.certDer));
  const run = spawnSync('openssl', ['pkcs12', '-export', '-legacy', '-inkey', key, '-in', cert, '-out', out, '-passout', `pass:${password}`], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return readFileSync(out);
}

// The pages besides the sign-in form: the same frame and switch, switching in place, the choice
// carried to the next page the service renders (the sign-in page included), no CSP violation.
describe('the other pages in Chromium', () => {
  test('an error page switches language in place, and the next pages follow the choice', async () => {
    const page = await chromium.context.newPage();
    const { requests, problems } = record(page);
    await page.goto(`${app.url}/login/AAAAAAAAAAAAAAAAAAAAAAAA`);
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
    assert.equal(await page.getAttribute('html', 'lang'), 'uz');
    assert.equal(await page.locator('h1').textContent(), dictionaries.uz.errorTitle);
    const loadsBefore = requests.filter((r) => r.url.startsWith(app.url) && !r.url.includes('/assets/')).length;

    await page.locator('button[data-locale="ru"]').click();
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.locator('h1').textContent(), dictionaries.ru.errorTitle);
    assert.equal(await page.title(), dictionaries.ru.errorTitle);
    assert.equal(await page.locator('[role="alert"]').textContent(), dictionaries.ru.errorExpired);
    assert.equal(await page.getAttribute('button[data-locale="ru"]', 'aria-pressed'), 'true');
    assert.equal(requests.filter((r) => r.url.startsWith(app.url) && !r.url.includes('/assets/')).length, loadsBefore, 'switched without a request');
    // The stylesheet applied: the brand bar has the sign-in page's colour.
    assert.equal(await page.locator('header.top').evaluate((node) => getComputedStyle(node).backgroundColor), 'rgb(10, 79, 145)');
    await page.screenshot({ path: screenshotPath('error-ru'), fullPage: true });

    await page.goto(`${app.url}/logout`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.locator('h1').textContent(), dictionaries.ru.logoutNothingTitle);

    // The demo agency sends no ui_locales: the sign-in page follows the citizen's choice too.
    await page.goto(`${agency.url}/login`);
    await page.waitForURL(new RegExp(`^${app.url}/login/`));
    await atKeyStep(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.locator('h1').textContent(), dictionaries.ru.title);
    // Chromium logs the 404 page's status as an error; nothing else (no CSP violation, no script error).
    assert.deepEqual(problems.filter((line) => !/status of 404 .*\/login\/A{24}\)$/.test(line)), []);
    await page.close();
  });
});
