// The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1.1): code flow only, PKCE S256
// required (RFC 9700 §2.1.1), exact redirect_uri. Until client_id and redirect_uri are both
// proven, errors go to an error page and never to a redirect (RFC 6749 §4.1.2.1).
import type { Clock } from '../clock.ts';
import { OAuthError, type OAuthErrorCode } from '../errors.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import type { ClientRecord, ClientStore, EphemeralStore } from '../stores/types.ts';
import { redirectUriRegistered, supportedScopes } from './clients.ts';
import type { AuthorizationRequest } from './grants.ts';
import { acrValues } from '../login/assurance.ts';
import { verifyIdTokenHint } from './tokens.ts';

export const supportedAcrValues = acrValues;
export const supportedUiLocales = ['uz', 'ru', 'en'] as const;

/** Shown on an HTML page: nothing proves yet that a redirect would reach the client. */
const unverified = (description: string) => new OAuthError('invalid_request', description, { delivery: { via: 'page' } });

export interface AuthorizeDeps {
  issuer: string;
  keys: KeyRing;
  clock: Clock;
  clients: ClientStore;
  store: EphemeralStore;
}

const maxStateLength = 1024;
const maxNonceLength = 512;
/** RFC 9700 §2.1.1: a client re-using a code_challenge is refused for this long. */
const challengeMemorySeconds = 3600;

