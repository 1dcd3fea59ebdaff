// OIDC Back-Channel Logout 1.0: when grants end (the citizen logs out, or their certificate
// is revoked), each agency app that registered a backchannel_logout_uri gets a logout token
// (§2.5). Three tries with back-off (§2.8: the OP cannot make an RP act, but a restarting
// agency should not miss a logout), each delivery's outcome an audit event; never blocking the
// caller's own logout.
import type { Clock } from '../clock.ts';
import type { AuditStore, CertificateKey, ClientStore } from '../stores/types.ts';
import type { Grant, Grants } from './grants.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import type { SsoSessions } from './ssoSessions.ts';
import { signLogoutToken } from './tokens.ts';

export interface BackChannelDeps {
  issuer: string;
  keys: KeyRing;
  clients: ClientStore;
  grants: Grants;
  sso: SsoSessions;
  clock: Clock;
  audit: AuditStore;
  log: { info(object: object, message: string): void; warn(object: object, message: string): void };
  timeoutMs?: number;
  /** The waits before the second and third tries. */
  retryDelaysMs?: readonly number[];
}

export interface BackChannel {
  /** Sends a logout token for each ended grant whose client listens; resolves when all are settled, never rejects. */
  notify(ended: Grant[]): Promise<void>;
  /**
   * For the revocation watcher: ends every OIDC grant and single sign-on session of a revoked
   * certificate (a leaf, or a CA on the path; their refresh tokens too) and notifies the agency apps.
   */
  certificateRevoked(certificate: CertificateKey & { sha256?: string }): Promise<void>;
}

/** A second try after half a second, a third after two more: an agency restarting is back by then. */
export const defaultRetryDelaysMs = [500, 2000] as const;

export function createBackChannel(deps: BackChannelDeps): BackChannel {
  const timeoutMs = deps.timeoutMs ?? 5000;

  const retryDelaysMs = deps.retryDelaysMs ?? defaultRetryDelaysMs;

  /** One POST (§2.5: form-encoded, redirects not followed); the status, or the failure. */
  async function post(uri: string, logoutToken: string): Promise<{ status: number } | { error: string }> {
    try {
      const res = await fetch(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: logoutToken }),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return { status: res.status };
    } catch (error) {
      return { error: error instanceof Error ? error.name : 'failed' };
    }
  }

  async function send(grant: Grant): Promise<void> {
    const client = await deps.clients.find(grant.clientId);
    if (client?.backchannelLogoutUri == null) return;
    const logoutToken = signLogoutToken(deps.keys, {
      issuer: deps.issuer, clientId: client.clientId, sub: grant.sub, sid: grant.ssoSid, now: Math.floor(deps.clock.now().getTime() / 1000),
    });
    let attempts = 0;
    let last: { status: number } | { error: string } = { error: 'not sent' };
    for (const delay of [0, ...retryDelaysMs]) {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      attempts += 1;
      last = await post(client.backchannelLogoutUri, logoutToken);
      // §2.8: 200 (or 204) is success; 400 says the RP refused this token, which a retry would not change.
      if ('status' in last && (last.status === 200 || last.status === 204 || last.status === 400)) break;
    }
    const delivered = 'status' in last && (last.status === 200 || last.status === 204);
    const details = { clientId: client.clientId, sid: grant.ssoSid, attempts, ...last };
    if (delivered) deps.log.info(details, 'back-channel logout delivered');
    else deps.log.warn(details, 'back-channel logout not delivered');
    await deps.audit.append({
      at: deps.clock.now(), type: 'backchannel_logout', outcome: delivered ? 'success' : 'failure', subject: grant.sub, certificateSha256: grant.certificateSha256, details,
    });
  }

  const channel: BackChannel = {
    async notify(ended) {
      const results = await Promise.allSettled(ended.map(send));
      for (const result of results) {
        if (result.status === 'rejected') deps.log.warn({ err: result.reason }, 'back-channel logout could not be prepared');
      }
    },
    async certificateRevoked(certificate) {
      await deps.sso.endAllOfCertificate(certificate);
      await channel.notify(await deps.grants.endAllOfCertificate(certificate));
    },
  };
  return channel;
}
