// OIDC test kit: the real app with its real issuer URL, clients registered through the same
// function as `admin clients add`, a cookie-keeping "browser" that finishes interactions
// the way docs/api.md describes, and openid-client as the relying party.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import * as oidc from 'openid-client';
import { registerClient, type NewClient } from '../../src/oidc/clients.ts';
import type { ClientRecord } from '../../src/stores/types.ts';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';

export { oidc };

export const combos = [
  { store: 'redis', database: 'postgres' },
  { store: 'memory', database: 'sqlite' },
] as const;

export function startOidcApp(options: Omit<TestAppOptions, 'realIssuer'>): Promise<TestApp> {
  return startTestApp({ ...options, realIssuer: true });
}

/** The file's one app and citizen, filled in by its `before` hook; its database and PKI for a second app (another clock). */
export interface FileApp {
  app: TestApp;
  citizen: Citizen;
  database: TestDatabase;
  pki: TestPki;
}

/** For a test file: the real app on Redis + PostgreSQL (its own schema) and a citizen, started before its tests, closed after. */
export function appOnRedisAndPostgres(): FileApp {
  const file = {} as FileApp;
  before(async () => {
    file.pki = await createTestPki();
    file.database = await openTestDatabase('postgres');
    file.app = await startOidcApp({ store: 'redis', database: file.database, pki: file.pki });
    file.citizen = await file.pki.citizen();
  });
  after(async () => {
    await file.app.close();
    await file.database.cleanup();
  });
  return file;
}

export const redirectUri = 'https://agency.example/callback';

export interface TestClient {
  client: ClientRecord;
  secret: string | undefined;
}

export async function addClient(app: TestApp, input: Partial<NewClient> = {}): Promise<TestClient> {
  const { client, clientSecret } = await registerClient(app.db.clients, {
    name: 'Test agency', redirectUris: [redirectUri], postLogoutRedirectUris: ['https://agency.example/signed-out'], ...input,
  }, new Date());
  return { client, secret: clientSecret };
}

/** openid-client configured by discovery, as an agency app would be. */
export async function relyingParty(app: TestApp, { client, secret }: TestClient, auth?: oidc.ClientAuth): Promise<oidc.Configuration> {
  const clientAuth = auth ?? (client.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret));
  return oidc.discovery(new URL(app.url), client.clientId, undefined, clientAuth, { execute: [oidc.allowInsecureRequests] });
}

/** A browser's cookie jar for the service's origin, and fetch without following redirects. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** A cookie put there by someone else (another site, an attacker on the network). */
  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (name && value !== undefined) this.cookies.set(name.trim(), value);
    }
    return res;
  }
}

export interface AuthorizationStart {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

export async function authorizationUrl(config: oidc.Configuration, extra: Record<string, string> = {}): Promise<AuthorizationStart> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url, state, nonce, verifier };
}

/** GET /authorize → 303 /login/{id}; returns the interaction URL. */
export async function startInteraction(app: TestApp, browser: Browser, url: URL): Promise<string> {
  const res = await browser.fetch(url.href);
  assert.equal(res.status, 303, `authorize answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location') ?? '', url).href;
  assert.match(location, new RegExp(`^${app.url}/login/[A-Za-z0-9_-]{24}$`));
  return location;
}

/** The interaction finished as docs/api.md says: challenge, sign, POST /login/{id} → redirectTo. */
export async function signInAt(app: TestApp, browser: Browser, loginUrl: string, citizen: Citizen): Promise<Response> {
  const challenge = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
  return browser.fetch(loginUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmsBody(citizen, challenge.id, challenge.challenge)),
  });
}

/** The whole front channel: authorize, sign in, and the callback URL with code, state and iss. */
export async function callbackUrl(app: TestApp, url: URL, citizen: Citizen, browser = new Browser()): Promise<URL> {
  const loginUrl = await startInteraction(app, browser, url);
  const res = await signInAt(app, browser, loginUrl, citizen);
  assert.equal(res.status, 200, await res.clone().text());
  const { redirectTo } = (await res.json()) as { redirectTo: string };
  return new URL(redirectTo);
}

export interface SignedIn {
  start: AuthorizationStart;
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
}

/** Code flow end to end through openid-client, with its state, nonce, PKCE and iss checks. */
export async function signInWithCode(app: TestApp, config: oidc.Configuration, citizen: Citizen, extra: Record<string, string> = {}, browser = new Browser()): Promise<SignedIn> {
  const start = await authorizationUrl(config, extra);
  const callback = await callbackUrl(app, start.url, citizen, browser);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });
  return { start, tokens };
}

/**
 * RP-initiated logout in the citizen's browser. When the logout page asks (other agencies in
 * the session, or a hint from another browser), `end` answers it: this agency, or all.
 */
export async function logoutIn(browser: Browser, config: oidc.Configuration, params: Record<string, string>, end?: 'agency' | 'all'): Promise<Response> {
  const url = oidc.buildEndSessionUrl(config, params);
  const res = await browser.fetch(url.href);
  if (end === undefined) return res;
  const html = await res.text();
  const id = /name="logout_id" value="([A-Za-z0-9_-]+)"/.exec(html)?.[1];
  assert.ok(id, `the logout page asks nothing: ${html}`);
  assert.ok(html.includes(`value="${end}"`), `the logout page does not offer ${end}`);
  return browser.fetch(new URL('/logout/confirm', url).href, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_id: id, end }),
  });
}

/** A plain form POST to a token-style endpoint with HTTP Basic. */
export async function postForm(url: string, params: Record<string, string>, basic?: { id: string; secret: string }): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  return fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
}

/** An agency's back-channel logout endpoint that records what it receives. */
export interface LogoutReceiver {
  url: string;
  received: string[];
  next(): Promise<string>;
  close(): Promise<void>;
}

/** `failures`: the first requests answered 500, as an agency restarting would. */
export async function logoutReceiver(failures = 0): Promise<LogoutReceiver> {
  const received: string[] = [];
  const waiting: Array<(token: string) => void> = [];
  let consumed = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token') ?? '';
      received.push(token);
      const waiter = waiting.shift();
      if (waiter !== undefined) {
        consumed += 1;
        waiter(token);
      }
      res.writeHead(received.length <= failures ? 500 : 200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`;
  return {
    url,
    received,
    next: () => new Promise<string>((resolve, reject) => {
      const ready = received[consumed];
      if (ready !== undefined) {
        consumed += 1;
        resolve(ready);
        return;
      }
      const timer = setTimeout(() => reject(new Error('no logout token within 3 s')), 3000);
      waiting.push((token) => { clearTimeout(timer); resolve(token); });
    }),
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
