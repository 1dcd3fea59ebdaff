// GOST keys for issuing: O'zDSt 1092:2009-II (parameter sets A and C) and GOST R 34.10-2012,
// written with E-IMZO's encodings (test/data/vectors/ozdst/README.md): the SubjectPublicKeyInfo
// wraps X‖Y little-endian in an OCTET STRING (RFC 4491 §2.3.2), signatures are s‖r, and every
// O'zDSt AlgorithmIdentifier carries NULL. The development PKI issues O'zDSt citizens with it.
import { gostOid } from '../algorithms/families/gost.ts';
import { cryptoProA, cryptoProC, type GostCurve } from '../algorithms/gost/curves.ts';
import { gostR341194 } from '../algorithms/gost/gost94.ts';
import { gostKeyPair, gostSign } from '../algorithms/gost/sign.ts';
import { streebog } from '../algorithms/gost/streebog.ts';
import { algorithmIdentifier, nullValue, octetString, oid, sequence, tlv } from '../asn1/derWrite.ts';
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

/** A fresh key pair on `profile`'s curve, signing with the gost module. */
export function generateGostSigner(profile: GostProfile): ExternalSigner & { privateKey: bigint } {
  const pair = gostKeyPair(profile.curve);
  const signer = gostSigner(profile, pair.publicKey, (digest) => gostSign({ curve: profile.curve, privateKey: pair.privateKey, digest }));
  return { ...signer, privateKey: pair.privateKey };
}
