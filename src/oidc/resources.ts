// What agency apps do with tokens: userinfo (OIDC Core §5.3), introspection (RFC 7662) and
// revocation (RFC 7009). Each answers only for the client the token was issued to.
import { decodeJwt } from 'jose';
import { JOSEError } from 'jose/errors';
import { OAuthError, isServiceError } from '../errors.ts';
import type { SessionRecord, Sessions } from '../sessions/sessions.ts';
import type { Identity } from '../pki/x509/model.ts';
import type { ClientRecord } from '../stores/types.ts';
import { authenticateClient, type ClientAuthDeps } from './clientAuth.ts';
import type { Grant, Grants } from './grants.ts';

export interface ResourceDeps extends ClientAuthDeps {
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

/** RFC 6750 §3.1 errors for userinfo: `invalid_token` (401) for anything but a live client session. */
export async function userinfo(deps: ResourceDeps, accessToken: string | undefined): Promise<Record<string, unknown>> {
  if (accessToken === undefined) throw new OAuthError('invalid_token', 'a Bearer access token is required');
  const { session, grant } = await clientSession(deps, accessToken);
  // An agency app the operator removed is cut off at once, not when its tokens expire.
  if (session === undefined || grant === undefined || await deps.clients.find(grant.clientId) === undefined) {
    throw new OAuthError('invalid_token', 'the access token is not valid or its sign-in has ended');
  }
  return claimsFor(grant, session.identity);
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
  const token = requiredToken(params);
  if (looksLikeJwt(token)) {
    const { session, grant } = await clientSession(deps, token);
    if (session === undefined || grant === undefined || grant.clientId !== client.clientId) return { active: false };
    return {
      active: true, token_type: 'Bearer', client_id: client.clientId, scope: grant.scope.join(' '), iss: deps.issuer,
      sub: session.sub, aud: session.aud, exp: session.expiresAt, auth_time: session.authTime, sid: grant.grantId, acr: session.acr, amr: session.amr,
    };
  }
  const refresh = await deps.grants.findRefresh(token);
  const grant = refresh === undefined ? undefined : await deps.grants.get(refresh.grantId);
  if (grant === undefined || grant.clientId !== client.clientId) return { active: false };
  return { active: true, token_type: 'refresh_token', client_id: client.clientId, scope: grant.scope.join(' '), iss: deps.issuer, sub: grant.sub, exp: grant.expiresAt, sid: grant.grantId };
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
