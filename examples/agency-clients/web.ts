// A web backend (a confidential client with a secret) signing citizens in with openid-client
// v6: the code flow with PKCE, refresh, userinfo and logout. The README quotes the region
// below, and test/oidc/agencyGuides.test.ts runs it against the real service.
// #region guide
import * as oidc from 'openid-client';

export interface Pending { verifier: string; state: string; nonce: string }

// `options`: only a local http issuer needs { execute: [oidc.allowInsecureRequests] }.
export const connect = (issuer: URL, clientId: string, clientSecret: string, options?: oidc.DiscoveryRequestOptions) =>
  oidc.discovery(issuer, clientId, undefined, oidc.ClientSecretBasic(clientSecret), options);

/** Send the browser to `url`; keep `pending` in the browser's session on your side. */
export async function signInUrl(config: oidc.Configuration, redirectUri: string): Promise<{ url: URL; pending: Pending }> {
  const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile', state: pending.state, nonce: pending.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
  });
  return { url, pending };
}

/** The browser came back to redirect_uri: state, iss, the ID token and its nonce are checked here. */
export const finishSignIn = (config: oidc.Configuration, callbackUrl: URL, pending: Pending) =>
  oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });

// Each refresh returns a new refresh token: store it, the old one is spent.
export const refresh = (config: oidc.Configuration, refreshToken: string) => oidc.refreshTokenGrant(config, refreshToken);
export const userinfo = (config: oidc.Configuration, accessToken: string, sub: string) => oidc.fetchUserInfo(config, accessToken, sub);
/** Send the citizen's browser here (not a backend request): the service asks, ends the session, and comes back. */
export const logoutUrl = (config: oidc.Configuration, idToken: string, postLogoutRedirectUri: string) =>
  oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri });
// #endregion guide
