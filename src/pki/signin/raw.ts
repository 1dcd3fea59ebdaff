// The raw sign-in body: certificates plus a JWS-style signature over the challenge bytes
// (RFC 7518 §3.1 algorithm names and semantics). The first certificate is the signer; the
// rest are intermediates offered for path building. No pkijs: one verification through the
// signature-algorithm registry.
import { ServiceError } from '../../errors.ts';
import { parseCertificateCached } from '../x509/certificate.ts';
import type { SignedEvidence } from './cms.ts';
import { bytesToBigInt, ecdsaRawToDer, pssParameters } from '../algorithms/encodings.ts';
import { malformed } from '../asn1/der.ts';
import { nullValue } from '../asn1/derWrite.ts';
import type { AlgorithmIdentifier, ParsedCertificate } from '../x509/model.ts';
import { OID } from '../asn1/oids.ts';
import type { SignatureAlgorithms } from '../algorithms/registry.ts';
import { defaultSignatureAlgorithms } from '../algorithms/families/index.ts';

export interface RawSignature {
  /** DER certificates, signer first. */
  certificates: Uint8Array[];
  /** A JWS `alg` of the list in docs/api.md: ES256/384/512, RS256/384/512, PS256/384/512, EdDSA. */
  algorithm: string;
  signature: Uint8Array;
}

const MAX_CERTIFICATES = 8;

type Curve = 'P-256' | 'P-384' | 'P-521';

interface JwsScheme {
  /** The key family the algorithm needs. */
  keyKind: 'ec' | 'rsa' | 'ed25519';
  algorithm: AlgorithmIdentifier;
  /** The digest the algorithm applies (reported in SignedEvidence). */
  digest: string;
  /** ECDSA only: the one curve the JWS name allows. */
  curve?: Curve;
}

const NULL = nullValue();

/** RFC 7518 §3.1 names mapped to the X.509 AlgorithmIdentifier that means the same thing. */
const JWS_SCHEMES: ReadonlyMap<string, JwsScheme> = new Map<string, JwsScheme>([
  ['ES256', { keyKind: 'ec', algorithm: { oid: OID.ecdsaWithSHA256 }, digest: OID.sha256, curve: 'P-256' }],
  ['ES384', { keyKind: 'ec', algorithm: { oid: OID.ecdsaWithSHA384 }, digest: OID.sha384, curve: 'P-384' }],
  ['ES512', { keyKind: 'ec', algorithm: { oid: OID.ecdsaWithSHA512 }, digest: OID.sha512, curve: 'P-521' }],
  ['RS256', { keyKind: 'rsa', algorithm: { oid: OID.sha256WithRSAEncryption, parameters: NULL }, digest: OID.sha256 }],
  ['RS384', { keyKind: 'rsa', algorithm: { oid: OID.sha384WithRSAEncryption, parameters: NULL }, digest: OID.sha384 }],
  ['RS512', { keyKind: 'rsa', algorithm: { oid: OID.sha512WithRSAEncryption, parameters: NULL }, digest: OID.sha512 }],
  // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
  ['PS256', { keyKind: 'rsa', algorithm: { oid: OID.rsassaPss, parameters: pssParameters('sha256') }, digest: OID.sha256 }],
  ['PS384', { keyKind: 'rsa', algorithm: { oid: OID.rsassaPss, parameters: pssParameters('sha384') }, digest: OID.sha384 }],
  ['PS512', { keyKind: 'rsa', algorithm: { oid: OID.rsassaPss, parameters: pssParameters('sha512') }, digest: OID.sha512 }],
  // RFC 8037 §3.1: EdDSA over Ed25519 (the only curve docs/path-validation.md admits), SHA-512 inside (RFC 8032 §5.1).
  ['EdDSA', { keyKind: 'ed25519', algorithm: { oid: OID.ed25519 }, digest: OID.sha512 }],
]);

// Group orders n (SEC 2 v2 §2.4.2, §2.5.1, §2.6.1): r and s must lie in [1, n-1].
const CURVE_ORDER: Record<Curve, bigint> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  'P-521': 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};
const COORDINATE_BYTES: Record<Curve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** Verifies `signature` over the challenge with the first certificate's key; throws ServiceError otherwise. */
export function verifyRawSignature(input: RawSignature, challenge: Uint8Array, algorithms: SignatureAlgorithms = defaultSignatureAlgorithms): SignedEvidence {
  const scheme = schemeOf(input.algorithm);
  const certificates = readCertificates(input.certificates);
  const signer = certificates[0]!;
  assertKeyFitsScheme(signer, scheme);
  algorithms.publicKey(signer.spki);
  const signature = scheme.curve === undefined ? input.signature : ecdsaRawChecked(input.signature, scheme.curve);
  algorithms.verify(scheme.algorithm, signer.spki, challenge, signature);
  return { signer, certificates, digestAlgorithm: scheme.digest, signatureAlgorithm: scheme.algorithm.oid };
}

function schemeOf(algorithm: string): JwsScheme {
  const scheme = JWS_SCHEMES.get(algorithm);
  if (scheme === undefined) throw new ServiceError('unsupported_algorithm', `algorithm ${JSON.stringify(algorithm).slice(0, 40)} is not supported`);
  return scheme;
}

function readCertificates(ders: Uint8Array[]): ParsedCertificate[] {
  if (ders.length === 0) throw malformed('no signer certificate');
  if (ders.length > MAX_CERTIFICATES) throw malformed(`more than ${MAX_CERTIFICATES} certificates`);
  return ders.map((der) => parseCertificateCached(der));
}

/**
 * The key must be of the algorithm's family and, for ECDSA, on the curve the JWS name fixes
 * (RFC 7518 §3.4: ES256 is P-256 with SHA-256, and so on): a P-384 key cannot claim ES256.
 */
function assertKeyFitsScheme(signer: ParsedCertificate, scheme: JwsScheme): void {
  const key = signer.publicKey;
  const fits = key.kind === scheme.keyKind && (key.kind !== 'ec' || key.curve === scheme.curve);
  if (!fits) throw new ServiceError('signature_invalid', 'the signer key does not fit the signature algorithm');
}

/**
 * JWS ECDSA signatures are r‖s, each exactly the coordinate size (RFC 7518 §3.4). Converted
 * to the DER Ecdsa-Sig-Value the X.509 verifier takes, after refusing r or s outside
 * [1, n-1], the "psychic signature" shape (CVE-2022-21449).
 */
function ecdsaRawChecked(signature: Uint8Array, curve: Curve): Uint8Array {
  const size = COORDINATE_BYTES[curve];
  if (signature.length !== 2 * size) throw new ServiceError('signature_invalid', `${curve} signatures are ${2 * size} bytes (r‖s)`);
  const r = bytesToBigInt(signature.subarray(0, size));
  const s = bytesToBigInt(signature.subarray(size));
  const n = CURVE_ORDER[curve];
  if (r === 0n || s === 0n || r >= n || s >= n) throw new ServiceError('signature_invalid', 'ECDSA r or s out of range');
  return ecdsaRawToDer(signature);
}

