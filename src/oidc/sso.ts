// Single sign-on at /authorize (docs/api.md "Single sign-on"): whether the browser's OP session
// may stand in for a new signature, and the code it yields when it may. No hidden iframes
// (browsers block third-party cookies): an agency renews through the refresh grant, and a new
// agency gets the continue page, or with prompt=none a code at once (GovSSO v2).
import { randomBytes } from 'node:crypto';
import { OAuthError, type OAuthErrorCode } from '../errors.ts';
import { acrLevels, type Acr } from '../login/assurance.ts';
import type { ClientRecord } from '../stores/types.ts';
import type { AuthorizationRequest } from './grants.ts';
import { authorizationResponse } from './response.ts';
import type { OidcDeps } from './provider.ts';
import type { SsoSession } from './ssoSessions.ts';
import { clientSubject } from './tokens.ts';

export type Reuse =
  | { kind: 'sign' }
  | { kind: 'continue'; session: SsoSession }
  | { kind: 'silent'; session: SsoSession };

/**
 * The browser's session if it may still be used: live, its certificate within its validity and
 * not revoked by the registry in SQL (the truth, STYLE rule 4: a missed notification must not
 * let a revoked certificate in). A revoked one is ended here, with its agencies' grants.
 */
export async function liveSession(deps: OidcDeps, cookie: string | undefined): Promise<SsoSession | undefined> {
  const session = await deps.sso.open(cookie);
  if (session === undefined) return undefined;
  const expired = Date.parse(session.identity.certificate.notAfter) <= deps.clock.now().getTime();
  if (!expired && await deps.revocations.findFirst(session.certificatePath) === undefined) return session;
  await endSsoSession(deps, session.sid);
  return undefined;
}

/** Ends an OP session and every agency's grant in it; each agency that listens hears of it (back channel). */
export async function endSsoSession(deps: OidcDeps, sid: string) {
  const session = await deps.sso.end(sid);
  const ended = await deps.grants.endInSso(sid);
  void deps.backChannel.notify(ended);
  return { session, ended };
}

/**
 * OIDC Core §3.1.2.3–§3.1.2.6: reuse when the session's signature is recent enough (max_age;
 * 0 asks for a new one, as prompt=login does), its level meets one of acr_values and the
 * id_token_hint names its citizen. prompt=none never shows a page: a code only for an agency
 * the citizen already went on to in this session, else the error saying what is missing.
 */
export function decideReuse(request: AuthorizationRequest, client: ClientRecord, session: SsoSession | undefined, nowSeconds: number): Reuse {
  const silent = request.prompt?.includes('none') === true;
  if (session !== undefined && request.hintSub !== undefined && request.hintSub !== clientSubject(client, session.subject)) {
    throw redirectError(request, 'login_required', 'the id_token_hint names another citizen than the one signed in');
  }
  const usable = session !== undefined
    && request.prompt?.includes('login') !== true
    && (request.maxAge === undefined || (request.maxAge > 0 && nowSeconds - session.authTime <= request.maxAge))
    && meetsLevel(session.acr, request.acrValues);
  if (!usable) {
    if (silent) throw redirectError(request, 'login_required', 'the citizen must sign in');
    return { kind: 'sign' };
  }
  if (!silent) return { kind: 'continue', session };
  // §3.1.2.6: going on to a new agency is the citizen's decision, shown on the continue page.
  if (!session.clients.includes(client.clientId)) throw redirectError(request, 'consent_required', 'the citizen has not yet continued to this application in this session');
  return { kind: 'silent', session };
}

/** acr_values are alternatives (OIDC Core §3.1.2.1): the lowest level named is enough. */
export function meetsLevel(acr: string, wanted: readonly string[] | undefined): boolean {
  if (wanted === undefined || wanted.length === 0) return true;
  const have = acrLevels[acr as Acr] ?? 0;
  return Math.min(...wanted.map((value) => acrLevels[value as Acr] ?? Infinity)) <= have;
}

export interface IssueContext {
  /** SHA-256 of the browser cookie: a form_post answer is shown to this browser only. */
  browser: string;
  silent: boolean;
  requestId: string;
  clientAddress?: string;
}

/**
 * A code for `request`'s agency from the OP session, without a signature: the session's
 * authentication (auth_time, acr, amr) is what the agency receives, under its own subject.
 * One audit event says it was a reuse, with no signature. Undefined when the session ended
 * meanwhile (the citizen signs instead).
 */
export async function issueInSession(deps: OidcDeps, request: AuthorizationRequest, session: SsoSession, context: IssueContext): Promise<string | undefined> {
  const client = await deps.clients.find(request.clientId);
  if (client === undefined) throw new OAuthError('invalid_request', 'this application is no longer registered with Yagona ID', { delivery: { via: 'page' } });
  const touched = await deps.sso.touch(session.sid, client.clientId);
  if (touched === undefined) return undefined;
  const created = await deps.sessions.create({
    sub: clientSubject(client, touched.subject), identity: touched.identity, amr: touched.amr, acr: touched.acr,
    audience: client.clientId, authTime: touched.authTime, certificatePath: touched.certificatePath, opSid: touched.sid,
  });
  const code = await deps.grants.start(request, created, touched.sid);
  await deps.audit.append({
    at: deps.clock.now(), type: 'sso_reuse', outcome: 'success', requestId: context.requestId,
    certificateSha256: touched.certificateSha256, subject: created.record.sub,
    details: {
      sid: touched.sid, clientId: client.clientId, signature: false, via: context.silent ? 'prompt_none' : 'continue', authTime: touched.authTime,
      ...(context.clientAddress === undefined ? {} : { clientAddress: context.clientAddress }),
    },
  });
  return authorizationResponse(deps, { id: randomBytes(18).toString('base64url'), request, browser: context.browser }, { code, state: request.state });
}

/** The request's redirect_uri is proven by now: the error goes back there (RFC 6749 §4.1.2.1). */
function redirectError(request: AuthorizationRequest, error: OAuthErrorCode, description: string): OAuthError {
  return new OAuthError(error, description, {
    delivery: { via: 'redirect', redirectUri: request.redirectUri, state: request.state, ...(request.responseMode === undefined ? {} : { responseMode: request.responseMode }) },
  });
}


/**
 * "Sign out everywhere" on the citizen's own page: this session and every other one opened
 * with the same certificate (other browsers), with every agency's grant in them; each agency
 * hears of it over the back channel, each ended grant is a logout audit event.
 */
export async function endEverywhere(deps: OidcDeps, session: SsoSession): Promise<number> {
  const sids = new Set([session.sid, ...await deps.sso.endAllOfCertificate({ sha256: session.certificateSha256 })]);
  await deps.sso.end(session.sid);
  const ended = (await Promise.all([...sids].map((sid) => deps.grants.endInSso(sid)))).flat();
  for (const grant of ended) {
    await deps.audit.append({
      at: deps.clock.now(), type: 'logout', outcome: 'success', subject: grant.sub, certificateSha256: grant.certificateSha256,
      details: { sid: grant.ssoSid, clientId: grant.clientId, initiatedBy: 'account', scope: 'everywhere' },
    });
  }
  void deps.backChannel.notify(ended);
  return sids.size;
}
