// OIDC Back-Channel Logout 1.0: when grants end (the citizen logs out, or their certificate
// is revoked), each agency app that registered a backchannel_logout_uri gets a logout token
// (§2.5). Best effort: a short timeout, failures logged, never retried, never blocking the
// caller's own logout (§2.8: the OP cannot make an RP act).
import type { Clock } from '../clock.ts';
import type { CertificateKey, ClientStore } from '../stores/types.ts';
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
  log: { info(object: object, message: string): void; warn(object: object, message: string): void };
  timeoutMs?: number;
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

export function createBackChannel(deps: BackChannelDeps): BackChannel {
  const timeoutMs = deps.timeoutMs ?? 5000;

  async function send(grant: Grant): Promise<void> {
    const client = await deps.clients.find(grant.clientId);
    if (client?.backchannelLogoutUri == null) return;
    const logoutToken = signLogoutToken(deps.keys, {
      issuer: deps.issuer, clientId: client.clientId, sub: grant.sub, sid: grant.ssoSid, now: Math.floor(deps.clock.now().getTime() / 1000),
    });
    try {
      // §2.5: form-encoded POST; redirects are not followed (the registered URI is the target).
      const res = await fetch(client.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: logoutToken }),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 204) deps.log.info({ clientId: client.clientId, sid: grant.grantId }, 'back-channel logout delivered');
      else deps.log.warn({ clientId: client.clientId, sid: grant.grantId, status: res.status }, 'back-channel logout refused');
    } catch (error) {
      deps.log.warn({ clientId: client.clientId, sid: grant.grantId, err: error }, 'back-channel logout failed');
    }
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
