// A tiny agency web app that signs citizens in with Yagona ID through openid-client.
// Copy it: everything an agency needs is here (code flow + PKCE, userinfo, logout,
// back-channel logout). `npm run demo:agency` starts it against the local service.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import express, { type Request, type Response } from 'express';
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
    const flow = pending.get(cookie(req, 'agency-auth') ?? '');
    if (flow === undefined) return void res.status(400).send('No sign-in in progress');
    pending.delete(cookie(req, 'agency-auth') ?? '');
    // Checks state, iss (RFC 9207), the code exchange with PKCE and the ID token (nonce included).
    const tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, settings.appUrl), {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
    });
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
  return app;
}

function cookie(req: Request, name: string): string | undefined {
  return (req.get('cookie') ?? '').split(';').map((c) => c.trim().split('=')).find(([n]) => n === name)?.[1];
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo agency</title></head><body><h1>Demo agency</h1>${body}</body></html>`;

/** Settings from the environment, or from data/demo-agency.json that the dev `npm start` writes. */
export function loadSettings(env = process.env): AgencySettings {
  if (env.CLIENT_ID !== undefined && env.CLIENT_SECRET !== undefined) {
    return { issuer: env.ISSUER_URL ?? 'http://localhost:8080', clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, appUrl: env.APP_URL ?? 'http://127.0.0.1:3000' };
  }
  try {
    return JSON.parse(readFileSync('data/demo-agency.json', 'utf8')) as AgencySettings;
  } catch {
    throw new Error('no data/demo-agency.json: start the service once with `npm start` (it registers this demo app), or set CLIENT_ID and CLIENT_SECRET');
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const settings = loadSettings();
  const app = await createAgencyApp(settings);
  const { port, hostname } = new URL(settings.appUrl);
  app.listen(Number(port), hostname, () => process.stdout.write(`Demo agency app on ${settings.appUrl} (Yagona ID at ${settings.issuer})\n`));
}
