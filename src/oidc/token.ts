// The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): authorization_code and refresh_token
// grants, each one straight recipe. The access token is the service's own session JWT, so
// logout and certificate revocation reach agency apps like every other session.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { OAuthError, ServiceError, isOAuthError, isServiceError } from '../errors.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { AuditStore, ClientRecord, RateLimiter, RevocationStore } from '../stores/types.ts';
import type { BackChannel } from './backChannel.ts';
import { authenticateClient, claimedClientId, type ClientAuthDeps } from './clientAuth.ts';
import { sha256, type Grant, type Grants } from './grants.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import { claimsFor } from './resources.ts';
import { signIdToken } from './tokens.ts';

export interface TokenDeps extends ClientAuthDeps {
  grants: Grants;
  sessions: Sessions;
  keys: KeyRing;
  revocations: RevocationStore;
  backChannel: BackChannel;
  audit: AuditStore;
  /** Failed token requests per claimed client_id (RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE). */
  tokenFailures: RateLimiter;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  id_token: string;
  scope: string;
}

/** Form parameters as single strings; a repeated one is an invalid request (RFC 6749 §3.2). */
export function formParams(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `the parameter ${name} is repeated`);
    if (value !== '') out[name] = value;
  }
  return out;
}

/**
 * Failures count per client_id: past the limit the client is refused before anything is
 * checked, so guessing its secret or replaying codes stops there until the window ends.
 */
export async function tokenRequest(deps: TokenDeps, authorization: string | undefined, params: Record<string, string>): Promise<TokenResponse> {
  const claimed = claimedClientId(authorization, params);
  // Hashed: the id is whatever the request says, of any length.
  const key = claimed === undefined ? undefined : sha256(claimed);
  if (key !== undefined) {
    const verdict = await deps.tokenFailures.peek(key);
    if (!verdict.allowed) {
      throw new ServiceError('rate_limited', 'too many failed token requests for this client; try again later', { retryAfterSeconds: verdict.retryAfterSeconds });
    }
  }
  try {
    return await grantTokens(deps, authorization, params);
  } catch (error) {
    if (key !== undefined && isOAuthError(error) && error.status < 500) await deps.tokenFailures.hit(key);
    throw error;
  }
}

async function grantTokens(deps: TokenDeps, authorization: string | undefined, params: Record<string, string>): Promise<TokenResponse> {
  const client = await authenticateClient(deps, authorization, params);
  switch (params.grant_type) {
    case 'authorization_code': return redeemCode(deps, client, params);
    case 'refresh_token': return refresh(deps, client, params);
    case undefined: throw new OAuthError('invalid_request', 'grant_type is missing');
    // RFC 9700 §2.4 (no password grant), no implicit, no client_credentials for citizens' data.
    default: throw new OAuthError('unsupported_grant_type', 'only authorization_code and refresh_token are supported');
  }
}

/** RFC 6749 §4.1.3 + RFC 7636 §4.6. The code is burnt first, so every failure uses it up. */
async function redeemCode(deps: TokenDeps, client: ClientRecord, params: Record<string, string>): Promise<TokenResponse> {
  const code = required(params, 'code');
  const taken = await deps.grants.takeCode(code);
  if ('reusedBy' in taken) {
    // RFC 6749 §4.1.2 / §10.5: a second redemption means the code leaked; revoke what the
    // first one produced.
    await auditReuse(deps, client, 'authorization_code', taken.reusedBy, await deps.grants.end(taken.reusedBy));
    throw invalidGrant('the authorization code was used before; its tokens are revoked');
  }
  if ('unknown' in taken) throw invalidGrant('the authorization code is unknown or expired');
  const record = taken.found;
  try {
    assertCodeFor(record, client, params, deps.clock);
  } catch (error) {
    // A failed redemption leaves nothing usable behind.
    await deps.grants.end(record.grantId);
    throw error;
  }
  const grant = await liveGrant(deps, record.grantId);
  const session = await deps.sessions.authenticate(record.accessToken, client.clientId).catch((error: unknown) => {
    if (isServiceError(error) && error.code === 'session_invalid') throw invalidGrant('the sign-in has ended');
    throw error;
  });
  const refreshToken = await deps.grants.renew(grant, undefined);
  if (refreshToken === undefined) throw invalidGrant('the sign-in has ended');
  await deps.grants.codeRedeemed(code, grant.grantId);
  return tokenResponse(deps, client, grant, record.accessToken, session.expiresAt, refreshToken, grant.nonce);
}

function assertCodeFor(record: { clientId: string; redirectUri: string; codeChallenge: string; expiresAt: number }, client: ClientRecord, params: Record<string, string>, clock: Clock): void {
  if (record.expiresAt <= clock.now().getTime()) throw invalidGrant('the authorization code has expired');
  if (record.clientId !== client.clientId) throw invalidGrant('the authorization code was issued to another client');
  if (params.redirect_uri !== record.redirectUri) throw invalidGrant('redirect_uri differs from the authorization request');
  const verifier = params.code_verifier;
  if (verifier === undefined) throw invalidGrant('code_verifier is required');
  // RFC 7636 §4.1: 43 to 128 unreserved characters.
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) throw new OAuthError('invalid_request', 'code_verifier is not 43 to 128 unreserved characters');
  const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  if (challenge !== record.codeChallenge) throw invalidGrant('code_verifier does not match the code_challenge');
}

