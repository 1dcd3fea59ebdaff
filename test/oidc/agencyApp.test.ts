// The integration guide works: examples/agency-app (openid-client) signs a citizen in
// against the real service, shows their name, and signs them out again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAgencyApp } from '../../examples/agency-app/server.ts';
import { signInThroughAgency } from '../../examples/agency-app/sign-in-from-terminal.ts';
import { ensureDemoAgency } from '../../src/oidc/demoAgency.ts';
import type { TestApp } from '../helpers/app.ts';
import { repoPath, tsx } from '../helpers/freshService.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/testPki.ts';
import { Browser, startOidcApp } from './helpers.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let dir: string;
let agency: Server;
let appUrl: string;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki });
  dir = await mkdtemp(join(tmpdir(), 'yagona-agency-'));
  agency = createServer();
  agency.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => agency.once('listening', resolve));
  appUrl = `http://127.0.0.1:${(agency.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => { agency.close(() => resolve()); agency.closeAllConnections(); });
  await app.close();
  await database.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('the demo agency app signs a citizen in, shows their name and signs them out', async () => {
  const file = join(dir, 'demo-agency.json');
  const first = await ensureDemoAgency(app.db.clients, { issuer: app.url, file, appUrl, at: new Date() });
  assert.equal(first.kind, 'registered');
  assert.ok(first.kind === 'registered');
  const saved = JSON.parse(await readFile(file, 'utf8')) as { clientSecret: string };
  assert.equal(saved.clientSecret, first.settings.clientSecret);

  agency.on('request', await createAgencyApp(first.settings));
  const citizen = await pki.citizen();
  const html = await signInThroughAgency(appUrl, { privateKey: citizen.privateKey, certificate: citizen.certDer, chain: citizen.chain });
  assert.match(html, /Signed in as <strong id="name">Citizen \d+<\/strong>/);
});

// Every `error` an authorization response may carry: RFC 6749 §4.1.2.1, then OIDC Core §3.1.2.6,
// then one nobody registered (a provider may add its own).
const callbackErrors = [
  'invalid_request', 'unauthorized_client', 'access_denied', 'unsupported_response_type', 'invalid_scope', 'server_error',
  'temporarily_unavailable', 'interaction_required', 'login_required', 'account_selection_required', 'consent_required',
  'invalid_request_uri', 'invalid_request_object', 'request_not_supported', 'request_uri_not_supported',
  'registration_not_supported', 'x_vendor_specific',
];
const hostile = '<script>alert("x")</script> & \'quoted\'';

/** The agency's /login in a fresh browser: the pending sign-in's cookie and the authorize URL (with its state). */
async function startAtAgency(): Promise<{ browser: Browser; authorize: URL }> {
  const browser = new Browser();
  const res = await browser.fetch(`${appUrl}/login`);
  assert.equal(res.status, 303);
  return { browser, authorize: new URL(res.headers.get('location') ?? '') };
}

/** A failure page: HTML, the status, no stack, no raw markup from the answer. */
async function failurePage(res: Response, status: number): Promise<string> {
  const html = await res.text();
  assert.equal(res.status, status, html);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.doesNotMatch(html, /\bat .*:\d+:\d+|node_modules|Error:|<script/, 'no stack trace, no library text, no markup from the answer');
  assert.match(html, /<a href="\/login">Sign in again<\/a>/);
  return html;
}

test('every error a callback can carry is a page with error and error_description, escaped', async () => {
  for (const error of callbackErrors) {
    const { browser, authorize } = await startAtAgency();
    const callback = new URL(`${appUrl}/callback`);
    callback.search = new URLSearchParams({
      error, error_description: `${error}: ${hostile}`, state: authorize.searchParams.get('state') ?? '', iss: app.url,
    }).toString();
    const html = await failurePage(await browser.fetch(callback.href), 400);
    assert.ok(html.includes(`<code id="error">${error}</code>`), `${error} shown`);
    assert.ok(html.includes(`<dd id="error-description">${error}: &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;quoted&#39;</dd>`), `${error}: description shown escaped`);
    if (error === 'access_denied') assert.match(html, /Sign-in cancelled or refused/);
  }
  const { browser, authorize } = await startAtAgency();
  const bare = await failurePage(await browser.fetch(`${appUrl}/callback?error=access_denied&state=${authorize.searchParams.get('state')}&iss=${encodeURIComponent(app.url)}`), 400);
  assert.match(bare, /<code id="error">access_denied<\/code>/);
  assert.doesNotMatch(bare, /error-description/, 'no description, no empty line for it');
});

