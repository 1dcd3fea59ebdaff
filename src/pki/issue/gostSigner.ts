// GOST keys for issuing: O'zDSt 1092:2009-II (parameter sets A and C) and GOST R 34.10-2012,
// written with E-IMZO's encodings (test/data/vectors/ozdst/README.md): the SubjectPublicKeyInfo
// wraps X‖Y little-endian in an OCTET STRING (RFC 4491 §2.3.2), signatures are s‖r, and every
// O'zDSt AlgorithmIdentifier carries NULL. The development PKI issues O'zDSt citizens with it.
import { gostOid } from '../algorithms/gost/oids.ts';
import { bigIntToBytesLittleEndian, bytesToBigIntLittleEndian } from '../algorithms/gost/bytes.ts';
import { cryptoProA, cryptoProC, type GostCurve } from '../algorithms/gost/curves.ts';
import { gostR341194 } from '../algorithms/gost/gost94.ts';
import { gostKeyPair, gostPublicKey, gostSign } from '../algorithms/gost/sign.ts';
import { streebog } from '../algorithms/gost/streebog.ts';
import { type DerNode, bytesEqual, expectSequence, parseDer, readOctetString, readSmallInteger, TAG } from '../asn1/der.ts';
import { algorithmIdentifier, integer, nullValue, octetString, oid, sequence, tlv } from '../asn1/derWrite.ts';
import type { ExternalSigner } from './signer.ts';

/** How a GOST public key is named in a certificate: its algorithm, parameter set and hash. */
export interface GostProfile {
  curve: GostCurve;
  keyAlgorithm: Uint8Array;
  signatureAlgorithm: Uint8Array;
  digestAlgorithm: Uint8Array;
  digest(data: Uint8Array): Uint8Array;
}

const ozdstParamSets = { A: { curve: cryptoProA, oid: gostOid.ozdstParamSetA }, C: { curve: cryptoProC, oid: gostOid.ozdstParamSetC } } as const;

/** O'zDSt 1092:2009-II on parameter set A or C, with O'zDSt 1106:2009 (GOST R 34.11-94, CryptoPro). */
export function ozdstProfile(paramSet: 'A' | 'C'): GostProfile {
  const { curve, oid: paramSetOid } = ozdstParamSets[paramSet];
  return {
    curve,
    keyAlgorithm: algorithmIdentifier(gostOid.ozdstKey, sequence(oid(paramSetOid))),
    signatureAlgorithm: algorithmIdentifier(gostOid.ozdstSignature, nullValue()),
    digestAlgorithm: algorithmIdentifier(gostOid.ozdstHash, nullValue()),
    digest: (data) => gostR341194(data),
  };
}

/** GOST R 34.10-2012 on `curve` with the Streebog of its size (RFC 9215 §3, §4.3: parameters absent). */
export function gost2012Profile(curve: GostCurve): GostProfile {
  const bits = curve.size === 32 ? 256 : 512;
  return {
    curve,
    keyAlgorithm: algorithmIdentifier(bits === 256 ? gostOid.gost2012Key256 : gostOid.gost2012Key512, sequence(oid(curve.oid))),
    signatureAlgorithm: algorithmIdentifier(bits === 256 ? gostOid.gost2012Signature256 : gostOid.gost2012Signature512),
    digestAlgorithm: algorithmIdentifier(bits === 256 ? gostOid.streebog256 : gostOid.streebog512),
    digest: (data) => streebog(data, bits),
  };
}

/** SubjectPublicKeyInfo of a GOST key: the BIT STRING holds an OCTET STRING of X‖Y (RFC 4491 §2.3.2). */
export function gostSpki(profile: GostProfile, rawPublicKey: Uint8Array): Uint8Array {
  return sequence(profile.keyAlgorithm, tlv(0x03, Uint8Array.of(0), octetString(rawPublicKey)));
}

/** A signer over `profile` whose signatures come from `signDigest` (the gost module, or OpenSSL's gost engine in tests). */
export function gostSigner(profile: GostProfile, rawPublicKey: Uint8Array, signDigest: (digest: Uint8Array) => Uint8Array): ExternalSigner {
  return {
    spki: gostSpki(profile, rawPublicKey),
    signatureAlgorithm: profile.signatureAlgorithm,
    digestAlgorithm: profile.digestAlgorithm,
    digest: profile.digest,
    sign: (data) => signDigest(profile.digest(data)),
  };
}

/** A GOST signer that holds its private key d: it can also be written out (gostPrivateKeyInfo). */
export interface GostKeySigner extends ExternalSigner {
  profile: GostProfile;
  privateKey: bigint;
}

/** The signer of the private key d on `profile`'s curve, signing with the gost module. */
export function gostKeySigner(profile: GostProfile, privateKey: bigint): GostKeySigner {
  const signer = gostSigner(profile, gostPublicKey(profile.curve, privateKey), (digest) => gostSign({ curve: profile.curve, privateKey, digest }));
  return { ...signer, profile, privateKey };
}

/** A fresh key pair on `profile`'s curve. */
export function generateGostSigner(profile: GostProfile): GostKeySigner {
  return gostKeySigner(profile, gostKeyPair(profile.curve).privateKey);
}

/**
 * PKCS #8 PrivateKeyInfo (RFC 5958 §2) of a GOST key as OpenSSL's gost engine writes one: the
 * key's own AlgorithmIdentifier, and d as `size` little-endian octets in the OCTET STRING.
 */
export function gostPrivateKeyInfo(signer: GostKeySigner): Uint8Array {
  const { profile } = signer;
  return sequence(integer(0), profile.keyAlgorithm, octetString(bigIntToBytesLittleEndian(signer.privateKey, profile.curve.size)));
}

/**
 * The signer of a GOST PrivateKeyInfo `profiles` can name (matched on the AlgorithmIdentifier
 * byte for byte); undefined for any other key. d is taken as gostPrivateKeyInfo writes it, or
 * wrapped in one more OCTET STRING as some producers do.
 */
export function gostSignerFromPrivateKeyInfo(pkcs8: Uint8Array, profiles: readonly GostProfile[]): GostKeySigner | undefined {
  const [version, algorithm, key] = expectSequence(parseDer(pkcs8), 3, 4, 'PrivateKeyInfo') as [DerNode, DerNode, DerNode];
  if (readSmallInteger(version, 1, 'PrivateKeyInfo version') !== 0) return undefined;
  const profile = profiles.find((candidate) => bytesEqual(candidate.keyAlgorithm, algorithm.bytes));
  if (profile === undefined) return undefined;
  let raw = readOctetString(key);
  if (raw.length === profile.curve.size + 2 && raw[0] === TAG.OCTET_STRING) raw = readOctetString(parseDer(raw));
  if (raw.length !== profile.curve.size) throw new TypeError(`a ${profile.curve.name} private key has ${profile.curve.size} octets, not ${raw.length}`);
  return gostKeySigner(profile, bytesToBigIntLittleEndian(raw));
}

/** The profiles the development PKI and the tools open key files with. */
export const knownGostProfiles: readonly GostProfile[] = [ozdstProfile('A'), ozdstProfile('C')];
