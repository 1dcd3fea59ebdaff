// Sessions: a JWT access token (ES256, `kid`, RFC 9068 `at+jwt`) whose record lives in the
// short-lived store until `exp`. A token whose record is gone is refused everywhere.
import { createHash, randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import { ServiceError } from '../errors.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import type { Identity } from '../pki/x509/model.ts';
import type { CertificateKey, EphemeralStore } from '../stores/types.ts';

export interface SessionRecord {
  sid: string;
  jti: string;
  sub: string;
  aud: string;
  /** Seconds since the epoch. */
  authTime: number;
  expiresAt: number;
  amr: string[];
  acr: string;
  certificateSha256: string;
  /** The signer's path, leaf first (issuer and serial of each), so a revocation of any of them ends it. */
  certificatePath?: CertificateKey[];
  identity: Identity;
  /** RFC 9449 §6: the thumbprint of the DPoP key the access token is bound to; absent for a bearer token. */
  jkt?: string;
  /** The single sign-on session an agency's session belongs to: the `sid` its token shows. */
  opSid?: string;
}

export interface CreatedSession {
  accessToken: string;
  expiresIn: number;
  record: SessionRecord;
}

export interface NewSession {
  sub: string;
  identity: Identity;
  amr: string[];
  acr: string;
  /** Defaults to the issuer: a direct-API session is for this service's own API. */
  audience?: string;
  /** When the citizen signed in (seconds); defaults to now. OIDC refresh keeps the original. */
  authTime?: number;
  /** The validated path, leaf first; a refresh passes on the record's. */
  certificatePath?: CertificateKey[];
  /** Binds the access token to a DPoP key (RFC 9449 §6): only a proof signed with it opens the session. */
  jkt?: string;
  /** An agency's session: the single sign-on session it belongs to, whose sid its token carries. */
  opSid?: string;
}

export interface Sessions {
  create(input: NewSession): Promise<CreatedSession>;
  /**
   * Verifies a bearer token and that its session still lives; throws `session_invalid` otherwise.
   * `audience` defaults to this service: an agency's token (aud = its client_id) does not
   * open the direct API, which would show it identity claims its scopes withheld (#88).
   */
  authenticate(token: string, audience?: string): Promise<SessionRecord>;
  /** Ends one session (logout, a replaced OIDC session); its token is refused from then on. */
  end(sid: string): Promise<void>;
  /** Ends every session opened by a certificate or under it, on every instance sharing the store; returns how many. */
  endForCertificate(certificate: CertificateKey & { sha256?: string }): Promise<number>;
}

/** The half of Sessions that needs no signing key: what the operator CLI and the revocation watcher use. */
export type SessionEnding = Pick<Sessions, 'end' | 'endForCertificate'>;

export interface SessionOptions {
  store: EphemeralStore;
  keys: KeyRing;
  clock: Clock;
  issuer: string;
  ttlSeconds: number;
  /** What this instance knows was revoked lately (src/revocation/watcher.ts): refused at once. */
  revoked?: { isRevoked(path: readonly CertificateKey[]): Promise<boolean> };
}

// The store's key layout is this module's alone: nothing else reads or deletes sessions.
const sessionKey = (sid: string) => `session:${sid}`;
const certificateSessionsKey = (sha256: string) => `cert-sessions:${sha256}`;
// The same index by issuer and serial, for a revocation that names no fingerprint
// (`revoke --serial --issuer`, a CRL entry). The DN is hashed to keep the key short.
const serialSessionsKey = (key: CertificateKey) =>
  `serial-sessions:${createHash('sha256').update(key.issuer).digest('hex')}:${key.serialHex}`;

export function createSessionEnding(store: EphemeralStore): SessionEnding {
  return {
    end: (sid) => store.delete(sessionKey(sid)),
    async endForCertificate(certificate) {
      const sids = new Set(await store.takeSet(serialSessionsKey(certificate)));
      if (certificate.sha256 !== undefined) for (const sid of await store.takeSet(certificateSessionsKey(certificate.sha256))) sids.add(sid);
      await Promise.all([...sids].map((sid) => store.delete(sessionKey(sid))));
      return sids.size;
    },
  };
}

/**
 * Writes a session's record and its indexes, as a sign-in does (also how `npm run bench --
 * --sessions N` fills a store with live sessions without signing N tokens).
 */
export async function storeSession(store: EphemeralStore, record: SessionRecord, ttlSeconds: number): Promise<void> {
  // Indexed by certificate so a revocation can end every session it opened. The record and its
  // indexes are written together: a revocation ending the session between the two writes is
  // caught by the check create() makes once all are written (docs/security-cases.md #121).
  const leaf = record.certificatePath?.[0];
  await Promise.all([
    store.put(sessionKey(record.sid), record, ttlSeconds),
    store.addToSet(certificateSessionsKey(record.certificateSha256), record.sid, ttlSeconds),
    ...(leaf === undefined ? [] : [store.addToSet(serialSessionsKey(leaf), record.sid, ttlSeconds)]),
  ]);
}

const randomId = () => randomBytes(18).toString('base64url');

export function createSessions({ store, keys, clock, issuer, ttlSeconds, revoked }: SessionOptions): Sessions {
  const isRevoked = async (record: SessionRecord) =>
    record.certificatePath !== undefined && revoked !== undefined && (await revoked.isRevoked(record.certificatePath));

  const ending = createSessionEnding(store);
  return {
    ...ending,
    async create(input) {
      const now = Math.floor(clock.now().getTime() / 1000);
      // The token's jti names the record, so an agency's token can show its OP session's sid.
      const id = randomId();
      const record: SessionRecord = {
        sid: id,
        jti: id,
        sub: input.sub,
        aud: input.audience ?? issuer,
        authTime: input.authTime ?? now,
        expiresAt: now + ttlSeconds,
        amr: input.amr,
        acr: input.acr,
        certificateSha256: input.identity.certificate.sha256,
        ...(input.certificatePath === undefined ? {} : { certificatePath: input.certificatePath }),
        identity: input.identity,
        ...(input.jkt === undefined ? {} : { jkt: input.jkt }),
        ...(input.opSid === undefined ? {} : { opSid: input.opSid }),
      };
      // RFC 9068 access token claims, plus `cnf` (RFC 7800 §3.1: one key it is bound to): the
      // DPoP key's thumbprint (RFC 9449 §6.1) when it is DPoP-bound; on the direct API's own
      // tokens, whose caller is the citizen, else the thumbprint of the certificate that signed
      // in (RFC 8705 §3.1). An agency's bearer token carries none: the certificate's thumbprint
      // would be one value linking the citizen across agencies, which pairwise subjects avoid.
      const cnf = record.jkt !== undefined ? { jkt: record.jkt }
        : record.aud === issuer ? { 'x5t#S256': Buffer.from(record.certificateSha256, 'hex').toString('base64url') } : undefined;
      const accessToken = keys.signJwt({
        iss: issuer,
        sub: record.sub,
        aud: record.aud,
        iat: now,
        exp: record.expiresAt,
        jti: record.jti,
        sid: record.opSid ?? record.sid,
        auth_time: record.authTime,
        amr: record.amr,
        acr: record.acr,
        ...(cnf === undefined ? {} : { cnf }),
      }, 'at+jwt');
      await storeSession(store, record, ttlSeconds);
      // docs/security-cases.md #121: a revocation this instance learnt of after the sign-in's check
      // but before the index above existed would miss this session; look again now that it
      // is indexed (anything learnt later finds it there).
      if (await isRevoked(record)) {
        await store.delete(sessionKey(record.sid));
        throw new ServiceError('certificate_revoked', 'the certificate was revoked during the sign-in');
      }
      return { accessToken, expiresIn: ttlSeconds, record };
    },

    async authenticate(token, audience = issuer) {
      const claims = await verifyToken(token, audience);
      const record = await store.get<SessionRecord>(sessionKey(claims.jti));
      if (record === undefined || record.jti !== claims.jti) {
        throw new ServiceError('session_invalid', 'the session has ended');
      }
      // Also when the record outlived the revocation (a lost DEL on a Redis failover, #146).
      if (await isRevoked(record)) {
        await store.delete(sessionKey(record.sid));
        throw new ServiceError('session_invalid', 'the session has ended: its certificate was revoked');
      }
      return record;
    },
  };

  async function verifyToken(token: string, audience: string): Promise<{ jti: string }> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid === undefined ? undefined : await keys.publicKey(header.kid);
          if (key === undefined) throw new Error('unknown kid');
          return key;
        },
        {
          algorithms: ['ES256'],
          issuer,
          audience,
          typ: 'at+jwt',
          currentDate: clock.now(),
          requiredClaims: ['exp', 'iat', 'jti', 'sid', 'sub', 'aud'],
        },
      );
      if (typeof payload.jti !== 'string') throw new Error('claims');
      return { jti: payload.jti };
    } catch (cause) {
      if (cause instanceof ServiceError) throw cause;
      throw new ServiceError('session_invalid', 'the access token is not valid', { cause });
    }
  }
}
