// The sign-in page's test kit: Debian's Chromium driven by playwright-core (no browser
// download), the real service with the demo agency app in front of it, key files made at
// test time, and a record of every request the page makes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { createAgencyApp, type AgencySettings } from '../../examples/agency-app/server.ts';
import { ensureDemoAgency } from '../../src/oidc/demoAgency.ts';
import { writePkcs12 } from '../../src/pki/pkcs12/pkcs12.ts';
import { eimzoOrigins } from '../../src/http/loginPage/capiws.ts';
import type { TestApp } from '../helpers/app.ts';
import type { Citizen, TestPki } from '../helpers/testPki.ts';
import { pem } from '../helpers/pem.ts';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const artifactsDir = new URL('../../test-artifacts/', import.meta.url).pathname;

export interface ChromiumSession {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile, headless, no network chatter of its own; `ignoreHTTPSErrors` for
 * a test's own loopback TLS (E-IMZO's wss endpoint, whose certificate its installer trusts).
 */
export async function launchChromium(options: { ignoreHTTPSErrors?: boolean } = {}): Promise<ChromiumSession> {
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath}: install Debian's package (apt-get install -y chromium; npm test as root does it)`);
  const profile = mkdtempSync(join(tmpdir(), 'yagona-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Agency {
  url: string;
  settings: AgencySettings;
  close(): Promise<void>;
}

/** The demo agency app (examples/agency-app), registered with the service the way `npm start` does. */
export async function startAgency(app: TestApp, dir: string): Promise<Agency> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const demo = await ensureDemoAgency(app.db.clients, { issuer: app.url, file: join(dir, 'demo-agency.json'), appUrl: url, at: new Date() });
  assert.ok(demo.kind === 'registered', `the demo agency app was not registered afresh: ${demo.kind}`);
  const { settings } = demo;
  server.on('request', await createAgencyApp(settings));
  return {
    url,
    settings,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** A key file as a citizen holds it: key, certificate, citizen CA and root. */
export async function keyFile(pki: TestPki, citizen: Citizen, password: string): Promise<Buffer> {
  return Buffer.from(await writePkcs12({
    privateKey: citizen.privateKey, certDer: citizen.certDer, chainDers: [...citizen.chain, pki.root.certDer], password,
  }));
}

/**
 * One key file holding several citizens (key + certificate each, as some CAs issue a
 * signing and an organisation certificate together): the encrypted parts of single files
 * put side by side under one new MAC.
 */
export async function keyFileOfSeveral(pki: TestPki, citizens: Citizen[], password: string): Promise<Buffer> {
  const safeContents: pkijs.ContentInfo[] = [];
  for (const citizen of citizens) {
    const single = pkijs.PFX.fromBER(toArrayBuffer(await keyFile(pki, citizen, password)));
    const authSafe = pkijs.AuthenticatedSafe.fromBER((single.authSafe.content as asn1js.OctetString).getValue());
    safeContents.push(...authSafe.safeContents);
  }
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe: new pkijs.AuthenticatedSafe({ safeContents }) } });
  await pfx.makeInternalValues({
    password: toArrayBuffer(new TextEncoder().encode(password)), iterations: 2048, pbkdf2HashAlgorithm: 'SHA-256', hmacHashAlgorithm: 'SHA-256',
  });
  return Buffer.from(pfx.toSchema().toBER());
}

/**
 * A key file written by OpenSSL (independent of our writer): `openssl pkcs12 -export` of the
 * citizen with its CA and the root into `dir`, password `pw`, plus `extra` options.
 */
