// The service's token-signing keys, created on first start, kept in the database (sealed with
// KEYS_SECRET when set), published as JWKS with their `kid` and `alg`. One key per algorithm:
// ES256 signs access, logout and (by default) ID tokens; RS256 and PS256 sign the ID tokens
// of agency apps that ask for them (OIDC Discovery §3 makes RS256 mandatory to offer). A key
// serves exactly one algorithm, named in its JWK (RFC 7517 §4.4), so no RSA key ever signs
// both PKCS #1 v1.5 and PSS.
import { constants, createCipheriv, createDecipheriv, createPrivateKey, randomBytes, randomUUID, scryptSync, sign, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import type { SigningKeyRecord, SigningKeyStore } from '../stores/types.ts';

export type SigningAlgorithm = SigningKeyRecord['alg'];
/** Every algorithm the ring holds an active key for. */
export const signingAlgorithms: readonly SigningAlgorithm[] = ['ES256', 'RS256', 'PS256'];

/** Names an active key; signing itself goes through `signJwt`, so the key stays inside. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
}

export interface KeyRing {
  /** The key new tokens of `alg` (default ES256) are signed with. */
  active(alg?: SigningAlgorithm): SigningKey;
  /** A compact JWS (RFC 7515 §7.1) of `claims` with the active key of `alg` (default ES256); `typ` names the token kind. */
  signJwt(claims: Record<string, unknown>, typ: string, alg?: SigningAlgorithm): string;
  /** The public key for a `kid`, bound to its one algorithm; reloads from the database once when another instance rotated. */
  publicKey(kid: string): Promise<CryptoKey | undefined>;
  /** Public keys still in use, for the JWKS endpoint. */
  jwks(): { keys: JWK[] };
  /**
   * Makes a new key active for every algorithm; the old ones stay published until
   * `retainSeconds` after retirement. Returns the new keys with the ones they replaced.
   */
  rotate(): Promise<Array<SigningKey & { retiredKid: string | undefined }>>;
  /** Rereads the keys (another process rotated them: `admin keys rotate`); one small query. */
  reload(): Promise<void>;
}

interface LoadedKey {
  record: SigningKeyRecord;
  /** For node:crypto, which signs without WebCrypto's per-call overhead. */
  privateKeyObject: KeyObject;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface KeyRingOptions {
  store: SigningKeyStore;
  clock: Clock;
  /** KEYS_SECRET; undefined stores private keys in the clear (development only, config refuses it in production). */
  secret: string | undefined;
  /** How long a retired key stays published: the longest token lifetime. */
  retainSeconds: number;
}

export async function openKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { store, clock, secret, retainSeconds } = options;
  let keys: LoadedKey[] = [];
  keys = await loadAll();
  // First start, or the first start of a version that signs with more algorithms.
  const missing = signingAlgorithms.filter((alg) => activeOf(keys, alg) === undefined);
  if (missing.length > 0) {
    for (const alg of missing) await insertNewKey(alg);
    keys = await loadAll();
  }
  let lastReload = clock.now().getTime();

  async function loadAll(): Promise<LoadedKey[]> {
    const records = await store.list();
    // Keys already open are reused with their new record (retiredAt): unsealing runs scrypt.
    const open = new Map(keys.map((key) => [key.record.kid, key]));
    return Promise.all(records.map(async (record) => {
      const known = open.get(record.kid);
      return known === undefined ? loadKey(record, secret) : { ...known, record };
    }));
  }

