// An O'zDSt key file in real Chromium (issue 18): the development PKI's O'zDSt citizen opens in
// the page's key-file tab, the page signs the challenge with the gost module's arithmetic, and
// the agency is signed in with the citizen's PINFL as the session's subject — nothing installed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDevPki, type DevCitizen } from '../../src/devPki.ts';
import type { TestApp } from '../helpers/app.ts';
import { pemToDer } from '../helpers/pem.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { atKeyStep, lastSessionPinfl, launchChromium, openKey, record, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

let dir: string;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
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
  app = await startOidcApp({ store: 'memory', database, pki: { anchors: [pemToDer(readFileSync(devPki.rootCaFile, 'utf8'))], intermediates: [] } });
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
