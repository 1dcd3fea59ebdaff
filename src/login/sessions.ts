// Sessions: a JWT access token (ES256, `kid`, RFC 9068 `at+jwt`) whose record lives in the
// short-lived store until `exp`. A token whose record is gone is refused everywhere.
import { randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import { ServiceError } from '../errors.ts';
import type { KeyRing } from '../oidc/keys.ts';
import type { Identity } from '../pki/model.ts';
import type { EphemeralStore } from '../stores/types.ts';

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
  identity: Identity;
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
}

export interface Sessions {
  create(input: NewSession): Promise<CreatedSession>;
  /** Verifies a bearer token and that its session still lives; throws `session_invalid` otherwise. */
  authenticate(token: string): Promise<SessionRecord>;
  end(record: SessionRecord): Promise<void>;
}

export interface SessionOptions {
  store: EphemeralStore;
  keys: KeyRing;
  clock: Clock;
  issuer: string;
  ttlSeconds: number;
}

export const sessionKey = (sid: string) => `session:${sid}`;
export const certificateSessionsKey = (sha256: string) => `cert-sessions:${sha256}`;

const randomId = () => randomBytes(18).toString('base64url');

export function createSessions({ store, keys, clock, issuer, ttlSeconds }: SessionOptions): Sessions {
  return {
    async create(input) {
      const now = Math.floor(clock.now().getTime() / 1000);
      const record: SessionRecord = {
        sid: randomId(),
        jti: randomId(),
        sub: input.sub,
        aud: input.audience ?? issuer,
        authTime: input.authTime ?? now,
        expiresAt: now + ttlSeconds,
        amr: input.amr,
        acr: input.acr,
        certificateSha256: input.identity.certificate.sha256,
        identity: input.identity,
      };
      // RFC 9068 access token claims, plus RFC 8705 §3.1 `cnf`: the certificate thumbprint
      // binds the token to the certificate that signed in.
      const accessToken = keys.signJwt({
        iss: issuer,
        sub: record.sub,
        aud: record.aud,
        iat: now,
        exp: record.expiresAt,
        jti: record.jti,
        sid: record.sid,
        auth_time: record.authTime,
        amr: record.amr,
        acr: record.acr,
        cnf: { 'x5t#S256': Buffer.from(record.certificateSha256, 'hex').toString('base64url') },
      }, 'at+jwt');
      await store.put(sessionKey(record.sid), record, ttlSeconds);
      // Indexed by certificate so a revocation can end every session it opened.
      await store.addToSet(certificateSessionsKey(record.certificateSha256), record.sid, ttlSeconds);
      return { accessToken, expiresIn: ttlSeconds, record };
    },

    async authenticate(token) {
      const claims = await verifyToken(token);
      const record = await store.get<SessionRecord>(sessionKey(claims.sid));
      if (record === undefined || record.jti !== claims.jti) {
        throw new ServiceError('session_invalid', 'the session has ended');
      }
      return record;
    },

    async end(record) {
      await store.delete(sessionKey(record.sid));
    },
  };

  async function verifyToken(token: string): Promise<{ sid: string; jti: string }> {
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
          typ: 'at+jwt',
          currentDate: clock.now(),
          requiredClaims: ['exp', 'iat', 'jti', 'sid', 'sub', 'aud'],
        },
      );
      if (typeof payload.sid !== 'string' || typeof payload.jti !== 'string') throw new Error('claims');
      return { sid: payload.sid, jti: payload.jti };
    } catch (cause) {
      if (cause instanceof ServiceError) throw cause;
      throw new ServiceError('session_invalid', 'the access token is not valid', { cause });
    }
  }
}