  async function insertNewKey(alg: SigningAlgorithm): Promise<void> {
    // RSA-2048: what FAPI 2.0 §5.4.1 asks at least, and what every relying party verifies.
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'ES256' ? {} : { modulusLength: 2048 }) });
    const kid = randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
    await store.insert({
      kid,
      alg,
      privateKey: seal(JSON.stringify(privateJwk), secret),
      publicKey: JSON.stringify(publicJwk),
      createdAt: clock.now(),
      retiredAt: null,
    });
  }

  function published(): LoadedKey[] {
    const cutoff = clock.now().getTime() - retainSeconds * 1000;
    return keys.filter(({ record }) => record.retiredAt === null || record.retiredAt.getTime() > cutoff);
  }

  const ring: KeyRing = {
    active(alg = 'ES256') {
      const key = activeOf(keys, alg);
      if (key === undefined) throw new TypeError(`no active ${alg} signing key`);
      return { kid: key.record.kid, alg };
    },
    signJwt(claims, typ, alg = 'ES256') {
      const key = activeOf(keys, alg);
      if (key === undefined) throw new TypeError(`no active ${alg} signing key`);
      // jose verifies these tokens everywhere; signing goes straight to node:crypto because
      // jose's WebCrypto path cost as much as the rest of a sign-in together (npm run bench).
      const header = { alg, kid: key.record.kid, typ };
      const input = `${base64url(header)}.${base64url(claims)}`;
      return `${input}.${signWith(alg, key.privateKeyObject, Buffer.from(input)).toString('base64url')}`;
    },
    async publicKey(kid) {
      let key = published().find((k) => k.record.kid === kid);
      // Another instance may have rotated; reload, but at most once a second so an unknown
      // `kid` from an attacker cannot turn every request into a database read (RFC 8725 §3.10).
      if (key === undefined && clock.now().getTime() - lastReload >= 1000) {
        lastReload = clock.now().getTime();
        keys = await loadAll();
        key = published().find((k) => k.record.kid === kid);
      }
      return key?.publicKey;
    },
    jwks() {
      return { keys: published().map((k) => k.publicJwk) };
    },
    async rotate() {
      const previous = signingAlgorithms.map((alg) => ({ alg, kid: activeOf(keys, alg)?.record.kid }));
      for (const alg of signingAlgorithms) await insertNewKey(alg);
      for (const { kid } of previous) if (kid !== undefined) await store.retire(kid, clock.now());
      keys = await loadAll();
      return previous.map(({ alg, kid }) => ({ ...ring.active(alg), retiredKid: kid }));
    },
    async reload() {
      lastReload = clock.now().getTime();
      keys = await loadAll();
    },
  };
  return ring;
}

function activeOf(keys: LoadedKey[], alg: SigningAlgorithm): LoadedKey | undefined {
  return keys
    .filter((k) => k.record.retiredAt === null && k.record.alg === alg)
    .sort((a, b) => b.record.createdAt.getTime() - a.record.createdAt.getTime())[0];
}

async function loadKey(record: SigningKeyRecord, secret: string | undefined): Promise<LoadedKey> {
  const privateJwk = JSON.parse(unseal(record.privateKey, secret)) as JWK;
  const publicJwk = JSON.parse(record.publicKey) as JWK;
  return {
    record,
    privateKeyObject: createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    publicKey: (await importJWK(publicJwk, record.alg)) as CryptoKey,
    publicJwk,
  };
}

/** JWA (RFC 7518) §3.4 ECDSA as r‖s, §3.3 RSASSA-PKCS1-v1_5, §3.5 RSASSA-PSS with a salt as long as the hash. */
function signWith(alg: SigningAlgorithm, key: KeyObject, input: Buffer): Buffer {
  switch (alg) {
    case 'ES256': return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256': return sign('sha256', input, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'PS256': return sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

// AES-256-GCM with a scrypt-derived key; the envelope names its version so the scheme can change.
interface Envelope { v: 1; salt: string; iv: string; tag: string; data: string }

function seal(plaintext: string, secret: string | undefined): string {
  if (secret === undefined) return plaintext;
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', scryptSync(secret, salt, 32), iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const envelope: Envelope = { v: 1, salt: salt.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  return JSON.stringify(envelope);
}

function unseal(stored: string, secret: string | undefined): string {
  const parsed = JSON.parse(stored) as Partial<Envelope> & { kty?: string };
  if (parsed.v === undefined) {
    if (secret !== undefined) throw new Error('a signing key is stored unencrypted although KEYS_SECRET is set; run `admin keys rotate`');
    return stored;
  }
  if (secret === undefined) throw new Error('signing keys are encrypted: set KEYS_SECRET');
  const envelope = parsed as Envelope;
  const decipher = createDecipheriv('aes-256-gcm', scryptSync(secret, Buffer.from(envelope.salt, 'base64'), 32), Buffer.from(envelope.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new Error('cannot decrypt the signing keys: KEYS_SECRET is wrong', { cause });
  }
}