/** Validates an authorization request in RFC 6749 §4.1.2.1 order; the request to keep, or a thrown error. */
export async function readAuthorizationRequest(deps: AuthorizeDeps, query: Record<string, unknown>): Promise<{ client: ClientRecord; request: AuthorizationRequest }> {
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    // RFC 6749 §3.1: a parameter sent more than once is an invalid request.
    if (typeof value !== 'string') throw unverified(`the parameter ${name} is repeated or malformed`);
    return value;
  };
  for (const name of Object.keys(query)) single(name);

  const clientId = single('client_id');
  if (clientId === undefined || clientId === '') throw unverified('client_id is missing');
  const client = await deps.clients.find(clientId);
  if (client === undefined) throw unverified('this application is not registered with Yagona ID');
  const redirectUri = single('redirect_uri');
  // RFC 9700 §4.1.3: simple string comparison with a registered value, nothing looser (but a
  // native app's loopback port, RFC 8252 §7.3).
  if (redirectUri === undefined || !redirectUriRegistered(client, redirectUri)) {
    throw unverified('the redirect_uri is not registered for this application');
  }
  const state = single('state');
  // Oversized state is refused outright (docs/security-cases.md #110), without echoing it anywhere.
  if (state !== undefined && state.length > maxStateLength) throw unverified(`state is longer than ${maxStateLength} characters`);

  // Read first, so errors too go back the way the client asked (OAuth 2.0 Form Post Response Mode §2).
  const responseMode = single('response_mode');
  const formPost = responseMode === 'form_post';

  // From here on the client and its redirect_uri are proven: errors go back there (§4.1.2.1).
  const fail = (error: OAuthErrorCode, description: string) =>
    new OAuthError(error, description, { delivery: { via: 'redirect', redirectUri, state, ...(formPost ? { responseMode: 'form_post' as const } : {}) } });
  const invalid = (description: string) => fail('invalid_request', description);

  if (responseMode !== undefined && responseMode !== 'query' && !formPost) throw invalid('response_mode is query or form_post');
  // Code flow only (RFC 9700 §2.1.2: no implicit or hybrid, tokens never in the front channel).
  if (single('response_type') !== 'code') throw fail('unsupported_response_type', 'only response_type=code is supported');

  const requested = (single('scope') ?? '').split(' ').filter(Boolean);
  if (!requested.includes('openid')) throw fail('invalid_scope', 'the openid scope is required');
  // OIDC Core §3.1.2.1: scopes not understood are ignored (libraries add `email` by default);
  // the token response names what was granted (RFC 6749 §3.3).
  const scope = requested.filter((s) => (supportedScopes as readonly string[]).includes(s));
  // RFC 6749 §3.3: a scope the client is not registered for is refused, not quietly dropped,
  // so an agency learns at once that it asked for more than it was allowed.
  const beyond = scope.filter((s) => !client.scopes.includes(s));
  if (beyond.length > 0) throw fail('invalid_scope', `this application is not registered for the scope ${beyond.join(' ')}`);

  const codeChallenge = single('code_challenge');
  if (codeChallenge === undefined) throw invalid('code_challenge is required (PKCE, RFC 7636)');
  if (single('code_challenge_method') !== 'S256') throw invalid('code_challenge_method must be S256');
  // RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is always 43 characters.
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) throw invalid('code_challenge is not a base64url SHA-256 value');

  const nonce = single('nonce');
  if (nonce !== undefined && (nonce === '' || nonce.length > maxNonceLength)) throw invalid(`nonce must be 1 to ${maxNonceLength} characters`);

  const prompt = (single('prompt') ?? '').split(' ').filter(Boolean);
  if (prompt.some((p) => !['none', 'login', 'consent', 'select_account'].includes(p))) throw invalid('unknown prompt value');
  if (prompt.includes('none') && prompt.length > 1) throw invalid('prompt=none cannot be combined with other values');

  // max_age and acr_values decide whether a single sign-on session may be reused (oidc/sso.ts);
  // the ID token's auth_time and acr say what the agency got.
  const maxAge = single('max_age');
  if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge)) throw invalid('max_age must be a non-negative integer');
  // OIDC Core §3.1.2.1: voluntary values in order of preference; those we do not know are ignored.
  const acr = single('acr_values')?.split(' ').filter((value) => (supportedAcrValues as readonly string[]).includes(value));
  // §3.1.2.1: the hint names who the agency believes is signed in; an expired one still does.
  const hint = single('id_token_hint');
  const hinted = hint === undefined ? undefined : await verifyIdTokenHint(deps, hint);
  if (hint !== undefined && hinted?.aud !== client.clientId) throw invalid('the id_token_hint is not an ID token Yagona ID issued to this application');
  // Only the locales the page speaks are kept: the stored interaction stays small (RFC 5646 tags are unbounded).
  const uiLocales = single('ui_locales')?.split(' ').filter((tag) => (supportedUiLocales as readonly string[]).includes(tag));

  // RFC 9449 §10: the code will be redeemed only with a DPoP proof of this key.
  const dpopJkt = single('dpop_jkt');
  if (dpopJkt !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(dpopJkt)) throw invalid('dpop_jkt is not a base64url SHA-256 JWK thumbprint (RFC 7638)');

  // RFC 9700 §2.1.1: detect clients that send a constant code_challenge.
  if (!(await deps.store.putIfAbsent(`oidc:pkce-seen:${client.clientId}:${codeChallenge}`, 1, challengeMemorySeconds, { evictable: true }))) {
    throw invalid('this code_challenge was used before; make a new code_verifier for every request');
  }

  return {
    client,
    request: {
      clientId: client.clientId,
      redirectUri,
      scope: [...new Set(scope)],
      codeChallenge,
      ...(state === undefined ? {} : { state }),
      ...(nonce === undefined ? {} : { nonce }),
      ...(uiLocales === undefined ? {} : { uiLocales }),
      ...(formPost ? { responseMode: 'form_post' as const } : {}),
      ...(dpopJkt === undefined ? {} : { dpopJkt }),
      ...(prompt.length === 0 ? {} : { prompt }),
      ...(maxAge === undefined ? {} : { maxAge: Number(maxAge) }),
      ...(acr === undefined || acr.length === 0 ? {} : { acrValues: acr }),
      ...(hinted === undefined ? {} : { hintSub: hinted.sub }),
    },
  };
}

/** RFC 6749 §4.1.2 / §4.1.2.1 with RFC 9207 `iss`: the query string added to the redirect_uri. */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append('iss', issuer);
  return url.href;
}
