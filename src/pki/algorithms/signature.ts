// Signature verification with node:crypto over an explicit algorithm allowlist, and the key
// policy of docs/path-validation.md (RSA ≥ 2048, P-256/P-384/P-521, Ed25519; no MD5/SHA-1).
import { createHash, createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import { ServiceError } from '../../errors.ts';
import type { AlgorithmIdentifier, PublicKeyInfo } from '../x509/model.ts';
import {
  type DerNode, bytesEqual, expectSequence, expectTag, malformed, parseDer, readInteger, readOid, readSmallInteger, TAG,
} from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import type { ShaDigest } from './encodings.ts';

type Hash = ShaDigest;

/** What a signature AlgorithmIdentifier asks node:crypto to do, after its parameters were checked. */
export type SignatureScheme =
  | { kind: 'rsa-pkcs1'; hash: Hash }
  | { kind: 'rsa-pss'; hash: Hash; saltLength: number }
  | { kind: 'ecdsa'; hash: Hash }
  | { kind: 'ed25519' };

const hashByOid: Readonly<Record<string, Hash>> = { [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };

const pkcs1: Readonly<Record<string, Hash>> = {
  [OID.sha256WithRSAEncryption]: 'sha256',
  [OID.sha384WithRSAEncryption]: 'sha384',
  [OID.sha512WithRSAEncryption]: 'sha512',
};
const ecdsa: Readonly<Record<string, Hash>> = {
  [OID.ecdsaWithSHA256]: 'sha256',
  [OID.ecdsaWithSHA384]: 'sha384',
  [OID.ecdsaWithSHA512]: 'sha512',
};
// Broken hashes (collisions: CVE-2004-2761 MD5, SHAttered SHA-1) are weak, not merely unknown.
const weak = new Set<string>([
  OID.md2WithRSAEncryption, OID.md5WithRSAEncryption, OID.sha1WithRSAEncryption, OID.ecdsaWithSHA1,
  OID.dsaWithSHA1, OID.md5, OID.sha1,
]);

const derNull = Uint8Array.of(TAG.NULL, 0);

const minRsaBits = 2048;
// RSA verification cost grows with the modulus; 16384-bit chains are a CPU DoS (CVE-2023-29409).
const maxRsaBits = 8192;
// Verification cost grows with the exponent too; Go and CryptoAPI stop at 32 bits, as we do.
const maxRsaExponent = 1n << 32n;

/**
 * Maps a signature AlgorithmIdentifier to a scheme, checking its parameters.
 * Throws weak_algorithm for MD5/SHA-1, unsupported_algorithm for anything not listed.
 */
export function signatureScheme(alg: AlgorithmIdentifier): SignatureScheme {
  if (weak.has(alg.oid)) throw new ServiceError('weak_algorithm', `signature algorithm ${alg.oid} uses MD5 or SHA-1`);
  const rsaHash = pkcs1[alg.oid];
  if (rsaHash !== undefined) {
    // RFC 4055 §5: parameters NULL; absent is tolerated as several encoders omit it.
    if (alg.parameters !== undefined && !bytesEqual(alg.parameters, derNull)) throw malformed('RSA signature parameters must be NULL');
    return { kind: 'rsa-pkcs1', hash: rsaHash };
  }
  const ecHash = ecdsa[alg.oid];
  if (ecHash !== undefined) {
    // RFC 5758 §3.2: the parameters field MUST be absent.
    if (alg.parameters !== undefined) throw malformed('ECDSA signature parameters must be absent');
    return { kind: 'ecdsa', hash: ecHash };
  }
  if (alg.oid === OID.ed25519) {
    if (alg.parameters !== undefined) throw malformed('Ed25519 signature parameters must be absent'); // RFC 8410 §3
    return { kind: 'ed25519' };
  }
  if (alg.oid === OID.rsassaPss) return pssScheme(alg.parameters);
  throw new ServiceError('unsupported_algorithm', `signature algorithm ${alg.oid} is not supported`);
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1). The defaults mean SHA-1, so parameters must be
 * present; the mask generation must be MGF1 over the message hash and the trailer field 1
 * (RFC 4055 §3.1 defines no other). Inconsistent parameters are refused, never repaired.
 *
 * The salt length is whatever the parameters state (20 when absent, the ASN.1 default), and
 * the signature is verified with exactly that length (checkSignature: OpenSSL compares the
 * recovered salt length with a non-negative one; negative values would mean "detect").
 * OpenSSL signs with the maximum by default (222 octets for RSA-2048/SHA-256), JWS with the
 * hash length, others with 20 or 0. There is no minimum: RFC 8017 §9.1 names 0 and hLen as
 * the typical lengths and §8.1 says the salt's randomness "is not critical to security" (an
 * empty salt keeps a security proof like FDH's); the signed challenge is our own fresh nonce
 * anyway. The maximum depends on the key: a salt longer than emLen − hLen − 2 fits no
 * encoded message, and OpenSSL answers "inconsistent" (RFC 8017 §9.1.2 step 3); here only a
 * length no accepted key has room for is refused.
 */
function pssScheme(parameters: Uint8Array | undefined): SignatureScheme {
  if (parameters === undefined) throw new ServiceError('weak_algorithm', 'RSASSA-PSS without parameters means SHA-1');
  const fields = expectSequence(parseDer(parameters), 0, 4, 'RSASSA-PSS-params');
  let hash: Hash | undefined;
  let mgfHash: Hash | undefined;
  let saltLength = 20;
  let last = -1;
  for (const field of fields) {
    if (field.cls !== 2 || !field.constructed || field.tagNumber <= last || field.children.length !== 1) {
      throw malformed('RSASSA-PSS-params: bad element');
    }
    last = field.tagNumber;
    const inner = field.children[0]!;
    if (field.tagNumber === 0) hash = pssHash(inner);
    else if (field.tagNumber === 1) mgfHash = mgf1Hash(inner);
    else if (field.tagNumber === 2) saltLength = readSmallInteger(expectTag(inner, TAG.INTEGER, 'saltLength'), maxRsaBits / 8, 'RSASSA-PSS saltLength');
    else if (field.tagNumber === 3) assertTrailerField(inner);
    else throw malformed('RSASSA-PSS-params: unknown element');
  }
  if (hash === undefined || mgfHash === undefined) throw new ServiceError('weak_algorithm', 'RSASSA-PSS defaults to SHA-1');
  if (mgfHash !== hash) throw malformed('RSASSA-PSS: MGF1 hash differs from the message hash');
  return { kind: 'rsa-pss', hash, saltLength };
}

// An explicit 1 is BER for the default (X.690 §11.5) but means the same; no other value is defined.
function assertTrailerField(node: DerNode): void {
  if (readInteger(expectTag(node, TAG.INTEGER, 'trailerField')) !== 1n) throw malformed('RSASSA-PSS: trailerField must be 1 (RFC 4055 §3.1)');
}

function pssHash(node: DerNode): Hash {
  const [oidNode, params] = expectSequence(node, 1, 2, 'hashAlgorithm');
  const oid = readOid(oidNode!);
  if (params !== undefined && !bytesEqual(params.bytes, derNull)) throw malformed('hash parameters must be NULL or absent');
  if (oid === OID.sha1 || oid === OID.md5) throw new ServiceError('weak_algorithm', 'RSASSA-PSS with SHA-1');
  const hash = hashByOid[oid];
  if (hash === undefined) throw new ServiceError('unsupported_algorithm', `RSASSA-PSS hash ${oid} is not supported`);
  return hash;
}

function mgf1Hash(node: DerNode): Hash {
  const [oidNode, params] = expectSequence(node, 2, 2, 'maskGenAlgorithm');
  if (readOid(oidNode!) !== OID.mgf1) throw new ServiceError('unsupported_algorithm', 'RSASSA-PSS mask generation other than MGF1');
  return pssHash(params!);
}

export interface KeyPolicy {
  /** Lowest RSA modulus size; the service uses 2048 (docs/path-validation.md). */
  minRsaBits?: number;
}

/** The key policy of docs/path-validation.md. Throws weak_algorithm for weak or oversized keys, unsupported_algorithm for unknown kinds. */
export function assertKeyStrength(publicKey: PublicKeyInfo, policy: KeyPolicy = {}): void {
  switch (publicKey.kind) {
    case 'rsa': {
      const min = policy.minRsaBits ?? minRsaBits;
      if (publicKey.bits < min) throw new ServiceError('weak_algorithm', `RSA key of ${publicKey.bits} bits (minimum ${min})`);
      if (publicKey.bits > maxRsaBits) throw new ServiceError('weak_algorithm', `RSA key of ${publicKey.bits} bits is above the ${maxRsaBits}-bit cap`);
      // Key generators produce whole-octet moduli; anything else is a hand-made key.
      if (publicKey.bits % 8 !== 0) throw new ServiceError('weak_algorithm', `RSA key of ${publicKey.bits} bits is not a whole number of octets`);
      // An RSA exponent is odd and at least 3 (FIPS 186-4 §B.3.1); past 2^32 only a crafted key goes.
      // e = 3 stays allowed: OpenSSL's PKCS#1 check is strict, so the e=3 forgeries of lenient
      // verifiers (docs/security-cases.md §B 29) fail as signature_invalid (test/pki/signin/cms.test.ts).
      const e = publicKey.exponent;
      if (e < 3n || e % 2n === 0n || e >= maxRsaExponent) {
        const shown = e < maxRsaExponent ? String(e) : `of ${e.toString(16).length * 4} bits`;
        throw new ServiceError('weak_algorithm', `RSA public exponent ${shown} is not an odd number from 3 to 2^32`);
      }
      return;
    }
    case 'ec':
      if (publicKey.curve === 'other') {
        throw new ServiceError('weak_algorithm', publicKey.curveOid === undefined
          ? 'EC key with explicit curve parameters'
          : `EC curve ${publicKey.curveOid} is not P-256, P-384 or P-521`);
      }
      return;
    case 'ed25519':
      return;
    default:
      throw new ServiceError('unsupported_algorithm', `public key algorithm ${publicKey.oid} is not supported`);
  }
}

/** Bounded LRU of imported keys by SHA-256 of their SPKI. */
const keyCacheLimit = 2000;
const keyCache = new Map<string, KeyObject>();

export function importSpki(spki: Uint8Array): KeyObject {
  const id = createHash('sha256').update(spki).digest('base64');
  const hit = keyCache.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new ServiceError('malformed_signature', 'public key does not decode', { cause });
  }
  keyCache.set(id, key);
  if (keyCache.size > keyCacheLimit) keyCache.delete(keyCache.keys().next().value!);
  return key;
}

function keyMatches(scheme: SignatureScheme, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (scheme.kind === 'rsa-pkcs1' || scheme.kind === 'rsa-pss') return type === 'rsa';
  if (scheme.kind === 'ecdsa') return type === 'ec';
  return type === 'ed25519';
}

// X9.62 Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, both positive (CVE-2022-21449).
function ecdsaSignatureWellFormed(signature: Uint8Array): boolean {
  try {
    const [r, s] = expectSequence(parseDer(signature), 2, 2, 'Ecdsa-Sig-Value');
    return readInteger(expectTag(r!, TAG.INTEGER, 'r')) > 0n && readInteger(expectTag(s!, TAG.INTEGER, 's')) > 0n;
  } catch {
    return false;
  }
}

/**
 * Whether `signature` verifies over `data` under `spki` with `alg`. False on any mismatch
 * (wrong key type, bad encoding, bad value); throws weak_algorithm / unsupported_algorithm
 * for algorithms outside the allowlist. The key's strength is the caller's check.
 */
export function checkSignature(alg: AlgorithmIdentifier, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const scheme = signatureScheme(alg);
  const key = importSpki(spki);
  if (!keyMatches(scheme, key)) return false;
  // Cheap guard before the expensive operation, whatever the caller checked (CVE-2023-29409).
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && bits > maxRsaBits) throw new ServiceError('weak_algorithm', `RSA key of ${bits} bits is above the ${maxRsaBits}-bit cap`);
  const exponent = key.asymmetricKeyDetails?.publicExponent;
  if (exponent !== undefined && exponent >= maxRsaExponent) throw new ServiceError('weak_algorithm', 'RSA public exponent above 2^32');
  try {
    return verifyWith(scheme, key, data, signature);
  } catch {
    // OpenSSL reports some malformed signatures as errors rather than as "no".
    return false;
  }
}

function verifyWith(scheme: SignatureScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  switch (scheme.kind) {
    case 'rsa-pkcs1':
      return verify(scheme.hash, data, key, signature);
    case 'rsa-pss':
      return verify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
    case 'ecdsa':
      return ecdsaSignatureWellFormed(signature) && verify(scheme.hash, data, { key, dsaEncoding: 'der' }, signature);
    case 'ed25519':
      return signature.length === 64 && verify(null, data, key, signature);
  }
}

/**
 * Verifies a signature over sign-in data: returns true, or throws signature_invalid (and
 * weak_algorithm / unsupported_algorithm as checkSignature does). Throwing keeps a caller
 * that ignores the result from failing open.
 */
export function verifySignedBytes(alg: AlgorithmIdentifier, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): true {
  if (!checkSignature(alg, spki, data, signature)) {
    throw new ServiceError('signature_invalid', 'the signature does not verify with the certificate key');
  }
  return true;
}
