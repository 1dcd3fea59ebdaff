// What agency apps do with tokens: userinfo (OIDC Core §5.3), introspection (RFC 7662) and
// revocation (RFC 7009). Each answers only for the client the token was issued to. A
// DPoP-bound access token (RFC 9449) opens userinfo only under the DPoP scheme with a proof
// of its key; introspection reports the key (`cnf.jkt`) so a resource server can check it.
import { decodeJwt } from 'jose';
import { JOSEError } from 'jose/errors';
import { OAuthError, isServiceError } from '../errors.ts';
import type { SessionRecord, Sessions } from '../sessions/sessions.ts';
import type { Identity } from '../pki/x509/model.ts';
import type { ClientRecord } from '../stores/types.ts';
import { authenticateClient, type ClientAuthDeps } from './clientAuth.ts';
import { assertSameKey, dpopChallenge, verifyDpopProof, type DpopDeps } from './dpop.ts';
import type { Grant, Grants } from './grants.ts';

export interface ResourceDeps extends ClientAuthDeps, DpopDeps {
  grants: Grants;
  sessions: Sessions;
}

/**
 * Claims by scope (OIDC Core §5.4), the one mapping for userinfo and ID tokens: names with
 * `profile`, the person's national identifiers with `national_id`, an employee's organisation
 * (`{name, tin, title}`, never a person's) with `organization`.
 */
export function claimsFor(grant: Pick<Grant, 'sub' | 'scope'>, identity: Identity): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: grant.sub };
  const add = (name: string, value: unknown) => { if (value !== undefined) claims[name] = value; };
  if (grant.scope.includes('profile')) {
    add('name', identity.commonName);
    add('family_name', identity.surname);
    add('given_name', identity.givenName);
  }
  if (grant.scope.includes('national_id')) {
    add('pinfl', identity.pinfl);
    add('tin', identity.tin);
  }
  if (grant.scope.includes('organization')) add('organization', identity.organization);
  return claims;
}

export interface ResourceRequest {
  /** The Authorization header: `Bearer <token>` (RFC 6750 §2.1) or `DPoP <token>` (RFC 9449 §7.1). */
  authorization: string | undefined;
  /** The DPoP header. */
  dpopProof: string | undefined;
  method: string;
}

/**
 * RFC 6750 §3.1 / RFC 9449 §7.1 errors for userinfo: `invalid_token` (401) for anything but a
 * live client session presented the way it is bound, `invalid_dpop_proof` for a proof that
 * does not hold, each with the challenge of the scheme used.
 */
export async function userinfo(deps: ResourceDeps, request: ResourceRequest): Promise<Record<string, unknown>> {
  const presented = readAccessToken(request.authorization);
  const refuse = (description: string) => new OAuthError('invalid_token', description, presented?.scheme === 'DPoP'
    ? { wwwAuthenticate: dpopChallenge({ code: 'invalid_token', description }) }
    : {});
  if (presented === undefined) {
    // RFC 9449 §7.1: no credentials at all get both challenges, without an error code.
    throw new OAuthError('invalid_token', 'a Bearer or DPoP access token is required', { wwwAuthenticate: `Bearer realm="yagona-id", ${dpopChallenge()}` });
  }
  const { session, grant } = await clientSession(deps, presented.token);
  // An agency app the operator removed is cut off at once, not when its tokens expire.
  if (session === undefined || grant === undefined || await deps.clients.find(grant.clientId) === undefined) {
    throw refuse('the access token is not valid or its sign-in has ended');
  }
  await assertSenderConstraint(deps, request, presented, session, refuse);
  return claimsFor(grant, session.identity);
}

/**
 * RFC 9449 §7: a DPoP-bound token is accepted only under the DPoP scheme with a fresh proof
 * of its key naming this request and this token; presented as a bearer token it is what a
 * thief would do (§7.2). A bearer token under the DPoP scheme is refused too: the scheme
 * must say what the token is.
 */
async function assertSenderConstraint(
  deps: ResourceDeps, request: ResourceRequest, presented: PresentedToken, session: SessionRecord, refuse: (description: string) => OAuthError,
): Promise<void> {
  if (session.jkt === undefined) {
    if (presented.scheme === 'DPoP') throw refuse('this access token is not DPoP-bound; present it as a Bearer token');
    return;
  }
  if (presented.scheme !== 'DPoP') {
    throw new OAuthError('invalid_token', 'this access token is DPoP-bound: present it with the DPoP scheme and a proof', { wwwAuthenticate: dpopChallenge({ code: 'invalid_token', description: 'the access token is DPoP-bound' }) });
  }
  const key = await verifyDpopProof(deps, { proof: request.dpopProof, method: request.method, url: `${deps.issuer}/userinfo`, accessToken: presented.token, at: 'resource' });
  assertSameKey({ at: 'resource' }, key, session.jkt);
}

interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

/** The scheme is case-insensitive (RFC 9110 §11.1); the token is RFC 6750 §2.1's b64token. */
function readAccessToken(authorization: string | undefined): PresentedToken | undefined {
  const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '');
  if (match === null) return undefined;
  return { scheme: (match[1] as string).toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2] as string };
}

async function clientSession(deps: ResourceDeps, token: string): Promise<{ session?: SessionRecord; grant?: Grant }> {
  let session: SessionRecord;
  try {
    // The audience read unverified only picks what to verify against; a direct-API token
    // (aud = issuer) is not for agency apps (docs/security-cases.md #88).
    const aud = decodeJwt(token).aud;
    if (typeof aud !== 'string' || aud === deps.issuer) return {};
    session = await deps.sessions.authenticate(token, aud);
  } catch (error) {
    // An outage is not an answer about the token: it stays a 503 (temporarily_unavailable).
    if ((isServiceError(error) && error.code === 'session_invalid') || error instanceof JOSEError) return {};
    throw error;
  }
  const grant = await deps.grants.ofSession(session.sid);
  if (grant === undefined || grant.clientId !== session.aud) return {};
  return { session, grant };
}

const looksLikeJwt = (token: string) => token.split('.').length === 3;

/** RFC 7662 §2: `{active: false}` for anything unknown, ended, or another client's. */
export async function introspect(deps: ResourceDeps, authorization: string | undefined, params: Record<string, string>): Promise<Record<string, unknown>> {
  const client = await authenticateClient(deps, authorization, params);
  // RFC 7662 §2.1: what a token stands for is told only to a client that proves who it is.
  if (client.authMethod === 'none') throw new OAuthError('invalid_client', 'a public client cannot introspect tokens');
  const token = requiredToken(params);
  if (looksLikeJwt(token)) {
    const { session, grant } = await clientSession(deps, token);
    if (session === undefined || grant === undefined || grant.clientId !== client.clientId) return { active: false };
    return {
      active: true, client_id: client.clientId, scope: grant.scope.join(' '), iss: deps.issuer,
      sub: session.sub, aud: session.aud, exp: session.expiresAt, auth_time: session.authTime, sid: grant.ssoSid, acr: session.acr, amr: session.amr,
      // RFC 9449 §6.2: a DPoP-bound token says so and names its key, which the caller must check a proof against.
      ...(session.jkt === undefined ? { token_type: 'Bearer' } : { token_type: 'DPoP', cnf: { jkt: session.jkt } }),
    };
  }
  const refresh = await deps.grants.findRefresh(token);
  const grant = refresh === undefined ? undefined : await deps.grants.get(refresh.grantId);
  if (grant === undefined || grant.clientId !== client.clientId) return { active: false };
  return {
    active: true, token_type: 'refresh_token', client_id: client.clientId, scope: grant.scope.join(' '), iss: deps.issuer, sub: grant.sub, exp: grant.expiresAt, sid: grant.ssoSid,
    ...(refresh?.jkt === undefined ? {} : { cnf: { jkt: refresh.jkt } }),
  };
}

/** RFC 7009 §2.1: revoking a refresh token ends its grant (and access token); an access token ends its session. */
export async function revoke(deps: ResourceDeps, authorization: string | undefined, params: Record<string, string>): Promise<ClientRecord> {
  const client = await authenticateClient(deps, authorization, params);
  const token = requiredToken(params);
  if (looksLikeJwt(token)) {
    const { session, grant } = await clientSession(deps, token);
    if (session !== undefined && grant?.clientId === client.clientId) await deps.grants.endSession(session.sid);
  } else {
    const refresh = await deps.grants.findRefresh(token);
    if (refresh !== undefined && refresh.clientId === client.clientId) await deps.grants.end(refresh.grantId);
  }
  // §2.2: 200 whether or not the token was known, so the answer tells nothing.
  return client;
}

function requiredToken(params: Record<string, string>): string {
  if (params.token === undefined) throw new OAuthError('invalid_request', 'token is missing');
  return params.token;
}
