// A refused algorithm is named on the page (issue 17): a service whose SIGNATURE_ALGORITHMS
// leaves out ozdst refuses the development PKI's O'zDSt key file with 400 unsupported_algorithm,
// and the page's alert says so in Uzbek, Russian and English, naming the algorithm in words and
// by OID as the service's detail does — also after a change of language.
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
import { alertText, atKeyStep, launchChromium, openKey, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

let dir: string;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let citizen: DevCitizen & { password: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yagona-unsupported-page-'));
  const devPki = await createDevPki(join(dir, 'dev'), { issuerUrl: 'http://127.0.0.1:0' });
  assert.ok(devPki.created);
  citizen = devPki.citizens.find((entry) => entry.keyType === 'ozdst-a')!;
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({
    store: 'memory', database, pki: { anchors: [pemToDer(readFileSync(devPki.rootCaFile, 'utf8'))], intermediates: [] },
    env: { SIGNATURE_ALGORITHMS: 'rsa,rsa-pss,ecdsa,ed25519' },
  });
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

test("without the ozdst family, the O'zDSt key file is refused naming the algorithm, in uz, ru and en", async () => {
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/`));
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
  assert.equal(await app.sessionCount(), 0);
  await page.close();
});
