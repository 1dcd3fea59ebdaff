// The short-lived OIDC records in the ephemeral store (STYLE rule 4): interactions, codes,
// grants and refresh tokens. A grant is one sign-in of one citizen at one agency app: it
// names the live session (the access token), the refresh token family and the `sid` the
// client sees in ID and logout tokens. Codes and refresh tokens are stored by SHA-256 only,
// so a store dump hands out nothing redeemable.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Identity } from '../pki/x509/model.ts';
import type { CreatedSession, SessionEnding } from '../sessions/sessions.ts';
import type { CertificateKey, EphemeralStore } from '../stores/types.ts';

/** What a valid authorization request asked for (OIDC Core §3.1.2.1), kept until the code is redeemed. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scope: string[];
  state?: string;
  nonce?: string;
  codeChallenge: string;
  uiLocales?: string[];
  /** RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (dpop_jkt, or the PAR request's proof). */
  dpopJkt?: string;
  /** OAuth 2.0 Form Post Response Mode: the response is POSTed to the redirect_uri; absent: the query. */
  responseMode?: 'form_post';
  /** OIDC Core §3.1.2.1 prompt values (none alone, or any of login, consent, select_account). */
  prompt?: string[];
  /** Seconds: a single sign-on session signed longer ago is not reused. */
  maxAge?: number;
  /** The levels asked for that this service knows, in the agency's order. */
  acrValues?: string[];
  /** The `sub` of the id_token_hint (as this client sees it): a session of anyone else is not reused. */
  hintSub?: string;
}

export interface Interaction {
  id: string;
  request: AuthorizationRequest;
  /** SHA-256 of the browser cookie: only that browser may finish the sign-in. */
  browser: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The single sign-on session offered on the continue page; absent: the citizen signs. */
  sso?: string;
}

export interface CodeRecord {
  grantId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  /** The session's JWT, handed out once by the token endpoint. */
  accessToken: string;
  expiresAt: number;
  /** RFC 9449 §10: only a DPoP proof with this key redeems the code. */
  dpopJkt?: string;
}

export interface Grant {
  grantId: string;
  clientId: string;
  /** The subject as this client sees it (pairwise by default). */
  sub: string;
  scope: string[];
  nonce?: string;
  authTime: number;
  acr: string;
  amr: string[];
  identity: Identity;
  certificateSha256: string;
  /** The signer's path, leaf first: refreshed sessions carry it, revocation of any of it ends the grant. */
  certificatePath: CertificateKey[];
  /** The live session (access token) of this grant. */
  sid: string;
  refreshHash: string | null;
  /** The single sign-on session it was made in: the `sid` of its ID, access and logout tokens. */
  ssoSid: string;
  /** Seconds since the epoch: the absolute end of the grant, refreshes included. */
  expiresAt: number;
}

/** RFC 9700 §4.2 / ASVS 10.4.3 (L3): a code lives at most 60 s. */
export const codeTtlSeconds = 60;
/** Long enough to pick a key file and type a password twice. */
export const interactionTtlSeconds = 600;
/** NIST SP 800-63B §4.3.3 (AAL3): re-authentication at the latest 12 h after sign-in. */
export const grantTtlSeconds = 12 * 3600;
/**
 * NIST SP 800-63B §4.3.3 (AAL3) inactivity: a refresh token unused for 15 minutes is dead.
 * Access tokens live 10 minutes by default, so an agency app in use refreshes well within it.
 */
export const refreshIdleSeconds = 15 * 60;

export interface RefreshRecord {
  grantId: string;
  clientId: string;
  /** Milliseconds since the epoch: unused until then, the token is dead. */
  idleUntil: number;
  /** RFC 9449 §5: a public client's refresh token works only with a DPoP proof of this key. */
  jkt?: string;
}

/** How a refresh token comes out of a renewal: a new one (rotation), or the same one kept alive. */
export interface RefreshIssue {
  /** The token presented, kept instead of rotated (FAPI 2.0 §5.3.2.1, RFC 9449 §5). */
  keep?: string;
  /** The DPoP key the refresh token is bound to. */
  jkt?: string;
}

/** How long a redeemed code or a rotated refresh token is remembered, to catch its reuse. */
const reuseMemorySeconds = grantTtlSeconds;

const keys = {
  interaction: (id: string) => `oidc:interaction:${id}`,
  code: (hash: string) => `oidc:code:${hash}`,
  codeUsed: (hash: string) => `oidc:code-used:${hash}`,
  grant: (id: string) => `oidc:grant:${id}`,
  ended: (id: string) => `oidc:grant-ended:${id}`,
  refresh: (hash: string) => `oidc:refresh:${hash}`,
  refreshUsed: (hash: string) => `oidc:refresh-used:${hash}`,
  sessionGrant: (sid: string) => `oidc:session-grant:${sid}`,
  certificateGrants: (sha256: string) => `oidc:cert-grants:${sha256}`,
  serialGrants: (key: CertificateKey) => `oidc:serial-grants:${sha256(key.issuer)}:${key.serialHex}`,
  ssoGrants: (ssoSid: string) => `oidc:sso-grants:${ssoSid}`,
};

