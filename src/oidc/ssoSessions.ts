// The OP session of single sign-on (modelled on Estonia's GovSSO v2): after a signature on the
// sign-in page, one record in the shared store names who signed, when, how well, with which
// certificate path, and which agencies received tokens in it. The browser holds only a random
// `sid.secret` in an httpOnly cookie; the store holds the secret's SHA-256, so a store dump
// opens no session and a guessed sid is useless. Every instance sharing the store sees the
// same record, so a session started on one continues on another and ends on all.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Identity } from '../pki/x509/model.ts';
import type { CertificateKey, EphemeralStore } from '../stores/types.ts';
import { sha256 } from './grants.ts';

export interface SsoSession {
  /** The `sid` every agency sees in this session's ID, access and logout tokens (OIDC Front/Back-Channel Logout §2). */
  sid: string;
  secretHash: string;
  /** The direct-API subject (`pinfl:…` or the certificate's): agencies get their own from it. */
  subject: string;
  identity: Identity;
  /** Seconds since the epoch: the signature, which reuse never refreshes (OIDC Core §2 auth_time). */
  authTime: number;
  acr: string;
  amr: string[];
  certificateSha256: string;
  certificatePath: CertificateKey[];
  /** The agencies (client_ids) the citizen went on to in this session, in order. */
  clients: string[];
  /** Seconds since the epoch: the session ends at the earlier of the two. */
  idleUntil: number;
  expiresAt: number;
}

/** `sid` from newSsoSid(): the sign-in's own session carries it before the OP session exists. */
export type NewSsoSession = Omit<SsoSession, 'secretHash' | 'clients' | 'idleUntil' | 'expiresAt'>;

export interface SsoSessions {
  /** A new session and the cookie value naming it; never reuses an identifier a browser brought (session fixation). */
  start(input: NewSsoSession, firstClient: string): Promise<{ session: SsoSession; cookie: string }>;
  /**
   * A new signature by the session's own citizen (prompt=login, max_age, a higher level): the
   * same session (its sid, its agencies) now carries this authentication, under a new cookie.
   * Undefined when it ended meanwhile.
   */
  reauthenticate(sid: string, input: NewSsoSession, client: string): Promise<{ session: SsoSession; cookie: string } | undefined>;
  /** The live session the cookie names; undefined for a missing, forged, ended, idle or expired one. */
  open(cookie: string | undefined): Promise<SsoSession | undefined>;
  /** The live session by sid (a token's, a logout hint's). */
  find(sid: string): Promise<SsoSession | undefined>;
  /**
   * Another authorize or refresh in the session: the idle time starts again (never past the
   * absolute end) and `client` is remembered. Undefined when the session ended meanwhile.
   */
  touch(sid: string, client?: string): Promise<SsoSession | undefined>;
  /** The citizen signed out of one agency: the session goes on without it (prompt=none there needs the continue page again). */
  leave(sid: string, client: string): Promise<SsoSession | undefined>;
  /** Ends the session on every instance; returns it when it was still there. */
  end(sid: string): Promise<SsoSession | undefined>;
  /** Ends every session of a certificate (fingerprint) or under it (issuer and serial, also a CA's); their sids. */
  endAllOfCertificate(certificate: Partial<CertificateKey> & { sha256?: string }): Promise<string[]>;
}

export interface SsoOptions {
  store: EphemeralStore;
  clock: Clock;
  idleSeconds: number;
  maxSeconds: number;
}

const keys = {
  session: (sid: string) => `oidc:sso:${sid}`,
  ended: (sid: string) => `oidc:sso-ended:${sid}`,
  certificate: (sha: string) => `oidc:cert-sso:${sha}`,
  serial: (key: CertificateKey) => `oidc:serial-sso:${sha256(key.issuer)}:${key.serialHex}`,
};

const cookiePattern = /^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/;

export const newSsoSid = () => randomBytes(18).toString('base64url');

