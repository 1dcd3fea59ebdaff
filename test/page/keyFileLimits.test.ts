// Hostile key files in real Chromium: a file asking for 2 000 000 iterations is refused before
// any key is derived, in each language, and a file at the cap opens while the page keeps
// answering the citizen (the MAC derivation hands the page back between slices).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { dictionaries, locales } from '../../src/http/loginPage/i18n.ts';
import { maxIterations } from '../../src/pki/pkcs12/open.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/testPki.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { alertText, atKeyStep, launchChromium, openKey, opensslKeyFile, record, startAgency, type Agency, type ChromiumSession } from './helpers.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let dir: string;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki });
  dir = mkdtempSync(join(tmpdir(), 'yagona-page-limits-'));
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

async function fromAgency(): Promise<Page> {
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/[A-Za-z0-9_-]{24}$`));
  await atKeyStep(page);
  return page;
}

describe('key files with hostile iteration counts, in Chromium', () => {
  test('2 000 000 iterations: refused with the right password, in uz, ru and en; nothing is sent', async (t) => {
    const citizen = await pki.citizen();
    const file = opensslKeyFile(pki, citizen, dir, 'two-million', '-iter', '2000000');
    const page = await fromAgency();
    const { requests, problems } = record(page);
    const started = Date.now();
    await openKey(page, { name: 'kalit.p12', buffer: file }, 'pw');
    assert.equal(await alertText(page), dictionaries.uz.errors.too_many_iterations);
    t.diagnostic(`refused ${Date.now() - started} ms after the click (Playwright's round trips included)`);
    assert.equal(await page.getAttribute('#key-file', 'aria-invalid'), 'true');
    for (const locale of locales) {
      await page.locator(`button[data-locale="${locale}"]`).click();
      assert.equal(await page.locator('#alert').textContent(), dictionaries[locale].errors.too_many_iterations, locale);
    }
    assert.deepEqual(requests.filter((request) => request.method === 'POST'), [], 'no challenge was asked for');
    assert.equal(await page.locator('#sign-form').isVisible(), false);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`a MAC at the cap (${maxIterations} iterations) is checked while the page keeps turning, then the file signs in`, async (t) => {
    const citizen = await pki.citizen();
    // Plain bags, so the MAC is the only derivation and nothing else runs off the page's thread.
    const file = opensslKeyFile(pki, citizen, dir, 'mac-at-cap', '-iter', String(maxIterations), '-keypbe', 'NONE', '-certpbe', 'NONE');
    const page = await fromAgency();
    // Counts the page's turns (a message to itself, as a click or a keystroke would be a task)
    // from the click on "open" until the certificate is shown.
    await page.evaluate(() => {
      const channel = new MessageChannel();
      let turns = 0;
      channel.port1.onmessage = () => {
        turns += 1;
        if (document.getElementById('sign-form')?.hidden === false) document.documentElement.dataset.turns = String(turns);
        else channel.port2.postMessage(undefined);
      };
      document.getElementById('open')?.addEventListener('click', () => channel.port2.postMessage(undefined));
    });
    const started = Date.now();
    await openKey(page, { name: 'kalit.p12', buffer: file }, 'pw');
    await page.locator('#identities .identity').waitFor();
    const turns = Number(await page.waitForFunction(() => document.documentElement.dataset.turns).then((handle) => handle.jsonValue()));
    t.diagnostic(`opened ${Date.now() - started} ms after the click; the page turned ${turns} times meanwhile`);
    // At least one turn per 10 000 iterations; pkijs's loop, run in one go, left a handful.
    assert.ok(turns >= maxIterations / 10_000, `${turns} turns`);
    await page.locator('#sign').click();
    await page.waitForURL(`${agency.url}/`);
    assert.match((await page.locator('#name').textContent()) ?? '', /^Citizen \d+$/);
    await page.close();
  });
});