export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url');

export type Taken<T> = { found: T } | { reusedBy: string } | { unknown: true };

export interface Grants {
  putInteraction(interaction: Interaction): Promise<void>;
  getInteraction(id: string): Promise<Interaction | undefined>;
  takeInteraction(id: string): Promise<Interaction | undefined>;
  /** Records the grant of a sign-in (or a continue) in an SSO session and returns its authorization code. */
  start(request: AuthorizationRequest, session: CreatedSession, ssoSid: string): Promise<string>;
  /** Atomically takes a code; an attempt after a completed redemption learns which grant it opened. */
  takeCode(code: string): Promise<Taken<CodeRecord>>;
  /**
   * Remembers a redemption once its tokens are out. Written only then, so a concurrent
   * duplicate (docs/security-cases.md #101) is merely refused and cannot revoke the winner mid-flight;
   * a later replay (#100) revokes what the redemption produced.
   */
  codeRedeemed(code: string, grantId: string): Promise<void>;
  get(grantId: string): Promise<Grant | undefined>;
  ofSession(sid: string): Promise<Grant | undefined>;
  /**
   * Makes `session` the grant's live session and issues a new refresh token (rotation), or
   * keeps the presented one alive (`refresh.keep`);
   * undefined, with everything it made undone, when the grant was ended meanwhile.
   */
  renew(grant: Grant, session: CreatedSession | undefined, refresh?: RefreshIssue): Promise<string | undefined>;
  takeRefresh(token: string): Promise<Taken<RefreshRecord>>;
  /** Remembers a rotated refresh token, after its successor is issued (as codeRedeemed). */
  refreshRotated(token: string, grantId: string): Promise<void>;
  /** The refresh token's record while it is usable (not rotated, revoked or idle too long). */
  findRefresh(token: string): Promise<RefreshRecord | undefined>;
  /** Ends the grant: its session, its refresh token; returns it when it was still live. */
  end(grantId: string): Promise<Grant | undefined>;
  endSession(sid: string): Promise<void>;
  /** Ends the grants of an SSO session: all of them, or only those of `clientId`. */
  endInSso(ssoSid: string, clientId?: string): Promise<Grant[]>;
  /** Every grant of a certificate, by fingerprint or by issuer and serial (also as a CA on the path). */
  endAllOfCertificate(certificate: Partial<CertificateKey> & { sha256?: string }): Promise<Grant[]>;
}

