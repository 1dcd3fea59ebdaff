// Storage interfaces the domain depends on. Implementations: redis.ts / memory.ts for
// short-lived records, sql/ for durable ones. Only main.ts, scripts/ and tests construct them.
import { ServiceError } from '../errors.ts';

/**
 * A store did not answer in time (down, timed out, full). It is a ServiceError with code
 * `unavailable` (503) so the HTTP layer needs no store knowledge; `detail` stays generic
 * because 5xx details reach the wire, the driver's error rides in `cause` for the logs.
 * Callers never fall back to another store: a local fallback would break single use.
 */
export class StoreUnavailableError extends ServiceError {
  readonly store: 'redis' | 'memory' | 'sql';

  constructor(store: 'redis' | 'memory' | 'sql', options: { cause?: unknown } = {}) {
    super('unavailable', 'storage is temporarily unavailable', { cause: options.cause, retryAfterSeconds: 1 });
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

export function isStoreUnavailable(value: unknown): value is StoreUnavailableError {
  return value instanceof StoreUnavailableError;
}

export interface PutOptions {
  /**
   * Written for a request nobody has authenticated yet (a challenge, an interaction): when the
   * in-process store is full these go first, oldest first, so a flood of them cannot push out
   * sessions. Redis keeps them like any other key; rate limits bound how many there can be.
   */
  evictable?: boolean;
}

/**
 * Short-lived records (challenges, interactions, codes, sessions). Values are JSON.
 * `take` is atomic across every instance sharing the store: of concurrent takers of one
 * key, exactly one gets the value.
 */
export interface EphemeralStore {
  put(key: string, value: unknown, ttlSeconds: number, options?: PutOptions): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  take<T>(key: string): Promise<T | undefined>;
  /**
   * Writes only when `key` holds nothing; true when this call wrote. Atomic across instances:
   * of concurrent writers exactly one gets true (replay checks: a `jti` is accepted once).
   */
  putIfAbsent(key: string, value: unknown, ttlSeconds: number, options?: PutOptions): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Adds `member` to the set at `key` (created with the TTL, extended never shortened). */
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  /** Atomically reads and removes the whole set. */
  takeSet(key: string): Promise<string[]>;
  /**
   * A fixed-window counter shared by everyone using this store (every instance, on Redis):
   * `points` hits per key in each window of `durationSeconds`, the whole budget usable at once.
   * `name` keeps limiters apart.
   */
  rateLimiter(name: string, options: { points: number; durationSeconds: number }): RateLimiter;
  /** Resolves when the store answers; rejects otherwise (also when the in-process store is full). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Counts one hit on `key` (one round trip): allowed while the window's count is within the limit. */
  hit(key: string): Promise<RateLimitVerdict>;
  /** Whether a hit would be refused right now, without counting one. */
  peek(key: string): Promise<RateLimitVerdict>;
}

/**
 * Cross-instance notifications (e.g. "this certificate was revoked: end its sessions").
 * Messages are JSON. Delivery is at most once and only to instances connected at the time,
 * so nothing may depend on it alone: durable state (revocations in SQL) stays the truth.
 */
export interface Notifier {
  publish(channel: string, message: unknown): Promise<void>;
  /** Resolves once the subscription is live; the returned function ends it. */
  subscribe<T>(channel: string, handler: (message: T) => void | Promise<void>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface SigningKeyRecord {
  kid: string;
  /** One algorithm per key (src/keys/keyRing.ts). */
  alg: 'ES256' | 'RS256' | 'PS256';
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
  /** When the record entered the registry (set by the store; revokedAt may be an old CRL date). */
  recordedAt?: Date;
}

/** A certificate as the registry names it: canonical issuer DN and upper-case serial hex. */
export interface CertificateKey {
  issuer: string;
  serialHex: string;
}

/** One change to the registry, numbered by the revocation epoch it was committed under. */
export type RevocationChange =
  | { epoch: number; kind: 'revoked'; issuer: string; serialHex: string; sha256?: string }
  | { epoch: number; kind: 'unrevoked'; issuer: string; serialHex: string };

export interface RevocationStore {
  find(issuer: string, serialHex: string): Promise<RevocationRecord | undefined>;
  /** Inserts or keeps the existing record (idempotent); returns whether it was new. */
  add(record: RevocationRecord): Promise<boolean>;
  remove(issuer: string, serialHex: string): Promise<boolean>;
  list(options?: { limit?: number; offset?: number }): Promise<RevocationRecord[]>;
  /**
   * Bulk insert (CRL import), keeping existing records like `add`; returns how many were new.
   * One transaction where the database has many writers (PostgreSQL); one per chunk where it has
   * one (SQLite), so other processes' writes are not held behind a long import. `onProgress` is
   * called after each chunk.
   */
  addMany(records: readonly RevocationRecord[], options?: { onProgress?: (done: number, total: number) => void }): Promise<number>;
  /** The record of the first of `keys` that is revoked, in one query (a sign-in's whole path). */
  findFirst(keys: readonly CertificateKey[]): Promise<RevocationRecord | undefined>;
  /**
   * The revocation epoch: bumped in the same transaction as every add, addMany and remove,
   * so reading N means every change numbered N or lower is committed. One tiny query.
   */
  epoch(): Promise<number>;
  /**
   * The changes numbered after `since` up to `page.upTo` (default: the current epoch, read
   * first and returned as `epoch`). Revocations come `page.limit` at a time (default 10 000)
   * in insertion order; `nextAfterId` asks for the next page of the same range, so a
   * million-entry import never has to be held at once. Unrevocations come with the first page.
   */
  changesSince(since: number, page?: { upTo?: number; afterId?: number; limit?: number }): Promise<{ epoch: number; changes: RevocationChange[]; nextAfterId?: number }>;
  /**
   * Certificates that entered the registry at or after `since` (what a starting instance
   * reloads), a page at a time in insertion order: pass the last `id` back as `afterId`.
   */
  recordedSince(since: Date, page?: { afterId?: number; limit?: number }): Promise<Array<CertificateKey & { id: number; recordedAt: Date }>>;
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

/** A stored audit row: the event plus its place in the hash chain. */
export interface AuditRecord extends AuditEvent {
  /** 1, 2, 3, … without gaps, so a deleted row shows as a missing id. */
  id: number;
  /** `hash` of the previous row; 64 zeros for the first. */
  prevHash: string;
  /** Hex SHA-256 over prevHash followed by the canonical JSON (RFC 8785) of the row. */
  hash: string;
}

export type AuditChainResult =
  | { ok: true; rows: number }
  | { ok: false; firstBadId: number; reason: string };

export interface AuditStore {
  /** Appends under a lock so concurrent instances extend one chain, never fork it. */
  append(event: AuditEvent): Promise<void>;
  /** Walks the whole chain and names the first edited, inserted or deleted row. */
  verifyChain(): Promise<AuditChainResult>;
  /** The last `n` rows, oldest first. */
  tail(n: number): Promise<AuditRecord[]>;
}

/** `none`: a public client (a native app, RFC 8252 §8.4), which holds no secret. */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** An agency app registered for OpenID Connect (src/oidc/clients.ts holds the rules). */
export interface ClientRecord {
  clientId: string;
  name: string;
  /** OIDC Registration §2: `web` (a backend keeping a secret or key) or `native` (an app on the citizen's device). */
  applicationType: 'web' | 'native';
  /** `fapi2`: the FAPI 2.0 Security Profile applies to every request of this client. */
  profile: 'oidc' | 'fapi2';
  /** Hex SHA-256 of the secret; null for private_key_jwt and public clients. */
  secretHash: string | null;
  /** The secret replaced by the last rotation, accepted until previousSecretExpiresAt. */
  previousSecretHash: string | null;
  previousSecretExpiresAt: Date | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  authMethod: TokenEndpointAuthMethod;
  /** JWK Set as JSON text (private_key_jwt, request objects), or null when the keys are at jwksUri. */
  jwks: string | null;
  jwksUri: string | null;
  idTokenSignedResponseAlg: SigningKeyRecord['alg'];
  /** RFC 9126 §6: authorization requests only through PAR. */
  requirePushedAuthorizationRequests: boolean;
  /** RFC 9449 §5.2: every token request carries a DPoP proof, every token is bound to its key. */
  dpopBoundAccessTokens: boolean;
  subjectType: 'pairwise' | 'public';
  /** HMAC key of its subjects: its own (pairwise), or the one every public client shares. */
  subjectSalt: string;
  /** The scopes it may ask for (openid among them); a request beyond them is invalid_scope. */
  scopes: string[];
  createdAt: Date;
  updatedAt: Date | null;
}

export interface ClientStore {
  find(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  insert(record: ClientRecord): Promise<void>;
  /** Replaces the stored record of `record.clientId`; false when there is none. */
  update(record: ClientRecord): Promise<boolean>;
  remove(clientId: string): Promise<boolean>;
  /** The salt every `public` client's subjects are made with (one per service, never changing). */
  publicSubjectSalt(): Promise<string>;
}

/** The durable side: one SQL database behind knex. */
export interface Database {
  signingKeys: SigningKeyStore;
  revocations: RevocationStore;
  audit: AuditStore;
  clients: ClientStore;
  ping(): Promise<void>;
  close(): Promise<void>;
}
