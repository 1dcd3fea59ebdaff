// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3), bound to the browser's
// single sign-on session. The agency sends the citizen here with its ID token as
// `id_token_hint`:
//   - the hint's session is this browser's and only this agency is in it: it ends at once;
//   - other agencies are in it too: the citizen chooses "this agency" or "all agencies";
//   - the hint belongs to no session of this browser: the citizen is asked before anything
//     ends (§2: the OP should confirm a logout it cannot tie to the End-User), and only this
//     agency's sign-in can end from here;
//   - nothing of it is left (a second logout with the same hint): the page says so.
// Each agency signed out hears of it over the back channel. Redirects go only to a registered
// post_logout_redirect_uri.
import { randomBytes } from 'node:crypto';
import { OAuthError, ServiceError } from '../errors.ts';
import type { ClientRecord } from '../stores/types.ts';
import { authorizationResponseUrl } from './authorize.ts';
import { sha256 } from './grants.ts';
import type { OidcDeps } from './provider.ts';
import { liveSession } from './sso.ts';
import { verifyIdTokenHint } from './tokens.ts';

/** What a confirmation page holds until the citizen answers (10 minutes, this browser only). */
export interface PendingLogout {
  id: string;
  sid: string;
  clientId: string;
  /** Whether "all agencies" is offered: only to the browser whose session it is. */
  all: boolean;
  redirect?: string;
  state?: string;
  /** §2 ui_locales of the request, for the pages that follow the citizen's answer. */
  uiLocales?: string[];
  browser: string;
}

export type LogoutOutcome =
  | { kind: 'redirect'; location: string; endedBrowserSession: boolean }
  /** `ended`: what was signed out; `nothing`: nothing was left; `absent`: no hint, nothing was asked. */
  | { kind: 'page'; result: 'agency' | 'all' | 'nothing' | 'absent'; clientName?: string; backTo?: string; uiLocales?: string[]; endedBrowserSession: boolean }
  | { kind: 'ask'; pending: PendingLogout; clientName: string; otherAgencies: number };

export interface LogoutBrowser {
  /** The browser's single sign-on cookie. */
  ssoCookie: string | undefined;
  /** The browser cookie (the one /authorize sets): a confirmation is answered from the same browser. */
  browserCookie: string;
}

const pendingKey = (id: string) => `oidc:logout:${id}`;
const pendingTtlSeconds = 600;

export async function endSession(deps: OidcDeps, params: Record<string, string>, browser: LogoutBrowser): Promise<LogoutOutcome> {
  const hint = params.id_token_hint;
  const redirect = params.post_logout_redirect_uri;
  if (hint === undefined) {
    // Without a hint nobody proved which sign-in to end: a cross-site GET must not log a
    // citizen out (docs/security-cases.md #118). With a client_id the redirect is still checked.
    if (redirect !== undefined) throw refused('post_logout_redirect_uri needs id_token_hint');
    return { kind: 'page', result: 'absent', endedBrowserSession: false };
  }
  const claims = await verifyIdTokenHint(deps, hint);
  if (claims === undefined) throw refused('the id_token_hint was not issued by Yagona ID');
  if (params.client_id !== undefined && params.client_id !== claims.aud) throw refused('client_id does not match the id_token_hint');
  const client = await deps.clients.find(claims.aud);
  if (client === undefined) throw refused('this application is not registered with Yagona ID');
  // §3: the URI must have been registered, compared exactly (RFC 9700 §4.11: no open redirect).
  if (redirect !== undefined && !client.postLogoutRedirectUris.includes(redirect)) {
    throw refused('the post_logout_redirect_uri is not registered for this application');
  }

  const session = await deps.sso.find(claims.sid);
  const own = session !== undefined && (await liveSession(deps, browser.ssoCookie))?.sid === claims.sid;
  const pending: PendingLogout = {
    id: randomBytes(18).toString('base64url'), sid: claims.sid, clientId: client.clientId, all: own,
    ...(redirect === undefined ? {} : { redirect }), ...(params.state === undefined ? {} : { state: params.state }),
    ...(params.ui_locales === undefined ? {} : { uiLocales: params.ui_locales.split(' ').slice(0, 8) }),
    browser: sha256(browser.browserCookie),
  };
  const others = session?.clients.filter((id) => id !== client.clientId).length ?? 0;
  // Nothing to decide: this browser's session with this agency alone, or a session already
  // ended whose leftover sign-ins at this agency (live access tokens) may as well end.
  if ((own && others === 0) || session === undefined) return finish(deps, client, pending, own ? 'all' : 'agency');
  await deps.store.put(pendingKey(pending.id), pending, pendingTtlSeconds);
  return { kind: 'ask', pending, clientName: client.name, otherAgencies: others };
}

/** The citizen's answer on the logout page: this agency, or (their own session only) all agencies. */
export async function confirmLogout(deps: OidcDeps, id: string, choice: string | undefined, browserCookie: string | undefined): Promise<LogoutOutcome> {
  const pending = /^[A-Za-z0-9_-]{24}$/.test(id) ? await deps.store.take<PendingLogout>(pendingKey(id)) : undefined;
  if (pending === undefined || browserCookie === undefined || pending.browser !== sha256(browserCookie)) {
    throw new ServiceError('not_found', 'this sign-out page has expired or was opened in another browser; sign out from the application again');
  }
  const client = await deps.clients.find(pending.clientId);
  if (client === undefined) throw refused('this application is not registered with Yagona ID');
  return finish(deps, client, pending, choice === 'all' && pending.all ? 'all' : 'agency');
}

async function finish(deps: OidcDeps, client: ClientRecord, pending: PendingLogout, scope: 'agency' | 'all'): Promise<LogoutOutcome> {
  const signedOut = await endSignIns(deps, client, pending.sid, scope);
  if (pending.redirect !== undefined && signedOut) {
    const url = new URL(authorizationResponseUrl(pending.redirect, deps.issuer, { state: pending.state }));
    // RP-Initiated Logout carries only `state` back; `iss` belongs to authorization responses.
    url.searchParams.delete('iss');
    return { kind: 'redirect', location: url.href, endedBrowserSession: scope === 'all' };
  }
  return {
    kind: 'page', result: signedOut ? scope : 'nothing', clientName: client.name, endedBrowserSession: scope === 'all' && signedOut,
    ...(pending.redirect === undefined ? {} : { backTo: pending.redirect }), ...(pending.uiLocales === undefined ? {} : { uiLocales: pending.uiLocales }),
  };
}

/** No redirect was proven: the citizen sees the reason on a page (§3, RFC 9700 §4.11). */
const refused = (description: string) => new OAuthError('invalid_request', description, { delivery: { via: 'page' } });

/** Ends this agency's sign-ins in the session, or the whole session; true when anything was still live. */
async function endSignIns(deps: OidcDeps, client: ClientRecord, sid: string, scope: 'agency' | 'all'): Promise<boolean> {
  const session = scope === 'all' ? await deps.sso.end(sid) : await deps.sso.leave(sid, client.clientId);
  const ended = await deps.grants.endInSso(sid, scope === 'all' ? undefined : client.clientId);
  for (const g of ended) {
    await deps.audit.append({
      at: deps.clock.now(), type: 'logout', outcome: 'success', subject: g.sub, certificateSha256: g.certificateSha256,
      details: { sid, clientId: g.clientId, initiatedBy: client.clientId, scope },
    });
  }
  // Not awaited: a slow or dead agency endpoint must not hold up the citizen's logout.
  void deps.backChannel.notify(ended);
  return (scope === 'all' && session !== undefined) || ended.length > 0;
}