export function createGrants({ store, clock, sessions }: { store: EphemeralStore; clock: Clock; sessions: SessionEnding }): Grants {
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  const remaining = (grant: Grant) => Math.max(1, grant.expiresAt - nowSeconds());

  async function take<T>(key: string, usedKey: string): Promise<Taken<T>> {
    const value = await store.take<T>(key);
    if (value === undefined) {
      const reusedBy = await store.get<string>(usedKey);
      return reusedBy === undefined ? { unknown: true } : { reusedBy };
    }
    return { found: value };
  }

  async function save(grant: Grant): Promise<void> {
    await store.put(keys.grant(grant.grantId), grant, remaining(grant));
  }

  const grants: Grants = {
    // Written for a browser nobody has authenticated yet: evictable, like a challenge.
    putInteraction: (interaction) => store.put(keys.interaction(interaction.id), interaction, interactionTtlSeconds, { evictable: true }),
    getInteraction: (id) => store.get<Interaction>(keys.interaction(id)),
    takeInteraction: (id) => store.take<Interaction>(keys.interaction(id)),

    async start(request, session, ssoSid) {
      const { record } = session;
      const grant: Grant = {
        grantId: randomToken(18),
        clientId: request.clientId,
        sub: record.sub,
        scope: request.scope,
        ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
        authTime: record.authTime,
        acr: record.acr,
        amr: record.amr,
        identity: record.identity,
        certificateSha256: record.certificateSha256,
        certificatePath: record.certificatePath ?? [],
        sid: record.sid,
        refreshHash: null,
        ssoSid,
        expiresAt: record.authTime + grantTtlSeconds,
      };
      await save(grant);
      await store.put(keys.sessionGrant(record.sid), grant.grantId, session.expiresIn);
      // Indexes for logout: every grant of this SSO session, every grant of this certificate.
      await store.addToSet(keys.certificateGrants(grant.certificateSha256), grant.grantId, grantTtlSeconds);
      for (const key of grant.certificatePath) await store.addToSet(keys.serialGrants(key), grant.grantId, grantTtlSeconds);
      await store.addToSet(keys.ssoGrants(ssoSid), grant.grantId, grantTtlSeconds);
      const code = randomToken();
      const codeRecord: CodeRecord = {
        grantId: grant.grantId,
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        codeChallenge: request.codeChallenge,
        accessToken: session.accessToken,
        expiresAt: clock.now().getTime() + codeTtlSeconds * 1000,
        ...(request.dpopJkt === undefined ? {} : { dpopJkt: request.dpopJkt }),
      };
      await store.put(keys.code(sha256(code)), codeRecord, codeTtlSeconds);
      return code;
    },

    takeCode: (code) => take<CodeRecord>(keys.code(sha256(code)), keys.codeUsed(sha256(code))),
    codeRedeemed: (code, grantId) => store.put(keys.codeUsed(sha256(code)), grantId, reuseMemorySeconds),

    get: (grantId) => store.get<Grant>(keys.grant(grantId)),

    async ofSession(sid) {
      const grantId = await store.get<string>(keys.sessionGrant(sid));
      return grantId === undefined ? undefined : grants.get(grantId);
    },

    async renew(grant, session, refresh = {}) {
      if (session !== undefined) {
        await grants.endSession(grant.sid);
        grant.sid = session.record.sid;
        await store.put(keys.sessionGrant(session.record.sid), grant.grantId, session.expiresIn);
      }
      const token = refresh.keep ?? randomToken();
      grant.refreshHash = sha256(token);
      await save(grant);
      const record: RefreshRecord = {
        grantId: grant.grantId, clientId: grant.clientId, idleUntil: clock.now().getTime() + refreshIdleSeconds * 1000,
        ...(refresh.jkt === undefined ? {} : { jkt: refresh.jkt }),
      };
      await store.put(keys.refresh(grant.refreshHash), record, Math.min(remaining(grant), refreshIdleSeconds));
      // A logout or revocation that ended the grant while this request ran must win: `end`
      // marks the grant before it deletes, so checking after writing sees it (or `end`
      // finds and deletes what was just written).
      if (await store.get(keys.ended(grant.grantId)) !== undefined) {
        await grants.end(grant.grantId);
        if (session !== undefined) await grants.endSession(session.record.sid);
        return undefined;
      }
      return token;
    },

    takeRefresh: (token) => take<RefreshRecord>(keys.refresh(sha256(token)), keys.refreshUsed(sha256(token))),
    refreshRotated: (token, grantId) => store.put(keys.refreshUsed(sha256(token)), grantId, reuseMemorySeconds),
    async findRefresh(token) {
      const record = await store.get<RefreshRecord>(keys.refresh(sha256(token)));
      return record !== undefined && record.idleUntil > clock.now().getTime() ? record : undefined;
    },

    async end(grantId) {
      await store.put(keys.ended(grantId), 1, grantTtlSeconds);
      const grant = await store.take<Grant>(keys.grant(grantId));
      if (grant === undefined) return undefined;
      if (grant.refreshHash !== null) await store.delete(keys.refresh(grant.refreshHash));
      await grants.endSession(grant.sid);
      return grant;
    },

    async endSession(sid) {
      await sessions.end(sid);
      await store.delete(keys.sessionGrant(sid));
    },

    async endInSso(ssoSid, clientId) {
      const ids = await store.takeSet(keys.ssoGrants(ssoSid));
      if (clientId === undefined) return endAll(ids);
      const found = await Promise.all(ids.map((id) => grants.get(id)));
      const mine = found.filter((grant): grant is Grant => grant?.clientId === clientId).map((grant) => grant.grantId);
      // The other agencies' grants stay in the session.
      for (const id of ids) if (!mine.includes(id)) await store.addToSet(keys.ssoGrants(ssoSid), id, grantTtlSeconds);
      return endAll(mine);
    },

    async endAllOfCertificate(certificate) {
      const ids = new Set<string>();
      if (certificate.sha256 !== undefined) for (const id of await store.takeSet(keys.certificateGrants(certificate.sha256))) ids.add(id);
      if (certificate.issuer !== undefined && certificate.serialHex !== undefined) {
        for (const id of await store.takeSet(keys.serialGrants({ issuer: certificate.issuer, serialHex: certificate.serialHex }))) ids.add(id);
      }
      return endAll([...ids]);
    },
  };

  async function endAll(grantIds: string[]): Promise<Grant[]> {
    const ended = await Promise.all(grantIds.map((id) => grants.end(id)));
    return ended.filter((grant): grant is Grant => grant !== undefined);
  }

  return grants;
}
