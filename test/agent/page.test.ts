// The sign-in page's "key token" way in real Chromium: from the demo agency app through the page
// and the local agent (on its fixed loopback port) to a SoftHSM2 token, and back at the agency
// signed in. Without an agent, or with one too old, the page offers the agent's package; a
// wrong PIN is told in the focused alert; the PIN goes to the agent only, never to the service.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startAgent, type Agent } from '../../agent/server.ts';
import { localeCookie } from '../../src/http/loginPage/languageSwitch.ts';
import { agentOrigin, defaultAgentPort, originOf } from '../../src/login/originBinding.ts';
import { minimumAgentVersion } from '../../src/token/agentRelease.ts';
import { openTokenModule } from '../../src/token/pkcs11.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { softhsmModule, softTokenCitizen, type SoftToken } from '../helpers/softhsm.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { alertText, atKeyStep, launchChromium, record, screenshotPath, startAgency, type Agency, type ChromiumSession } from '../page/helpers.ts';
import { exclusively } from '../helpers/exclusive.ts';

let token: SoftToken;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let agent: Agent | undefined;
let dir: string;

before(async () => {
  const pki = await createTestPki();
  ({ token } = await softTokenCitizen(pki, 'Page test token', 'CN=Token Citizen,1.2.860.3.16.1.2=31201990000077,C=UZ'));
  database = await openTestDatabase('sqlite');
  dir = mkdtempSync(join(tmpdir(), 'yagona-token-page-'));
  app = await startOidcApp({ store: 'memory', database, pki, env: { AGENT_DOWNLOADS_DIR: join(dir, 'downloads') } });
  agency = await startAgency(app, dir);
  chromium = await launchChromium();
});
// Port 47447 is the agent's, fixed: the page calls it and an installed agent listens on it. Set
// up first, so that runs while another file holds the port.
exclusively('agent-port');

after(async () => {
  await agent?.close();
  await chromium?.close();
  await agency?.close();
  await app?.close();
  await database?.cleanup();
  token?.remove();
  rmSync(dir, { recursive: true, force: true });
});

async function tokenStep(): Promise<Page> {
  // Each test starts in the default language: the switch remembers a choice in a cookie.
  await chromium.context.clearCookies({ name: localeCookie });
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/[A-Za-z0-9_-]{24}$`));
  await atKeyStep(page);
  await page.locator('#method-token').click();
  await page.locator('#token-form').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#key-form').isHidden(), true, 'one way at a time');
  return page;
}

test('without the agent, and no package built, the page says so in its language', async () => {
  const page = await tokenStep();
  await page.locator('#token-find').click();
  assert.match(await alertText(page), /agenti topilmadi/);
  await page.locator('#token-install').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#token-install a.download').count(), 0);
  assert.match((await page.locator('#token-install').textContent()) ?? '', /agent paketini taklif qilmaydi/);
  // The language switch reaches the token's sentences too.
  await page.locator('button.lang[data-locale="en"]').click();
  assert.match((await page.locator('#alert').textContent()) ?? '', /The Yagona ID agent was not found/);
  assert.match((await page.locator('#token-install').textContent()) ?? '', /does not offer the agent for your system yet/);
  assert.equal(await page.locator('#method-token').textContent(), 'Key token');
  await page.close();
});

test('an agent older than the page works with is named with its version, and the package is offered', async () => {
  // What agents before 1.1.0 answered: the version as a number; the same CORS as today's.
  const old = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', originOf(app.url));
    res.setHeader('Content-Type', 'application/json');
    res.end(req.url === '/v1/status' ? JSON.stringify({ agent: 'yagona-agent', version: 1, module: softhsmModule }) : '{}');
  }).listen(defaultAgentPort, '127.0.0.1');
  await new Promise((resolve) => old.once('listening', resolve));
  const downloads = join(dir, 'downloads');
  mkdirSync(downloads, { recursive: true });
  // Any bytes will do for the page: it offers what the folder holds under the package's name.
  writeFileSync(join(downloads, 'yagona-agent_9.9.9_amd64.deb'), 'a package');
  try {
    const page = await tokenStep();
    const { requests } = record(page);
    await page.locator('#token-find').click();
    assert.equal(await alertText(page), `Kompyuteringizdagi Yagona ID agenti (1) eskirgan: ${minimumAgentVersion} yoki undan yangi versiya kerak. Yangisini quyidan oʻrnating.`);
    assert.equal(await page.locator('#token-install a.download').getAttribute('href'), '/downloads/agent/yagona-agent_9.9.9_amd64.deb');
    await page.locator('button.lang[data-locale="ru"]').click();
    assert.match((await page.locator('#alert').textContent()) ?? '', /^Агент Yagona ID на этом компьютере \(1\) устарел/);
    assert.match((await page.locator('#token-install a.download').textContent()) ?? '', /^Скачать для Linux/);
    assert.deepEqual(await axeViolations(page), [], 'the install help');
    await page.screenshot({ path: screenshotPath('key-token-agent-too-old'), fullPage: true });
    // The old agent is asked for nothing but its version.
    assert.deepEqual(requests.filter((request) => request.url.startsWith(agentOrigin)).map((request) => new URL(request.url).pathname), ['/v1/status']);
    await page.close();
  } finally {
    rmSync(downloads, { recursive: true, force: true });
    await new Promise((resolve) => old.close(resolve));
  }
});

test('agency → page → key token through the agent → back at the agency, signed in; the PIN reaches only the agent', async () => {
  agent = await startAgent({ module: openTokenModule(softhsmModule), origins: [originOf(app.url)], port: defaultAgentPort });
  const page = await tokenStep();
  const { requests, problems } = record(page);
  await page.locator('#token-find').click();
  const card = page.locator('#token-certificates .identity');
  await card.waitFor();
  assert.match((await card.textContent()) ?? '', /Token Citizen.*Test Qualified Citizen CA/s);

  assert.deepEqual(await axeViolations(page), [], 'the token step with its certificate');

  await page.locator('#token-pin').fill('000000');
  await page.locator('#token-sign').click();
  assert.match(await alertText(page), /PIN-kod notoʻgʻri/);
  assert.equal(await page.getAttribute('#token-pin', 'aria-invalid'), 'true');
  assert.deepEqual(await axeViolations(page), [], 'the token step with an error');

  await page.locator('#token-pin').fill(token.pin);
  await page.screenshot({ path: screenshotPath('key-token-pin') });
  await page.locator('#token-pin').press('Enter');
  await page.waitForURL(`${agency.url}/`);
  assert.equal((await page.locator('#name').textContent()) ?? '', 'Token Citizen');

  for (const request of requests) {
    assert.ok([app.url, agency.url, agentOrigin].some((origin) => request.url.startsWith(origin)), `request to another origin: ${request.url}`);
    if (!request.url.startsWith(agentOrigin)) {
      assert.ok(request.body === null || !request.body.includes(Buffer.from(token.pin)), `the PIN in ${request.method} ${request.url}`);
    }
  }
  const toAgent = requests.filter((request) => request.url.startsWith(agentOrigin)).map((request) => `${request.method} ${new URL(request.url).pathname}`);
  assert.deepEqual(toAgent, ['GET /v1/status', 'GET /v1/certificates', 'POST /v1/sign', 'POST /v1/sign']);
  assert.deepEqual(problems.filter((problem) => !problem.includes(agency.url) && !problem.includes('403')), []);
  await page.close();
});

/** axe-core's WCAG 2.2 A/AA rules on the page as it is now (as test/page/signIn.test.ts runs them). */
async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP admits no such script.
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
  });
  return result.violations.flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${JSON.stringify(node.target)}`));
}
