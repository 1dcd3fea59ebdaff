// RSA: PKCS #1 v1.5 (`rsa`, RFC 4055 §5) and RSASSA-PSS (`rsa-pss`, RFC 4055 §3), both over
// rsaEncryption keys, with the key policy of docs/path-validation.md: 2048 to 8192 bits, a
// whole number of octets, an odd exponent from 3 to 2^32.
import { constants, verify } from 'node:crypto';
import type { DerNode } from '../../asn1/der.ts';
import { bytesEqual, expectSequence, expectTag, parseDer, readInteger, readOid, readSmallInteger, TAG } from '../../asn1/der.ts';
import { OID } from '../../asn1/oids.ts';
import { parsePublicKeyInfo } from '../../x509/certificate.ts';
import { isAbsentOrNull, type KeyAlgorithm, refuse, type SignatureAlgorithm, type SignatureFamily } from '../registry.ts';
import { importSpki, keyObjectOf } from './nodeKeys.ts';
import { brokenHashes, type Sha2, sha2ByOid, sha2Digests } from './sha2.ts';

const minBits = 2048;
// Verification cost grows with the modulus; 16384-bit chains are a CPU DoS (CVE-2023-29409).
const maxBits = 8192;
// It grows with the exponent too; Go and CryptoAPI stop at 32 bits, as we do.
const maxExponent = 1n << 32n;
const derNull = Uint8Array.of(TAG.NULL, 0);

export const rsaKey: KeyAlgorithm = {
  oid: OID.rsaEncryption,
  title: 'RSA',
  read(spki) {
    const info = parsePublicKeyInfo(parseDer(spki.der));
    if (info.kind !== 'rsa') throw refuse.malformed('RSA key: not an RSAPublicKey');
    const { bits, exponent: e } = info;
    if (bits < minBits) throw refuse.weak(`RSA key of ${bits} bits (minimum ${minBits})`);
    if (bits > maxBits) throw refuse.weak(`RSA key of ${bits} bits is above the ${maxBits}-bit cap`);
    // Key generators produce whole-octet moduli; anything else is a hand-made key.
    if (bits % 8 !== 0) throw refuse.weak(`RSA key of ${bits} bits is not a whole number of octets`);
    // An RSA exponent is odd and at least 3 (FIPS 186-4 §B.3.1); past 2^32 only a crafted key goes.
    // e = 3 stays allowed: OpenSSL's PKCS#1 check is strict, so the e=3 forgeries of lenient
    // verifiers (docs/security-cases.md §B 29) fail as signature_invalid.
    if (e < 3n || e % 2n === 0n || e >= maxExponent) {
      throw refuse.weak(`RSA public exponent ${e < maxExponent ? String(e) : `of ${e.toString(16).length * 4} bits`} is not an odd number from 3 to 2^32`);
    }
    return { algorithm: OID.rsaEncryption, description: `RSA ${bits}-bit`, material: importSpki(spki.der) };
  },
};

const pkcs1 = (oid: string, hash: Sha2, title: string): SignatureAlgorithm => ({
  oid,
  title,
  scheme(parameters) {
    // RFC 4055 §5: parameters NULL; absent is tolerated as several encoders omit it.
    if (parameters !== undefined && !bytesEqual(parameters, derNull)) throw refuse.malformed('RSA signature parameters must be NULL');
    return {
      digest: OID[hash],
      keys: [OID.rsaEncryption],
      verify: (key, data, signature) => {
        const rsa = keyObjectOf(key.material, 'rsa');
        return rsa !== undefined && verify(hash, data, rsa, signature);
      },
    };
  },
});

export const rsaFamily: SignatureFamily = {
  name: 'rsa',
  title: 'RSA PKCS #1 v1.5',
  keys: [rsaKey],
  signatures: [
    pkcs1(OID.sha256WithRSAEncryption, 'sha256', 'SHA-256 with RSA'),
    pkcs1(OID.sha384WithRSAEncryption, 'sha384', 'SHA-384 with RSA'),
    pkcs1(OID.sha512WithRSAEncryption, 'sha512', 'SHA-512 with RSA'),
  ],
  digests: Object.values(sha2Digests),
  weak: brokenHashes,
  // RFC 3370 §3.2: in a SignerInfo, rsaEncryption means PKCS #1 v1.5 with the digestAlgorithm hash.
  cmsAliases: (['sha256', 'sha384', 'sha512'] as const).map((hash) => ({
    oid: OID.rsaEncryption, digest: OID[hash], signature: OID[`${hash}WithRSAEncryption`],
  })),
};

