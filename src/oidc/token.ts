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
import { verifyDpopProof, type DpopDeps, type DpopKey } from './dpop.ts';
import { sha256, type Grant, type Grants, type RefreshRecord } from './grants.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import { claimsFor } from './resources.ts';
import type { SsoSessions } from './ssoSessions.ts';
import { signIdToken } from './tokens.ts';

export interface TokenDeps extends ClientAuthDeps, DpopDeps {
  grants: Grants;
  sso: SsoSessions;
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
  /** RFC 9449 §5.1: `DPoP` when the access token is bound to the proof's key. */
  token_type: 'Bearer' | 'DPoP';
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
export async function tokenRequest(deps: TokenDeps, authorization: string | undefined, params: Record<string, string>, dpopProof: string | undefined): Promise<TokenResponse> {
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
    return await grantTokens(deps, authorization, params, dpopProof);
  } catch (error) {
    // A request for a DPoP nonce (RFC 9449 §8) is the protocol's first step, not a failure.
    if (key !== undefined && isOAuthError(error) && error.status < 500 && error.error !== 'use_dpop_nonce') await deps.tokenFailures.hit(key);
    throw error;
  }
}

async function grantTokens(deps: TokenDeps, authorization: string | undefined, params: Record<string, string>, dpopProof: string | undefined): Promise<TokenResponse> {
  const client = await authenticateClient(deps, authorization, params);
  const key = await proofOfPossession(deps, client, dpopProof);
  switch (params.grant_type) {
    case 'authorization_code': return redeemCode(deps, client, params, key);
    case 'refresh_token': return refresh(deps, client, params, key);
    case undefined: throw new OAuthError('invalid_request', 'grant_type is missing');
    // RFC 9700 §2.4 (no password grant), no implicit, no client_credentials for citizens' data.
    default: throw new OAuthError('unsupported_grant_type', 'only authorization_code and refresh_token are supported');
  }
}

/**
 * RFC 9449 §5: a DPoP proof binds what this request issues to its key; a client registered
 * for DPoP-bound tokens (FAPI 2.0, native apps) must send one. Checked before a code or
 * refresh token is touched, so asking for a nonce (use_dpop_nonce) burns nothing and the
 * client's retry with the same code works.
 */
async function proofOfPossession(deps: TokenDeps, client: ClientRecord, proof: string | undefined): Promise<DpopKey | undefined> {
  if (proof === undefined && !client.dpopBoundAccessTokens) return undefined;
  return verifyDpopProof(deps, { proof, method: 'POST', url: `${deps.issuer}/token`, at: 'authorization-server' });
}

/** RFC 6749 §4.1.3 + RFC 7636 §4.6. The code is burnt first, so every failure uses it up. */
async function redeemCode(deps: TokenDeps, client: ClientRecord, params: Record<string, string>, key: DpopKey | undefined): Promise<TokenResponse> {
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
    // RFC 9449 §10: a code bound to a DPoP key (dpop_jkt, or a proof on the PAR request) is
    // redeemed only with a proof of that key.
    if (record.dpopJkt !== undefined && key?.jkt !== record.dpopJkt) throw invalidGrant('the authorization code is bound to another DPoP key');
  } catch (error) {
    // A failed redemption leaves nothing usable behind.
    await deps.grants.end(record.grantId);
    throw error;
  }
  const grant = await liveGrant(deps, record.grantId);
  const signedIn = await deps.sessions.authenticate(record.accessToken, client.clientId).catch((error: unknown) => {
    if (isServiceError(error) && error.code === 'session_invalid') throw invalidGrant('the sign-in has ended');
    throw error;
  });
  // The sign-in minted a bearer session; a DPoP-bound one replaces it (RFC 9449 §6), and
  // renew ends the bearer one, which never left this service.
  const bound = key === undefined ? undefined : await newSession(deps, client, grant, key);
  const refreshToken = await deps.grants.renew(grant, bound, refreshBinding(client, key));
  if (refreshToken === undefined) throw invalidGrant('the sign-in has ended');
  await deps.grants.codeRedeemed(code, grant.grantId);
  return bound === undefined
    ? tokenResponse(deps, client, grant, { accessToken: record.accessToken, expiresAt: signedIn.expiresAt }, refreshToken, grant.nonce)
    : tokenResponse(deps, client, grant, { accessToken: bound.accessToken, expiresAt: bound.record.expiresAt, jkt: key?.jkt }, refreshToken, grant.nonce);
}

/** RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential client's is bound by its authentication. */
function refreshBinding(client: ClientRecord, key: DpopKey | undefined): { jkt?: string } {
  return client.authMethod === 'none' && key !== undefined ? { jkt: key.jkt } : {};
}

