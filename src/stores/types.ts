// Storage interfaces the domain depends on. Implementations: redis.ts / memory.ts for
// short-lived records, sql.ts for durable ones. Only main.ts, scripts/ and tests construct them.

/**
 * Short-lived records (challenges, interactions, codes, sessions). Values are JSON.
 * `take` is atomic across every instance sharing the store: of concurrent takers of one
 * key, exactly one gets the value.
 */
export interface EphemeralStore {
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  take<T>(key: string): Promise<T | undefined>;
  delete(key: string): Promise<void>;
  /** Adds `member` to the set at `key` (created with the TTL, extended never shortened). */
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  /** Atomically reads and removes the whole set. */
  takeSet(key: string): Promise<string[]>;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface SigningKeyRecord {
  kid: string;
  alg: 'ES256';
  /** Private JWK as JSON text, or its AES-256-GCM envelope when KEYS_SECRET is set. */
  privateKey: string;
  /** Public JWK as JSON text. */
  publicKey: string;
  createdAt: Date;
  /** Set when a newer key took over; the key stays published until its tokens expire. */
  retiredAt: Date | null;
}

export interface SigningKeyStore {
  list(): Promise<SigningKeyRecord[]>;
  insert(record: SigningKeyRecord): Promise<void>;
  retire(kid: string, at: Date): Promise<void>;
}

export type RevocationReason =
  | 'unspecified' | 'keyCompromise' | 'cACompromise' | 'affiliationChanged' | 'superseded'
  | 'cessationOfOperation' | 'certificateHold' | 'removeFromCRL' | 'privilegeWithdrawn' | 'aACompromise';

export interface RevocationRecord {
  /** Canonical issuer DN (see pki canonicalDn) and upper-case hex serial identify a certificate. */
  issuer: string;
  serialHex: string;
  reason: RevocationReason;
  revokedAt: Date;
  /** Fingerprint when the operator gave the certificate itself. */
  sha256?: string;
  source: string;
}

export interface RevocationStore {
  find(issuer: string, serialHex: string): Promise<RevocationRecord | undefined>;
  /** Inserts or keeps the existing record (idempotent); returns whether it was new. */
  add(record: RevocationRecord): Promise<boolean>;
  remove(issuer: string, serialHex: string): Promise<boolean>;
  list(options?: { limit?: number; offset?: number }): Promise<RevocationRecord[]>;
}

export type AuditOutcome = 'success' | 'failure';

export interface AuditEvent {
  at: Date;
  type: string; // e.g. 'sign_in', 'logout', 'revocation', 'key_rotation'
  outcome: AuditOutcome;
  /** Error code of a failure. */
  code?: string;
  actor?: string;
  certificateSha256?: string;
  subject?: string;
  requestId?: string;
  details?: Record<string, unknown>;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
}

/** The durable side: one SQL database behind knex. */
export interface Database {
  signingKeys: SigningKeyStore;
  revocations: RevocationStore;
  audit: AuditStore;
  ping(): Promise<void>;
  close(): Promise<void>;
}