test('Yagona ID\'s own error answer (prompt=none: login_required) reaches the page', async () => {
  const { browser, authorize } = await startAtAgency();
  authorize.searchParams.set('prompt', 'none');
  const answer = await fetch(authorize, { redirect: 'manual' });
  assert.equal(answer.status, 303);
  const callback = answer.headers.get('location') ?? '';
  assert.ok(callback.startsWith(`${appUrl}/callback?`), callback);
  const html = await failurePage(await browser.fetch(callback), 400);
  assert.match(html, /<code id="error">login_required<\/code>/);
  assert.match(html, /<dd id="error-description">the citizen must sign in<\/dd>/);
});

test('an answer this browser did not ask for shows nothing of itself', async () => {
  const lure = new URLSearchParams({ error: 'access_denied', error_description: 'Your account is blocked: call +998 00 000 00 00' }).toString();
  // No sign-in in progress: nothing to check the answer against.
  const none = await failurePage(await new Browser().fetch(`${appUrl}/callback?${lure}&state=x&iss=${encodeURIComponent(app.url)}`), 400);
  assert.match(none, /No sign-in in progress/);
  // A sign-in in progress, but another state (RFC 6749 §10.12).
  const { browser } = await startAtAgency();
  const other = await failurePage(await browser.fetch(`${appUrl}/callback?${lure}&state=not-ours&iss=${encodeURIComponent(app.url)}`), 400);
  for (const html of [none, other]) {
    assert.doesNotMatch(html, /blocked|\+998|access_denied/);
  }
  assert.match(other, /does not belong to the sign-in this browser started/);
});

test('a code Yagona ID refuses to exchange: the token endpoint\'s error, escaped, as a 502 page', async () => {
  const { browser, authorize } = await startAtAgency();
  const callback = `${appUrl}/callback?code=not-a-code&state=${authorize.searchParams.get('state')}&iss=${encodeURIComponent(app.url)}`;
  const html = await failurePage(await browser.fetch(callback), 502);
  assert.match(html, /<code id="error">invalid_grant<\/code>/);
});

test('no stack trace anywhere: a body that does not parse gets a page with its 4xx status', async () => {
  const res = await fetch(`${appUrl}/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-7' }, body: 'logout_token=x',
  });
  const html = await res.text();
  assert.equal(res.status, 415, html);
  assert.doesNotMatch(html, /\bat .*:\d+:\d+|node_modules|Error:/);
  assert.match(html, /Bad request/);
});

test('no stack trace at start either: without settings, or with Yagona ID unreachable, one line and exit 1; ISSUER_URL overrides the file\'s issuer', async () => {
  const run = (env: Record<string, string>) => new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, ['--import', tsx, repoPath('examples/agency-app/server.ts')], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error.code as number | null), output: `${stdout}${stderr}` });
    });
  });
  const unset = await run({});
  assert.equal(unset.code, 1);
  assert.equal(unset.output, 'no data/demo-agency.json: start the service once with `npm start` (it registers this demo app), or set CLIENT_ID and CLIENT_SECRET\n');
  const unreachable = await run({ CLIENT_ID: 'demo-agency', CLIENT_SECRET: 'x'.repeat(43), ISSUER_URL: 'http://127.0.0.1:1' });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.output, /^cannot read Yagona ID's discovery at http:\/\/127\.0\.0\.1:1 \(is `npm start` running\?\): [^\n]+\n$/);
  // With the settings file: its issuer, unless ISSUER_URL names another instance sharing the registration.
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data/demo-agency.json'), JSON.stringify({ issuer: 'http://127.0.0.1:2', clientId: 'demo-agency', clientSecret: 'x'.repeat(43), appUrl }));
  assert.match((await run({})).output, /^cannot read Yagona ID's discovery at http:\/\/127\.0\.0\.1:2 /);
  assert.match((await run({ ISSUER_URL: 'http://127.0.0.1:1' })).output, /^cannot read Yagona ID's discovery at http:\/\/127\.0\.0\.1:1 /);
});
