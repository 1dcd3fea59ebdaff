// A tiny agency web app that signs citizens in with Yagona ID through openid-client.
// Copy it: everything an agency needs is here (code flow + PKCE, userinfo, logout,
// back-channel logout). `npm run demo:agency` starts it against the local service.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

export interface AgencySettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** This app's own base URL, as registered (`<appUrl>/callback`). */
  appUrl: string;
}

interface SignedIn {
  idToken: string;
  sid: string;
  claims: Record<string, unknown>;
}

export async function createAgencyApp(settings: AgencySettings): Promise<express.Express> {
  // Discovery reads every endpoint from /.well-known/openid-configuration.
  const config = await oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), {
    // Only for a local http issuer; production issuers are https.
    ...(settings.issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string));
  const pending = new Map<string, { verifier: string; state: string; nonce: string }>();
  const sessions = new Map<string, SignedIn>();
  const redirectUri = `${settings.appUrl}/callback`;

  const app = express();
  app.get('/', (req, res) => {
    const session = sessions.get(cookie(req, 'agency-session') ?? '');
    res.type('html').send(session === undefined
      ? page('<a href="/login">Sign in with Yagona ID</a>')
      : page(`<p>Signed in as <strong id="name">${escape(String(session.claims.name ?? session.claims.sub))}</strong></p><a href="/logout">Sign out</a>`));
  });

  app.get('/login', async (_req, res) => {
    // PKCE, state and nonce are fresh for every sign-in and kept server-side.
    const verifier = oidc.randomPKCECodeVerifier();
    const flow = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
    const key = randomBytes(16).toString('base64url');
    pending.set(key, flow);
    res.cookie('agency-auth', key, { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60_000 });
    res.redirect(303, oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile', state: flow.state, nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href);
  });

  app.get('/callback', async (req, res) => {
    const key = cookie(req, 'agency-auth') ?? '';
    const flow = pending.get(key);
    // Without our own pending sign-in there is no `state` to check the answer against (RFC 6749
    // §10.12), so nothing of it is shown: error_description is text anyone can put in a link.
    if (flow === undefined) return void res.status(400).type('html').send(failurePage('No sign-in in progress', 'Start again from this app.'));
    pending.delete(key);
    res.clearCookie('agency-auth');
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      // Checks state, iss (RFC 9207), the code exchange with PKCE and the ID token (nonce included);
      // an error answer (RFC 6749 §4.1.2.1) throws only after its state and iss were checked.
      tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, settings.appUrl), {
        pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
    } catch (error) {
      const failure = callbackFailure(error);
      return void res.status(failure.status).type('html').send(failurePage(failure.heading, failure.text, failure.error));
    }
    const claims = tokens.claims() as oidc.IDToken;
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    const id = randomBytes(16).toString('base64url');
    sessions.set(id, { idToken: tokens.id_token as string, sid: String(claims.sid), claims: { ...userinfo } });
    res.cookie('agency-session', id, { httpOnly: true, sameSite: 'lax' });
    res.redirect(303, '/');
  });

  app.get('/logout', (req, res) => {
    const id = cookie(req, 'agency-session') ?? '';
    const session = sessions.get(id);
    sessions.delete(id);
    res.clearCookie('agency-session');
    if (session === undefined) return void res.redirect(303, '/');
    // RP-initiated logout: Yagona ID ends the sign-in and comes back to a registered URI.
    res.redirect(303, oidc.buildEndSessionUrl(config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${settings.appUrl}/` }).href);
  });

  // OIDC Back-Channel Logout 1.0: Yagona ID says a sign-in ended (logout elsewhere, revoked certificate).
  app.post('/backchannel-logout', express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    try {
      const { payload } = await jwtVerify(String((req.body as Record<string, unknown>).logout_token), jwks, {
        issuer: config.serverMetadata().issuer, audience: settings.clientId, typ: 'logout+jwt', algorithms: ['ES256'], requiredClaims: ['sid', 'events'],
      });
      const events = payload.events as Record<string, unknown>;
      if (!('http://schemas.openid.net/event/backchannel-logout' in events) || 'nonce' in payload) throw new Error('not a logout token');
      for (const [id, session] of sessions) if (session.sid === payload.sid) sessions.delete(id);
      res.set('Cache-Control', 'no-store').status(200).end();
    } catch {
      res.status(400).json({ error: 'invalid_request' });
    }
  });
  // Last in line: whatever else fails (a body that does not parse, userinfo unreachable) gets a
  // page and a status, never Express's default page, which shows the stack outside production.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    report(error);
    const status = clientErrorStatus(error) ?? 500;
    res.status(status).type('html').send(failurePage(status === 500 ? 'Something went wrong' : 'Bad request', 'Please start again from this app.'));
  });
  return app;
}

interface CallbackFailure {
  status: number;
  heading: string;
  text: string;
  /** What the provider answered: `error` and `error_description`, shown escaped. */
  error?: { code: string; description: string | undefined };
}

/**
 * An error answer at the callback: any `error` of RFC 6749 §4.1.2.1 or OIDC Core §3.1.2.6
 * (access_denied, login_required, …, or one we do not know yet) is shown as sent, escaped;
 * a refused code exchange (RFC 6749 §5.2) likewise; anything else without library text.
 */
function callbackFailure(error: unknown): CallbackFailure {
  if (error instanceof oidc.AuthorizationResponseError) {
    return {
      status: 400,
      heading: error.error === 'access_denied' ? 'Sign-in cancelled or refused' : 'Sign-in did not complete',
      text: 'Yagona ID answered:',
      error: { code: error.error, description: error.error_description },
    };
  }
  report(error);
  if (error instanceof oidc.ResponseBodyError) {
    return { status: 502, heading: 'Sign-in did not complete', text: 'Yagona ID refused to finish the sign-in:', error: { code: error.error, description: error.error_description } };
  }
  if (error instanceof oidc.ClientError) {
    return { status: 400, heading: 'Sign-in did not complete', text: 'The answer does not belong to the sign-in this browser started (state, issuer or ID token). Please start again.' };
  }
  return { status: 502, heading: 'Sign-in did not complete', text: 'Yagona ID could not be reached to finish the sign-in. Please try again.' };
}

function failurePage(heading: string, text: string, error?: CallbackFailure['error']): string {
  const answer = error === undefined ? '' : `<dl><dt>error</dt><dd><code id="error">${escape(error.code)}</code></dd>${
    error.description === undefined ? '' : `<dt>error_description</dt><dd id="error-description">${escape(error.description)}</dd>`}</dl>`;
  return page(`<h2>${escape(heading)}</h2><p>${escape(text)}</p>${answer}<p><a href="/login">Sign in again</a> · <a href="/">Home</a></p>`);
}

/** A 4xx a middleware attached to its error (body-parser's `status`), else undefined. */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** One line for the operator: never the stack, never in the page. */
function report(error: unknown): void {
  process.stderr.write(`demo agency: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
}

function cookie(req: Request, name: string): string | undefined {
  return (req.get('cookie') ?? '').split(';').map((c) => c.trim().split('=')).find(([n]) => n === name)?.[1];
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo agency</title></head><body><h1>Demo agency</h1>${body}</body></html>`;

/**
 * Settings from the environment, or from data/demo-agency.json that the dev `npm start` writes.
 * ISSUER_URL, when set, also overrides the file's issuer: dev instances sharing a database share
 * the registration, so the same file serves the demo against any of them.
 */
export function loadSettings(env = process.env): AgencySettings {
  if (env.CLIENT_ID !== undefined && env.CLIENT_SECRET !== undefined) {
    return { issuer: env.ISSUER_URL ?? 'http://localhost:8080', clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, appUrl: env.APP_URL ?? 'http://127.0.0.1:3000' };
  }
  let saved: AgencySettings;
  try {
    saved = JSON.parse(readFileSync('data/demo-agency.json', 'utf8')) as AgencySettings;
  } catch {
    throw new Error('no data/demo-agency.json: start the service once with `npm start` (it registers this demo app), or set CLIENT_ID and CLIENT_SECRET');
  }
  return env.ISSUER_URL === undefined ? saved : { ...saved, issuer: env.ISSUER_URL };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const settings = loadSettings();
    const app = await createAgencyApp(settings).catch((error: unknown) => {
      throw new Error(`cannot read Yagona ID's discovery at ${settings.issuer} (is \`npm start\` running?): ${error instanceof Error ? error.message : String(error)}`);
    });
    const { port, hostname } = new URL(settings.appUrl);
    app.listen(Number(port), hostname, () => process.stdout.write(`Demo agency app on ${settings.appUrl} (Yagona ID at ${settings.issuer})\n`));
  } catch (error) {
    // One line, as the service's own start does; a stack helps nobody who runs a demo.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