/** RFC 6749 §6 with rotation (RFC 9700 §4.14.2): each refresh token works once; reuse ends the family. */
async function refresh(deps: TokenDeps, client: ClientRecord, params: Record<string, string>): Promise<TokenResponse> {
  const token = required(params, 'refresh_token');
  const known = await deps.grants.findRefresh(token);
  if (known !== undefined && known.clientId === client.clientId && params.scope !== undefined) {
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one. Checked before the
    // token is taken, so an invalid_scope answer leaves it usable.
    const grant = await deps.grants.get(known.grantId);
    if (grant !== undefined && !params.scope.split(' ').every((s) => grant.scope.includes(s))) {
      throw new OAuthError('invalid_scope', 'the scope exceeds what was granted');
    }
  }
  const taken = await deps.grants.takeRefresh(token);
  if ('reusedBy' in taken) {
    const ended = await deps.grants.end(taken.reusedBy);
    await auditReuse(deps, client, 'refresh_token', taken.reusedBy, ended);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant('the refresh token was used before; the whole grant is revoked');
  }
  if ('unknown' in taken) throw invalidGrant('the refresh token is unknown, expired or revoked');
  if (taken.found.clientId !== client.clientId) {
    await deps.grants.end(taken.found.grantId);
    throw invalidGrant('the refresh token was issued to another client');
  }
  if (taken.found.idleUntil <= deps.clock.now().getTime()) {
    const ended = await deps.grants.end(taken.found.grantId);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant('the refresh token was unused for too long; sign in again');
  }
  const grant = await liveGrant(deps, taken.found.grantId);
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  const certificate = grant.identity.certificate;
  // The registry in SQL is the truth (STYLE rule 4): a revoked certificate (or CA on its
  // path) refreshes nothing, even if the notification that ends its sessions was missed.
  const revoked = await deps.revocations.findFirst(grant.certificatePath);
  if (grant.expiresAt <= now || revoked !== undefined || Date.parse(certificate.notAfter) <= deps.clock.now().getTime()) {
    const ended = await deps.grants.end(grant.grantId);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant(revoked === undefined ? 'the sign-in is too old; sign in again' : 'the certificate was revoked');
  }
  const session = await deps.sessions.create({
    sub: grant.sub, identity: grant.identity, amr: grant.amr, acr: grant.acr, audience: client.clientId, authTime: grant.authTime,
    certificatePath: grant.certificatePath,
  }).catch(async (error: unknown) => {
    // This instance learnt of the revocation from the watcher before the registry read above.
    if (!isServiceError(error) || error.code !== 'certificate_revoked') throw error;
    const ended = await deps.grants.end(grant.grantId);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant('the certificate was revoked');
  });
  const refreshToken = await deps.grants.renew(grant, session);
  if (refreshToken === undefined) throw invalidGrant('the sign-in has ended');
  await deps.grants.refreshRotated(token, grant.grantId);
  // OIDC Core §12.2: a new ID token for the same authentication, without nonce.
  return tokenResponse(deps, client, grant, session.accessToken, session.record.expiresAt, refreshToken, undefined);
}

async function liveGrant(deps: TokenDeps, grantId: string): Promise<Grant> {
  const grant = await deps.grants.get(grantId);
  // Ended by logout or revocation between sign-in and this request.
  if (grant === undefined) throw invalidGrant('the sign-in has ended');
  return grant;
}

function tokenResponse(deps: TokenDeps, client: ClientRecord, grant: Grant, accessToken: string, accessExpiresAt: number, refreshToken: string, nonce: string | undefined): TokenResponse {
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: Math.max(0, accessExpiresAt - now),
    refresh_token: refreshToken,
    id_token: signIdToken(deps.keys, {
      issuer: deps.issuer, clientId: grant.clientId, sub: grant.sub, sid: grant.grantId,
      authTime: grant.authTime, acr: grant.acr, amr: grant.amr, now, ...(nonce === undefined ? {} : { nonce }),
      alg: client.idTokenSignedResponseAlg, accessToken,
      claims: claimsFor(grant, grant.identity),
    }),
    scope: grant.scope.join(' '),
  };
}

/** A replayed code or refresh token is a security event: one audit row naming the grant it ended. */
async function auditReuse(deps: TokenDeps, client: ClientRecord, kind: 'authorization_code' | 'refresh_token', grantId: string, ended: Grant | undefined): Promise<void> {
  await deps.audit.append({
    at: deps.clock.now(), type: 'oidc_token_reuse', outcome: 'failure', code: 'invalid_grant',
    ...(ended === undefined ? {} : { subject: ended.sub, certificateSha256: ended.certificateSha256 }),
    details: { kind, clientId: client.clientId, sid: grantId, revoked: ended !== undefined },
  });
}

function required(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (value === undefined) throw new OAuthError('invalid_request', `${name} is missing`);
  return value;
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
