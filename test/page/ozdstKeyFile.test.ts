// An O'zDSt key file in real Chromium (issue 18): the development PKI's O'zDSt citizen opens in
// the page's key-file tab, the page signs the challenge with the gost module's arithmetic, and
// the agency is signed in with the citizen's PINFL as the session's subject — nothing installed.
// A service whose SIGNATURE_ALGORITHMS leaves out ozdst refuses it with unsupported_algorithm,
// and the page's alert names the algorithm in words and by OID in Uzbek, Russian and English
// (issue 17), also after a change of language.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDevPki, type DevCitizen } from '../../src/devPki.ts';
import { dictionaries, fill, locales } from '../../src/http/loginPage/i18n.ts';
import type { TestApp } from '../helpers/app.ts';
import { pemToDer } from '../helpers/pem.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { alertText, atKeyStep, lastSessionPinfl, launchChromium, openKey, record, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

let dir: string;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
/** The same, accepting no O'zDSt (its own database and demo agency). */
let narrow: { database: TestDatabase; app: TestApp; agency: Agency };
let chromium: ChromiumSession;
let citizen: DevCitizen & { password: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yagona-ozdst-page-'));
  const devPki = await createDevPki(join(dir, 'dev'), { issuerUrl: 'http://127.0.0.1:0' });
  assert.ok(devPki.created);
  const found = devPki.citizens.find((entry) => entry.keyType === 'ozdst-a');
  assert.ok(found, "the development PKI has an O'zDSt citizen");
  citizen = found;
  database = await openTestDatabase('sqlite');
  const pki = { anchors: [pemToDer(readFileSync(devPki.rootCaFile, 'utf8'))], intermediates: [] };
  app = await startOidcApp({ store: 'memory', database, pki });
  agency = await startAgency(app, dir);
  const narrowDatabase = await openTestDatabase('sqlite');
  const narrowApp = await startOidcApp({ store: 'memory', database: narrowDatabase, pki, env: { SIGNATURE_ALGORITHMS: 'rsa,rsa-pss,ecdsa,ed25519' } });
  narrow = { database: narrowDatabase, app: narrowApp, agency: await startAgency(narrowApp, join(dir, 'dev')) };
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await agency?.close();
  await app?.close();
  await database?.cleanup();
  await narrow?.agency.close();
  await narrow?.app.close();
  await narrow?.database.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("the development PKI's O'zDSt key file signs in from the key-file tab: session with the PINFL", async () => {
  const page = await chromium.context.newPage();
  const { problems } = record(page);
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/`));
  await atKeyStep(page);
  await openKey(page, { name: 'aziza-yusupova.p12', buffer: readFileSync(citizen.file) }, citizen.password);
  const card = page.locator('#identities .identity');
  await card.waitFor();
  const cardText = (await card.textContent()) ?? '';
  assert.match(cardText, /YUSUPOVA AZIZA KARIMOVNA/);
  assert.match(cardText, /42905950120033/, 'PINFL shown');
  assert.match(cardText, /Yagona Dev O'zDSt Citizen CA/, 'issuer shown');

  await page.locator('#sign').click();
  await page.waitForURL(`${agency.url}/`);
  assert.equal(await page.locator('#name').textContent(), 'YUSUPOVA AZIZA KARIMOVNA');
  assert.equal(await lastSessionPinfl(app), '42905950120033');
  assert.deepEqual(problems.filter((problem) => !problem.includes(agency.url)), []);
  await page.close();
});

test("without the ozdst family the same key file is refused, the algorithm named in uz, ru and en", async () => {
  const page = await chromium.context.newPage();
  await page.goto(`${narrow.agency.url}/login`);
  await page.waitForURL(new RegExp(`^${narrow.app.url}/login/`));
  const client = (await page.getAttribute('#main', 'data-client')) ?? '';
  await atKeyStep(page);
  await openKey(page, { name: 'aziza-yusupova.p12', buffer: readFileSync(citizen.file) }, citizen.password);
  await page.locator('#identities .identity').waitFor();
  await page.locator('#sign').click();
  // The CMS's digest is the first algorithm read: O'zDSt 1106, of the family left out.
  const named = { algorithm: "O'zDSt 1106:2009-2-A hash 1.2.860.3.15.1.3.2.1.1" };
  assert.equal(await alertText(page), fill(dictionaries.uz.errors.unsupported_algorithm, client, named));
  for (const lang of locales) {
    await page.locator(`button[data-locale="${lang}"]`).click();
    assert.equal(await page.locator('#alert').textContent(), fill(dictionaries[lang].errors.unsupported_algorithm, client, named), lang);
  }
  assert.equal(await narrow.app.sessionCount(), 0);
  await page.close();
});