export function createSsoSessions({ store, clock, idleSeconds, maxSeconds }: SsoOptions): SsoSessions {
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  const live = (session: SsoSession | undefined): SsoSession | undefined => {
    const now = nowSeconds();
    return session !== undefined && session.idleUntil > now && session.expiresAt > now ? session : undefined;
  };
  // The store's own expiry is only housekeeping: the checks above, on the injected clock, decide.
  const save = (session: SsoSession) => store.put(keys.session(session.sid), session, Math.max(1, session.idleUntil - nowSeconds()));

  /** A signature's session: a new secret (the cookie rotates), the idle and absolute clocks from now. */
  async function write(input: NewSsoSession, clients: string[]): Promise<{ session: SsoSession; cookie: string }> {
    const now = nowSeconds();
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = Math.min(input.authTime + maxSeconds, now + maxSeconds);
    const session: SsoSession = { ...input, secretHash: sha256(secret), clients, idleUntil: Math.min(now + idleSeconds, expiresAt), expiresAt };
    await save(session);
    // Indexes for revocation, kept as long as the session can live.
    await store.addToSet(keys.certificate(session.certificateSha256), session.sid, maxSeconds);
    for (const key of session.certificatePath) await store.addToSet(keys.serial(key), session.sid, maxSeconds);
    return { session, cookie: `${session.sid}.${secret}` };
  }

  /** Rewrites a live session; an end that ran meanwhile wins: `end` marks before it deletes (as grants do). */
  async function change(sid: string, edit: (session: SsoSession) => void): Promise<SsoSession | undefined> {
    const session = await sessions.find(sid);
    if (session === undefined) return undefined;
    edit(session);
    await save(session);
    if (await store.get(keys.ended(sid)) !== undefined) {
      await store.delete(keys.session(sid));
      return undefined;
    }
    return session;
  }

  const sessions: SsoSessions = {
    start: (input, firstClient) => write(input, [firstClient]),

    async reauthenticate(sid, input, client) {
      const current = await sessions.find(sid);
      if (current === undefined) return undefined;
      const written = await write({ ...input, sid }, current.clients.includes(client) ? current.clients : [...current.clients, client]);
      if (await store.get(keys.ended(sid)) !== undefined) {
        await store.delete(keys.session(sid));
        return undefined;
      }
      return written;
    },

    async open(cookie) {
      const match = cookiePattern.exec(cookie ?? '');
      if (match === null) return undefined;
      const session = await sessions.find(match[1] as string);
      if (session === undefined) return undefined;
      const expected = Buffer.from(session.secretHash);
      const presented = Buffer.from(sha256(match[2] as string));
      return expected.length === presented.length && timingSafeEqual(expected, presented) ? session : undefined;
    },

    find: async (sid) => live(await store.get<SsoSession>(keys.session(sid))),

    touch: (sid, client) => change(sid, (session) => {
      session.idleUntil = Math.min(nowSeconds() + idleSeconds, session.expiresAt);
      if (client !== undefined && !session.clients.includes(client)) session.clients.push(client);
    }),

    leave: (sid, client) => change(sid, (session) => {
      session.clients = session.clients.filter((id) => id !== client);
    }),

    async end(sid) {
      await store.put(keys.ended(sid), 1, maxSeconds);
      return live(await store.take<SsoSession>(keys.session(sid)));
    },

    async endAllOfCertificate(certificate) {
      const sids = new Set<string>();
      if (certificate.sha256 !== undefined) for (const sid of await store.takeSet(keys.certificate(certificate.sha256))) sids.add(sid);
      if (certificate.issuer !== undefined && certificate.serialHex !== undefined) {
        for (const sid of await store.takeSet(keys.serial({ issuer: certificate.issuer, serialHex: certificate.serialHex }))) sids.add(sid);
      }
      await Promise.all([...sids].map((sid) => sessions.end(sid)));
      return [...sids];
    },
  };
  return sessions;
}