export function opensslKeyFile(pki: TestPki, citizen: Citizen, dir: string, name: string, ...extra: string[]): Buffer {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const chainFile = join(dir, `${name}-chain.pem`);
  const out = join(dir, `${name}.p12`);
  writeFileSync(keyFile, citizen.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(certFile, pem(citizen.certDer));
  writeFileSync(chainFile, citizen.chain.map((der) => pem(der)).join('') + pem(pki.root.certDer));
  const args = ['pkcs12', '-export', '-inkey', keyFile, '-in', certFile, '-certfile', chainFile, '-out', out, '-passout', 'pass:pw', ...extra];
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
  return readFileSync(out);
}

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

export interface Recorded {
  method: string;
  url: string;
  body: Buffer | null;
}

// Chromium reports every refused WebSocket as a console error: the page asking whether E-IMZO
// runs (src/http/loginPage/eimzo.ts) where it does not is expected, not a problem of the page.
const eimzoAbsent = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:64646\/service\/cryptapi' failed/;

/** Every request the page makes, with its body, and every console error or CSP violation (but E-IMZO's absence). */
export function record(page: Page): { requests: Recorded[]; problems: string[] } {
  const requests: Recorded[] = [];
  const problems: string[] = [];
  page.on('request', (request: Request) => { requests.push({ method: request.method(), url: request.url(), body: request.postDataBuffer() }); });
  page.on('console', (message) => { if (message.type() === 'error' && !eimzoAbsent.test(message.text())) problems.push(`${message.text()} (${message.location().url})`); });
  page.on('pageerror', (error) => { problems.push(`page error: ${error.message}`); });
  return { requests, problems };
}

/** The page is on its first step, ready for a key file. */
export async function atKeyStep(page: Page): Promise<void> {
  await page.locator('#key-file').waitFor({ state: 'visible' });
  // The module has run once the language buttons answer; wait for it so no click is lost.
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
}

/** Opens `file` with `password` on the first step. */
export async function openKey(page: Page, file: { name: string; buffer: Buffer }, password: string): Promise<void> {
  await page.locator('#key-file').setInputFiles({ name: file.name, mimeType: 'application/x-pkcs12', buffer: file.buffer });
  await page.locator('#password').fill(password);
  await page.locator('#open').click();
}

/** The alert's text once it is shown, after checking it has the focus. */
export async function alertText(page: Page): Promise<string> {
  const alert = page.locator('#alert[role="alert"]');
  await alert.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'alert', 'focus moves to the alert');
  return (await alert.textContent()) ?? '';
}

/**
 * Sources a sign-in page CSP may name beyond its keywords: none but the key token agent's one
 * loopback origin (src/http/loginPage/keyToken.ts) and E-IMZO's two local endpoints (capiws.ts)
 * in connect-src. Returns what else it names.
 */
export function foreignCspSources(csp: string): string[] {
  const foreign: string[] = [];
  for (const directive of csp.split(';').map((part) => part.trim()).filter(Boolean)) {
    const [name, ...sources] = directive.split(/\s+/);
    for (const source of sources) {
      const loopbackAgent = name === 'connect-src' && (/^http:\/\/127\.0\.0\.1:\d+$/.test(source) || source === eimzoOrigins.http || source === eimzoOrigins.https);
      if (!/^'(none|self|script)'$/.test(source) && !loopbackAgent) foreign.push(`${name} ${source}`);
    }
  }
  return foreign;
}

/** The loopback agent origins the CSP lets the page talk to (none without a key token agent). */
export function agentOrigins(csp: string): string[] {
  return [...csp.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((match) => match[0]);
}

/** The PINFL of the session the last sign-in made (its audit row names the session; the store holds its identity). */
export async function lastSessionPinfl(app: TestApp): Promise<string | undefined> {
  const [event] = await app.db.audit.tail(1);
  assert.equal(event?.type, 'sign_in');
  assert.equal(event.outcome, 'success', `the last sign-in failed: ${event.code ?? ''}`);
  const session = await app.ephemeral.get(`session:${String(event.details?.sid)}`) as { identity?: { pinfl?: string } } | undefined;
  assert.ok(session, 'the session is in the store');
  return session.identity?.pinfl;
}

export function screenshotPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, `${name}.png`);
}
