// A FAPI 2.0 backend (`admin clients add --profile fapi2`) with openid-client v6: its own key
// signs private_key_jwt assertions, the request goes by PAR, every token is DPoP-bound. The
// README quotes the region below, and test/oidc/agencyGuides.test.ts runs it against the real service.
// #region guide
import * as oidc from 'openid-client';

export interface Pending { verifier: string; state: string; nonce: string }
export interface Client { config: oidc.Configuration; dpop: oidc.DPoPHandle }

/**
 * `privateKey`/`kid`: the key whose public half the operator registered (--jwks), ES256 or PS256.
 * The DPoP key must live as long as the tokens bound to it (keep it with the citizen's session).
 */
export async function connect(issuer: URL, clientId: string, privateKey: CryptoKey, kid: string, options?: oidc.DiscoveryRequestOptions): Promise<Client> {
  const config = await oidc.discovery(issuer, clientId, undefined, oidc.PrivateKeyJwt({ key: privateKey, kid }), options);
  return { config, dpop: oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256')) };
}

/** The request is pushed (PAR); the browser's URL carries only client_id and request_uri. */
export async function signInUrl({ config, dpop }: Client, redirectUri: string): Promise<{ url: URL; pending: Pending }> {
  const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri, scope: 'openid profile', state: pending.state, nonce: pending.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
  }, { DPoP: dpop });
  return { url, pending };
}

export const finishSignIn = ({ config, dpop }: Client, callbackUrl: URL, pending: Pending) =>
  oidc.authorizationCodeGrant(config, callbackUrl,
    { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true }, undefined, { DPoP: dpop });

// The refresh token is not rotated (FAPI 2.0 §5.3.2.1): retrying after a lost answer is safe.
export const refresh = ({ config, dpop }: Client, refreshToken: string) =>
  oidc.refreshTokenGrant(config, refreshToken, undefined, { DPoP: dpop });
export const userinfo = ({ config, dpop }: Client, accessToken: string, sub: string) =>
  oidc.fetchUserInfo(config, accessToken, sub, { DPoP: dpop });
export const logoutUrl = ({ config }: Client, idToken: string, postLogoutRedirectUri: string) =>
  oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri });
// #endregion guide
