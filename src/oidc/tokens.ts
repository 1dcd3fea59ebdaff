// The JWTs the OP issues to agency apps besides access tokens: ID tokens (OIDC Core §2) and
// logout tokens (OIDC Back-Channel Logout 1.0 §2.4), and the pairwise subject (OIDC Core §8.1).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import type { ClientRecord } from '../stores/types.ts';
import { signingAlgorithms, type KeyRing, type SigningAlgorithm } from '../keys/keyRing.ts';
import { grantTtlSeconds } from './grants.ts';

/** Short: the ID token only carries the authentication event to the client once. */
export const idTokenTtlSeconds = 300;
const logoutTokenTtlSeconds = 120;

/**
 * OIDC Core §8.1 pairwise identifier: HMAC-SHA256 keyed with the client's own random salt
 * over the citizen's direct-API subject (national identifier or certificate). Stable for
 * the client, unlinkable across clients; a client removed and registered again gets new
 * subjects. `public` clients share the service's one salt (§8: the same sub at each), so
 * their sub is opaque too: the PINFL and TIN only ever travel with the national_id scope.
 */
export function clientSubject(client: Pick<ClientRecord, 'subjectSalt'>, directSubject: string): string {
  return createHmac('sha256', client.subjectSalt).update(directSubject, 'utf8').digest('base64url');
}

/**
 * How long a retired signing key stays published: until nothing it signed can be presented any
 * more — an access token (SESSION_TTL_SECONDS), or an ID token as a logout or authorize hint,
 * accepted expired for as long as its sign-in could live (verifyIdTokenHint).
 */
export function signingKeyRetentionSeconds(sessionTtlSeconds: number): number {
  return Math.max(sessionTtlSeconds, idTokenTtlSeconds + grantTtlSeconds);
}

export interface IdTokenInput {
  issuer: string;
  clientId: string;
  sub: string;
  sid: string;
  authTime: number;
  acr: string;
  amr: string[];
  nonce?: string;
  now: number;
  /** The client's id_token_signed_response_alg (OIDC Registration §2). */
  alg: SigningAlgorithm;
  /** The access token issued with it, for at_hash. */
  accessToken: string;
  /** Identity claims the grant's scopes release (resources.ts claimsFor), `sub` aside. */
  claims?: Record<string, unknown>;
}

/**
 * OIDC Core §3.1.3.6 / §3.2.2.9: base64url of the left half of the access token's hash, with
 * the hash of the ID token's algorithm (SHA-256 for every algorithm offered here). A client
 * holding both can tell they were issued together.
 */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}

export function signIdToken(keys: KeyRing, input: IdTokenInput): string {
  return keys.signJwt({
    ...input.claims,
    iss: input.issuer,
    sub: input.sub,
    aud: input.clientId,
    // OIDC Core §2: azp when the ID token has a single audience is optional; it makes the
    // intended party explicit for libraries that check it.
    azp: input.clientId,
    iat: input.now,
    exp: input.now + idTokenTtlSeconds,
    auth_time: input.authTime,
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    acr: input.acr,
    amr: input.amr,
    sid: input.sid,
    at_hash: accessTokenHash(input.accessToken),
  }, 'JWT', input.alg);
}

export function signLogoutToken(keys: KeyRing, input: { issuer: string; clientId: string; sub: string; sid: string; now: number }): string {
  // §2.4: no nonce (so it cannot pass as an ID token), the back-channel logout event, and
  // explicit typing `logout+jwt` (§2.4, RFC 8725 §3.11).
  return keys.signJwt({
    iss: input.issuer,
    aud: input.clientId,
    iat: input.now,
    exp: input.now + logoutTokenTtlSeconds,
    jti: randomBytes(16).toString('base64url'),
    sub: input.sub,
    sid: input.sid,
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  }, 'logout+jwt');
}

/** What an id_token_hint says (OIDC Core §3.1.2.1, RP-Initiated Logout §2): for whom, which session, whose sign-in. */
export interface IdTokenHint {
  aud: string;
  sid: string;
  sub: string;
}

/**
 * Our own ID token, signature and issuer checked; expired ones are fine as hints (RP-Initiated
 * Logout §2: the agency may hold only an old one) for as long as its sign-in could last.
 * Undefined for anything else.
 */
export async function verifyIdTokenHint(deps: { issuer: string; keys: KeyRing; clock: Clock }, hint: string): Promise<IdTokenHint | undefined> {
  try {
    const { payload } = await jwtVerify(
      hint,
      async (header) => {
        const key = header.kid === undefined ? undefined : await deps.keys.publicKey(header.kid);
        if (key === undefined) throw new Error('unknown kid');
        return key;
      },
      // typ JWT: an access token (at+jwt) or logout token is no ID token (RFC 8725 §3.11).
      // Any algorithm the key ring signs ID tokens with; each kid is bound to its own.
      { algorithms: [...signingAlgorithms], issuer: deps.issuer, typ: 'JWT', currentDate: deps.clock.now(), clockTolerance: grantTtlSeconds, requiredClaims: ['aud', 'sid', 'sub', 'auth_time'] },
    );
    if (typeof payload.aud !== 'string' || typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return undefined;
    return { aud: payload.aud, sid: payload.sid, sub: payload.sub };
  } catch {
    return undefined;
  }
}
