// A native app (`admin clients add --type native`: public, no secret) with openid-client v6:
// PKCE, a loopback redirect on a port of the app's choosing (RFC 8252 §7.3), the code and
// every token bound to a DPoP key that never leaves the device. The README quotes the region
// below, and test/oidc/agencyGuides.test.ts runs it against the real service.
// #region guide
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oidc from 'openid-client';

export interface App { config: oidc.Configuration; dpop: oidc.DPoPHandle; jkt: string }

/** No secret (oidc.None()); keep the DPoP key pair in the platform's key store, not extractable. */
export async function connect(issuer: URL, clientId: string, options?: oidc.DiscoveryRequestOptions): Promise<App> {
  const config = await oidc.discovery(issuer, clientId, undefined, oidc.None(), options);
  const keys = await oidc.randomDPoPKeyPair('ES256');
  return { config, dpop: oidc.getDPoPHandle(config, keys), jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)) };
}

/** Listen on 127.0.0.1 (any free port), open the system browser, wait for its one callback. */
export async function signIn(app: App, openSystemBrowser: (url: URL) => Promise<void>) {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const callback = new Promise<URL>((resolve) => server.on('request', (req, res) => {
    res.writeHead(200, { connection: 'close' }).end('Signed in: return to the app.');
    resolve(new URL(req.url ?? '/', redirectUri));
  }));
  const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
  try {
    // dpop_jkt (RFC 9449 §10): a code caught by another app is useless without this device's key.
    await openSystemBrowser(oidc.buildAuthorizationUrl(app.config, {
      redirect_uri: redirectUri, scope: 'openid profile', state: pending.state, nonce: pending.nonce, dpop_jkt: app.jkt,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
    }));
    return await oidc.authorizationCodeGrant(app.config, await callback,
      { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true }, undefined, { DPoP: app.dpop });
  } finally {
    server.close();
  }
}

// The refresh token is bound to the key and kept: a retry on a flaky network is safe.
export const refresh = (app: App, refreshToken: string) => oidc.refreshTokenGrant(app.config, refreshToken, undefined, { DPoP: app.dpop });
export const userinfo = (app: App, accessToken: string, sub: string) => oidc.fetchUserInfo(app.config, accessToken, sub, { DPoP: app.dpop });
/** Open in the system browser; it comes back to the app's registered scheme (uz.gov.agency.app:/signed-out). */
export const logoutUrl = (app: App, idToken: string, postLogoutRedirectUri: string) =>
  oidc.buildEndSessionUrl(app.config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri });
// #endregion guide
