// The service's token-signing keys: ES256, created on first start, kept in the database
// (sealed with KEYS_SECRET when set), published as JWKS with their `kid`.
import { createCipheriv, createDecipheriv, createPrivateKey, randomBytes, randomUUID, scryptSync, sign, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import type { SigningKeyRecord, SigningKeyStore } from '../stores/types.ts';

/** Names the active key; signing itself goes through `signJwt`, so the key stays inside. */
export interface SigningKey {
  kid: string;
  alg: 'ES256';
}

export interface KeyRing {
  /** The key new tokens are signed with. */
  active(): SigningKey;
  /** A compact JWS (RFC 7515 §7.1) of `claims` with the active key; `typ` names the token kind. */
  signJwt(claims: Record<string, unknown>, typ: string): string;
  /** The public key for a `kid`, reloading from the database once when another instance rotated. */
  publicKey(kid: string): Promise<CryptoKey | undefined>;
  /** Public keys still in use, for the JWKS endpoint. */
  jwks(): { keys: JWK[] };
  /** Makes a new key active; the old ones stay published until `retainSeconds` after retirement. */
  rotate(): Promise<SigningKey>;
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
  if (activeOf(keys) === undefined) {
    await insertNewKey();
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

  async function insertNewKey(): Promise<void> {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
    const { d: _d, ...publicJwk } = privateJwk;
    await store.insert({
      kid,
      alg: 'ES256',
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
    active() {
      const key = activeOf(keys);
      if (key === undefined) throw new TypeError('no active signing key');
      return { kid: key.record.kid, alg: 'ES256' };
    },
    signJwt(claims, typ) {
      const key = activeOf(keys);
      if (key === undefined) throw new TypeError('no active signing key');
      // jose verifies these tokens everywhere; signing goes straight to node:crypto because
      // jose's WebCrypto path cost as much as the rest of a sign-in together (npm run bench).
      const header = { alg: 'ES256', kid: key.record.kid, typ };
      const input = `${base64url(header)}.${base64url(claims)}`;
      const signature = sign('sha256', Buffer.from(input), { key: key.privateKeyObject, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
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
      const previous = activeOf(keys);
      await insertNewKey();
      if (previous !== undefined) await store.retire(previous.record.kid, clock.now());
      keys = await loadAll();
      return ring.active();
    },
    async reload() {
      lastReload = clock.now().getTime();
      keys = await loadAll();
    },
  };
  return ring;
}

function activeOf(keys: LoadedKey[]): LoadedKey | undefined {
  return keys
    .filter((k) => k.record.retiredAt === null)
    .sort((a, b) => b.record.createdAt.getTime() - a.record.createdAt.getTime())[0];
}

async function loadKey(record: SigningKeyRecord, secret: string | undefined): Promise<LoadedKey> {
  const privateJwk = JSON.parse(unseal(record.privateKey, secret)) as JWK;
  const publicJwk = JSON.parse(record.publicKey) as JWK;
  return {
    record,
    privateKeyObject: createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    publicKey: (await importJWK(publicJwk, 'ES256')) as CryptoKey,
    publicJwk,
  };
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