/**
 * Whether a refresh token stays the same across refreshes. FAPI 2.0 §5.3.2.1 forbids rotation
 * (a lost response must not end the grant); a DPoP-bound token (RFC 9449 §5) is worthless
 * without the key, which rotation would add nothing to. Every other refresh token rotates
 * (RFC 9700 §4.14.2).
 */
function keepsRefreshToken(client: ClientRecord, record: RefreshRecord | undefined): boolean {
  return client.profile === 'fapi2' || record?.jkt !== undefined;
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

/**
 * RFC 6749 §6. A rotating refresh token (RFC 9700 §4.14.2) works once and its reuse ends the
 * family; a kept one (FAPI 2.0, DPoP-bound) works until it idles out, so a retry after a
 * lost response simply succeeds.
 */
async function refresh(deps: TokenDeps, client: ClientRecord, params: Record<string, string>, key: DpopKey | undefined): Promise<TokenResponse> {
  const token = required(params, 'refresh_token');
  const known = await deps.grants.findRefresh(token);
  // RFC 9449 §5: a bound refresh token without a proof of its key is refused before anything
  // is taken or ended, so whoever stole it gets no token and ends nothing here.
  if (known?.jkt !== undefined && key?.jkt !== known.jkt) throw invalidGrant('the refresh token is bound to another DPoP key');
  if (known !== undefined && known.clientId === client.clientId && params.scope !== undefined) {
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one. Checked before the
    // token is taken, so an invalid_scope answer leaves it usable.
    const grant = await deps.grants.get(known.grantId);
    if (grant !== undefined && !params.scope.split(' ').every((s) => grant.scope.includes(s))) {
      throw new OAuthError('invalid_scope', 'the scope exceeds what was granted');
    }
  }
  const keep = keepsRefreshToken(client, known);
  const taken = keep ? (known === undefined ? { unknown: true as const } : { found: known }) : await deps.grants.takeRefresh(token);
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
  // GovSSO v2: a refresh is the agency's session update. It needs the single sign-on session
  // alive (not logged out, idle or past its end) and keeps it from idling out.
  if (await deps.sso.touch(grant.ssoSid) === undefined) {
    const ended = await deps.grants.end(grant.grantId);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant('the single sign-on session has ended; sign in again');
  }
  const session = await newSession(deps, client, grant, key);
  const refreshToken = await deps.grants.renew(grant, session, { ...(keep ? { keep: token } : {}), ...(taken.found.jkt === undefined ? {} : { jkt: taken.found.jkt }) });
  if (refreshToken === undefined) throw invalidGrant('the sign-in has ended');
  if (!keep) await deps.grants.refreshRotated(token, grant.grantId);
  // OIDC Core §12.2: a new ID token for the same authentication, without nonce.
  return tokenResponse(deps, client, grant, { accessToken: session.accessToken, expiresAt: session.record.expiresAt, jkt: key?.jkt }, refreshToken, undefined);
}

/** A new session (access token) for the grant's sign-in, bound to the DPoP key when there is one (RFC 9449 §5). */
async function newSession(deps: TokenDeps, client: ClientRecord, grant: Grant, key: DpopKey | undefined) {
  return deps.sessions.create({
    sub: grant.sub, identity: grant.identity, amr: grant.amr, acr: grant.acr, audience: client.clientId, authTime: grant.authTime,
    certificatePath: grant.certificatePath, opSid: grant.ssoSid, ...(key === undefined ? {} : { jkt: key.jkt }),
  }).catch(async (error: unknown) => {
    // This instance learnt of the revocation from the watcher before the registry read.
    if (!isServiceError(error) || error.code !== 'certificate_revoked') throw error;
    const ended = await deps.grants.end(grant.grantId);
    if (ended !== undefined) void deps.backChannel.notify([ended]);
    throw invalidGrant('the certificate was revoked');
  });
}

async function liveGrant(deps: TokenDeps, grantId: string): Promise<Grant> {
  const grant = await deps.grants.get(grantId);
  // Ended by logout or revocation between sign-in and this request.
  if (grant === undefined) throw invalidGrant('the sign-in has ended');
  return grant;
}

interface IssuedAccessToken {
  accessToken: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** The DPoP key it is bound to. */
  jkt?: string | undefined;
}

function tokenResponse(deps: TokenDeps, client: ClientRecord, grant: Grant, access: IssuedAccessToken, refreshToken: string, nonce: string | undefined): TokenResponse {
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  const { accessToken } = access;
  return {
    access_token: accessToken,
    token_type: access.jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: Math.max(0, access.expiresAt - now),
    refresh_token: refreshToken,
    id_token: signIdToken(deps.keys, {
      issuer: deps.issuer, clientId: grant.clientId, sub: grant.sub, sid: grant.ssoSid,
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