/**
 * RSASSA-PSS-params (RFC 4055 §3.1). The defaults mean SHA-1, so parameters must be
 * present; the mask generation must be MGF1 over the message hash and the trailer field 1
 * (RFC 4055 §3.1 defines no other). Inconsistent parameters are refused, never repaired.
 *
 * The salt length is whatever the parameters state (20 when absent, the ASN.1 default), and
 * the signature is verified with exactly that length (OpenSSL compares the recovered salt
 * length with a non-negative one; negative values would mean "detect"). OpenSSL signs with
 * the maximum by default (222 octets for RSA-2048/SHA-256), JWS with the hash length, others
 * with 20 or 0. There is no minimum: RFC 8017 §9.1 names 0 and hLen as the typical lengths
 * and §8.1 says the salt's randomness "is not critical to security" (an empty salt keeps a
 * security proof like FDH's); the signed challenge is our own fresh nonce anyway. The
 * maximum depends on the key: a salt longer than emLen − hLen − 2 fits no encoded message,
 * and OpenSSL answers "inconsistent" (RFC 8017 §9.1.2 step 3); here only a length no
 * accepted key has room for is refused.
 */
const pss: SignatureAlgorithm = {
  oid: OID.rsassaPss,
  title: 'RSASSA-PSS',
  scheme(parameters) {
    if (parameters === undefined) throw refuse.weak('RSASSA-PSS without parameters means SHA-1');
    const fields = expectSequence(parseDer(parameters), 0, 4, 'RSASSA-PSS-params');
    let hash: Sha2 | undefined;
    let mgfHash: Sha2 | undefined;
    let saltLength = 20;
    let last = -1;
    for (const field of fields) {
      if (field.cls !== 2 || !field.constructed || field.tagNumber <= last || field.children.length !== 1) {
        throw refuse.malformed('RSASSA-PSS-params: bad element');
      }
      last = field.tagNumber;
      const inner = field.children[0]!;
      if (field.tagNumber === 0) hash = pssHash(inner);
      else if (field.tagNumber === 1) mgfHash = mgf1Hash(inner);
      else if (field.tagNumber === 2) saltLength = readSmallInteger(expectTag(inner, TAG.INTEGER, 'saltLength'), maxBits / 8, 'RSASSA-PSS saltLength');
      else if (field.tagNumber === 3) assertTrailerField(inner);
      else throw refuse.malformed('RSASSA-PSS-params: unknown element');
    }
    if (hash === undefined || mgfHash === undefined) throw refuse.weak('RSASSA-PSS defaults to SHA-1');
    if (mgfHash !== hash) throw refuse.malformed('RSASSA-PSS: MGF1 hash differs from the message hash');
    const chosen = hash;
    return {
      digest: OID[chosen],
      keys: [OID.rsaEncryption],
      verify: (key, data, signature) => {
        const rsa = keyObjectOf(key.material, 'rsa');
        return rsa !== undefined && verify(chosen, data, { key: rsa, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
      },
    };
  },
};

// An explicit 1 is BER for the default (X.690 §11.5) but means the same; no other value is defined.
function assertTrailerField(node: DerNode): void {
  if (readInteger(expectTag(node, TAG.INTEGER, 'trailerField')) !== 1n) throw refuse.malformed('RSASSA-PSS: trailerField must be 1 (RFC 4055 §3.1)');
}

function pssHash(node: DerNode): Sha2 {
  const [oidNode, params] = expectSequence(node, 1, 2, 'hashAlgorithm');
  const oid = readOid(oidNode!);
  if (params !== undefined && !isAbsentOrNull(params.bytes)) throw refuse.malformed('hash parameters must be NULL or absent');
  if (oid === OID.sha1 || oid === OID.md5) throw refuse.weak('RSASSA-PSS with SHA-1');
  const hash = sha2ByOid.get(oid);
  if (hash === undefined) throw refuse.unsupported(`RSASSA-PSS hash ${oid} is not supported`);
  return hash;
}

function mgf1Hash(node: DerNode): Sha2 {
  const [oidNode, params] = expectSequence(node, 2, 2, 'maskGenAlgorithm');
  if (readOid(oidNode!) !== OID.mgf1) throw refuse.unsupported('RSASSA-PSS mask generation other than MGF1');
  return pssHash(params!);
}

export const rsaPssFamily: SignatureFamily = {
  name: 'rsa-pss',
  title: 'RSASSA-PSS',
  keys: [rsaKey],
  signatures: [pss],
  digests: Object.values(sha2Digests),
  weak: brokenHashes,
};
