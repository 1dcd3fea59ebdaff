// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3): the agency app sends
// the citizen here with its ID token as `id_token_hint`. That sign-in ends, with every
// other sign-in made in the same browser, and each agency app concerned hears of it over
// the back channel. Redirects go only to a registered post_logout_redirect_uri.
import type { Clock } from '../clock.ts';
import { OAuthError } from '../errors.ts';
import type { AuditStore, ClientRecord, ClientStore } from '../stores/types.ts';
import { authorizationResponseUrl } from './authorize.ts';
import type { BackChannel } from './backChannel.ts';
import type { Grants } from './grants.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import type { SsoSessions } from './ssoSessions.ts';
import { verifyIdTokenHint } from './tokens.ts';

export interface LogoutDeps {
  issuer: string;
  keys: KeyRing;
  clients: ClientStore;
  grants: Grants;
  sso: SsoSessions;
  backChannel: BackChannel;
  clock: Clock;
  audit: AuditStore;
}

export type LogoutOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'page'; signedOut: boolean };

export async function endSession(deps: LogoutDeps, params: Record<string, string>): Promise<LogoutOutcome> {
  const hint = params.id_token_hint;
  const redirect = params.post_logout_redirect_uri;
  if (hint === undefined) {
    // Without a hint nobody proved which sign-in to end: a cross-site GET must not log a
    // citizen out (docs/security-cases.md #118). With a client_id the redirect is still checked.
    if (redirect !== undefined) throw refused('post_logout_redirect_uri needs id_token_hint');
    return { kind: 'page', signedOut: false };
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

  const signedOut = await endSignIns(deps, client, claims.sid);
  if (redirect === undefined) return { kind: 'page', signedOut };
  const url = new URL(authorizationResponseUrl(redirect, deps.issuer, { state: params.state }));
  // RP-Initiated Logout carries only `state` back; `iss` belongs to authorization responses.
  url.searchParams.delete('iss');
  return { kind: 'redirect', location: url.href };
}

/** No redirect was proven: the citizen sees the reason on a page (§3, RFC 9700 §4.11). */
const refused = (description: string) => new OAuthError('invalid_request', description, { delivery: { via: 'page' } });

async function endSignIns(deps: LogoutDeps, client: ClientRecord, sid: string): Promise<boolean> {
  const session = await deps.sso.end(sid);
  const ended = await deps.grants.endInSso(sid);
  for (const g of ended) {
    await deps.audit.append({
      at: deps.clock.now(), type: 'logout', outcome: 'success', subject: g.sub, certificateSha256: g.certificateSha256,
      details: { sid, clientId: g.clientId, initiatedBy: client.clientId },
    });
  }
  // Not awaited: a slow or dead agency endpoint must not hold up the citizen's logout.
  void deps.backChannel.notify(ended);
  return session !== undefined || ended.length > 0;
}
