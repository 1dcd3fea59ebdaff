// Opens a CMS SignedData (RFC 5652) sign-in proof with our own strict pipeline instead of
// pkijs `SignedData.verify`, whose defaults fail open (docs/security-cases.md §0 item 1): one strict DER
// parse, then each policy step as a named assert, then one verification through the
// signature-algorithm registry (../algorithms/registry.ts).
// Embedded revocation data (`crls`) is never read; the chain is validated later (path.ts).
//
// Encoding: RFC 5652 §2 lets a SignedData be BER, and E-IMZO writes its outer structure so
// (indefinite lengths, attached content as a constructed OCTET STRING): the outer structure is
// read with parseBer under the same bounds as DER, while the certificates and the signed
// attributes, which signatures cover, must be DER (RFC 5652 §5.4; docs/security-cases.md #7).
//
// Error codes: structure and policy violations are `malformed_signature`; algorithms outside
// the allowlist `unsupported_algorithm`, MD5/SHA-1 `weak_algorithm`. A proof that does not
// hold over *our* challenge is `signature_invalid`, whichever byte gives it away: the
// signature value, the messageDigest attribute, or attached content that is not the challenge
// (docs/errors.md: the proof "does not hold over our challenge"; `challenge_invalid` stays reserved
// for unknown or spent challenge ids).
import { ServiceError } from '../../errors.ts';
import { parseCertificateCached, serialBytesOf } from '../x509/certificate.ts';
import {
  bytesEqual, childAt, type DerNode, expectChildren, expectSequence, expectTag, malformed, parseBer, parseDer,
  readBerOctetString, readOctetString, readOid, readSmallInteger, readTime, TAG,
} from '../asn1/der.ts';
import type { AlgorithmIdentifier, ParsedCertificate } from '../x509/model.ts';
import { type DigestAlgorithm, isAbsentOrNull, type ResolvedScheme, type SignatureAlgorithms } from '../algorithms/registry.ts';
import { defaultSignatureAlgorithms } from '../algorithms/families/index.ts';

export interface SignedEvidence {
  signer: ParsedCertificate;
  /** Every certificate of the bag, signer included, in bag order. */
  certificates: ParsedCertificate[];
  /** Dotted OID of the SignerInfo digestAlgorithm. */
  digestAlgorithm: string;
  /** Dotted OID of the signature algorithm as verified (e.g. sha256WithRSAEncryption). */
  signatureAlgorithm: string;
}

// 64 KiB of base64 (the body limit of docs/api.md) decodes to 48 KiB: nothing larger can be legitimate.
const MAX_CMS_BYTES = 48 * 1024;
const MAX_CERTIFICATES = 8;
const MAX_SIGNED_ATTRIBUTES = 16;
const MAX_DIGEST_ALGORITHMS = 4;
// The certificates (ContentInfo → [0] → SignedData → [0], depth 3) are framed only, one node
// each: each is read by parseCertificateCached from its bytes, strictly and under its own
// limits, or found by those exact bytes among the ones it read before, so parsing them here too
// was work thrown away. 4096 nodes leave room for the rest (the SignerInfo, any crls) while
// keeping a hostile wide tree (docs/security-cases.md §A 2) cheap to reject.
const DER_LIMITS = { maxDepth: 32, maxNodes: 4096, framedOnly: (tag: number, depth: number) => tag === 0xa0 && depth === 3 };

/** CMS content types and attributes (RFC 5652 §4, §5, §11). */
export const cmsOid = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const;

interface SignedDataParts {
  version: number;
  digestAlgorithms: DerNode[];
  eContentType: string;
  eContent: Uint8Array | undefined;
  certificates: DerNode[];
  crls: DerNode[];
  signerInfos: DerNode[];
}

type SignerId =
  | { kind: 'issuerAndSerialNumber'; issuer: Uint8Array; serial: Uint8Array }
  | { kind: 'subjectKeyIdentifier'; keyId: Uint8Array };

interface SignerInfoParts {
  version: number;
  sid: SignerId;
  digestAlgorithm: AlgorithmIdentifier;
  /** The [0] IMPLICIT node exactly as received. */
  signedAttrs: DerNode | undefined;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
}

/**
 * Decides, from the attached content (undefined when detached), which bytes the signature must
 * cover, or throws. The default is `assertContentIsChallenge`; login/origin.ts also admits
 * origin-bound content.
 */
export type ContentRule = (attached: Uint8Array | undefined) => Uint8Array;

/**
 * Verifies a SignedData over `challenge` (or what `challenge` as a rule admits) and names its
 * signer; throws ServiceError otherwise. `algorithms`: the accepted signature families.
 */
export function openCms(cms: Uint8Array, challenge: Uint8Array | ContentRule, algorithms: SignatureAlgorithms = defaultSignatureAlgorithms): SignedEvidence {
  assertSize(cms);
  const signedData = readSignedData(readContentInfo(parseBer(cms, DER_LIMITS)));
  const signerInfo = readSignerInfo(assertOneSignerInfo(signedData.signerInfos));
  assertDataContentType(signedData.eContentType);
  assertVersions(signedData, signerInfo);
  const content = typeof challenge === 'function'
    ? challenge(signedData.eContent)
    : assertContentIsChallenge(signedData.eContent, challenge);
  const digest = algorithms.digest(signerInfo.digestAlgorithm);
  assertDigestAlgorithmListed(signedData.digestAlgorithms, digest.oid);
  const scheme = assertSchemeUsesDigest(algorithms.cmsSignatureScheme(signerInfo.signatureAlgorithm, digest.oid), digest);
  const signedBytes = signerInfo.signedAttrs === undefined
    ? content
    : assertSignedAttributes(signerInfo.signedAttrs, signedData.eContentType, content, digest);
  const certificates = readCertificates(signedData.certificates);
  const signer = findSigner(certificates, signerInfo.sid);
  algorithms.verify({ ...signerInfo.signatureAlgorithm, oid: scheme.oid }, signer.spki, signedBytes, signerInfo.signature);
  return {
    signer,
    certificates,
    digestAlgorithm: digest.oid,
    signatureAlgorithm: scheme.oid,
  };
}

/** What a SignedData says of itself before anything is verified (`admin trust check` explains from it). */
export interface CmsOutline {
  /** DER, or BER as RFC 5652 §2 allows (E-IMZO's indefinite lengths). */
  encoding: 'DER' | 'BER';
  /** The attached content; undefined when detached. */
  content: Uint8Array | undefined;
  /** Whether the SignerInfo signs attributes (messageDigest) rather than the content itself. */
  signedAttributes: boolean;
  certificates: ParsedCertificate[];
  signer: ParsedCertificate;
  digestAlgorithm: AlgorithmIdentifier;
  signatureAlgorithm: AlgorithmIdentifier;
}

/**
 * openCms's structural steps alone, no algorithm or signature: the same reading and the same
 * refusals (malformed_signature), so an operator sees the parts of a CMS that is then refused.
 */
export function outlineCms(cms: Uint8Array): CmsOutline {
  assertSize(cms);
  const signedData = readSignedData(readContentInfo(parseBer(cms, DER_LIMITS)));
  const signerInfo = readSignerInfo(assertOneSignerInfo(signedData.signerInfos));
  assertDataContentType(signedData.eContentType);
  assertVersions(signedData, signerInfo);
  const certificates = readCertificates(signedData.certificates);
  return {
    encoding: isDer(cms) ? 'DER' : 'BER',
    content: signedData.eContent,
    signedAttributes: signerInfo.signedAttrs !== undefined,
    certificates,
    signer: findSigner(certificates, signerInfo.sid),
    digestAlgorithm: signerInfo.digestAlgorithm,
    signatureAlgorithm: signerInfo.signatureAlgorithm,
  };
}

function isDer(cms: Uint8Array): boolean {
  try {
    parseDer(cms, DER_LIMITS);
    return true;
  } catch {
    return false;
  }
}

function assertSize(cms: Uint8Array): void {
  if (cms.length === 0) throw malformed('empty CMS');
  if (cms.length > MAX_CMS_BYTES) throw malformed('CMS larger than any sign-in proof');
}

/** ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT } (RFC 5652 §3). */
function readContentInfo(root: DerNode): DerNode {
  const [contentType, content] = expectSequence(root, 2, 2, 'ContentInfo') as [DerNode, DerNode];
  if (readOid(contentType) !== cmsOid.signedData) throw malformed('ContentInfo is not id-signedData');
  expectChildren(expectTag(content, 0xa0, 'ContentInfo content'), 1, 1, 'ContentInfo content');
  return childAt(content, 0, 'SignedData', TAG.SEQUENCE);
}

/** SignedData (RFC 5652 §5.1), every field in its place and nothing else. */
function readSignedData(node: DerNode): SignedDataParts {
  const fields = expectChildren(node, 4, 6, 'SignedData');
  let at = 0;
  const version = readSmallInteger(childAt(node, at++, 'SignedData version', TAG.INTEGER), 5, 'SignedData version');
  const digestAlgorithms = expectChildren(
    childAt(node, at++, 'digestAlgorithms', TAG.SET), 1, MAX_DIGEST_ALGORITHMS, 'digestAlgorithms');
  const encap = expectSequence(childAt(node, at++, 'encapContentInfo'), 1, 2, 'encapContentInfo');
  const certificates = fields[at]?.tag === 0xa0
    ? expectChildren(childAt(node, at++, 'certificates'), 1, MAX_CERTIFICATES, 'certificates')
    : [];
  const crls = fields[at]?.tag === 0xa1 ? childAt(node, at++, 'crls').children : [];
  const signerInfos = childAt(node, at++, 'signerInfos', TAG.SET).children;
  if (at !== fields.length) throw malformed('SignedData has elements after signerInfos');
  return { version, digestAlgorithms, ...readEncapsulatedContent(encap), certificates, crls, signerInfos };
}

/** EncapsulatedContentInfo: eContentType and an optional [0] EXPLICIT OCTET STRING. */
function readEncapsulatedContent(fields: DerNode[]): { eContentType: string; eContent: Uint8Array | undefined } {
  const [type, wrapped] = fields as [DerNode, DerNode | undefined];
  if (wrapped === undefined) return { eContentType: readOid(type), eContent: undefined };
  expectTag(wrapped, 0xa0, 'eContent');
  expectChildren(wrapped, 1, 1, 'eContent');
  return { eContentType: readOid(type), eContent: readBerOctetString(childAt(wrapped, 0, 'eContent')) };
}

/** RFC 5652 §5.1 allows many signers; a sign-in has exactly one (docs/security-cases.md #24). */
function assertOneSignerInfo(signerInfos: DerNode[]): DerNode {
  if (signerInfos.length !== 1) throw malformed(`${signerInfos.length} SignerInfos, exactly one allowed`);
  return signerInfos[0]!;
}

/** SignerInfo (RFC 5652 §5.3). */
function readSignerInfo(node: DerNode): SignerInfoParts {
  const fields = expectSequence(node, 5, 7, 'SignerInfo');
  let at = 0;
  const version = readSmallInteger(childAt(node, at++, 'SignerInfo version', TAG.INTEGER), 3, 'SignerInfo version');
  const sid = readSignerIdentifier(childAt(node, at++, 'sid'));
  const digestAlgorithm = readAlgorithmIdentifier(childAt(node, at++, 'digestAlgorithm'));
  const signedAttrs = fields[at]?.tag === 0xa0 ? fields[at++] : undefined;
  const signatureAlgorithm = readAlgorithmIdentifier(childAt(node, at++, 'signatureAlgorithm'));
  const signature = readBerOctetString(childAt(node, at++, 'signature'));
  // unsignedAttrs [1] carry nothing we read (countersignatures, timestamps); never trusted.
  if (fields[at]?.tag === 0xa1) at++;
  if (at !== fields.length) throw malformed('SignerInfo has unexpected elements');
  return { version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature };
}

/** SignerIdentifier: issuerAndSerialNumber SEQUENCE or [0] IMPLICIT SubjectKeyIdentifier. */
function readSignerIdentifier(node: DerNode): SignerId {
  if (node.tag === 0x80) return { kind: 'subjectKeyIdentifier', keyId: node.content };
  const [issuer, serial] = expectSequence(node, 2, 2, 'issuerAndSerialNumber') as [DerNode, DerNode];
  expectTag(issuer, TAG.SEQUENCE, 'issuerAndSerialNumber issuer');
  expectTag(serial, TAG.INTEGER, 'issuerAndSerialNumber serialNumber');
  return { kind: 'issuerAndSerialNumber', issuer: issuer.bytes, serial: serial.content };
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2). */
function readAlgorithmIdentifier(node: DerNode): AlgorithmIdentifier {
  const [algorithm, parameters] = expectSequence(node, 1, 2, 'AlgorithmIdentifier') as [DerNode, DerNode | undefined];
  return parameters === undefined ? { oid: readOid(algorithm) } : { oid: readOid(algorithm), parameters: parameters.bytes };
}

/**
 * RFC 5652 §5.1 / §5.3: SignerInfo v1 goes with issuerAndSerialNumber, v3 with
 * subjectKeyIdentifier; the SignedData version follows from its fields (eContentType being
 * id-data): 5 with "other" revocation info, else 3 with a v3 SignerInfo, else 1. Anything
 * else comes from a producer we do not understand (docs/security-cases.md #32).
 */
function assertVersions(signedData: SignedDataParts, signerInfo: SignerInfoParts): void {
  const signerVersion = signerInfo.sid.kind === 'issuerAndSerialNumber' ? 1 : 3;
  if (signerInfo.version !== signerVersion) throw malformed('SignerInfo version does not match its sid choice');
  const otherRevocationInfo = signedData.crls.some((entry) => entry.tag === 0xa1);
  const expected = otherRevocationInfo ? 5 : signerVersion === 3 ? 3 : 1;
  if (signedData.version !== expected) throw malformed(`SignedData version ${signedData.version}, expected ${expected}`);
}

/** Only id-data: other types (id-ct-TSTInfo…) make pkijs and others reinterpret the content (§B 16). */
function assertDataContentType(eContentType: string): void {
  if (eContentType !== cmsOid.data) throw malformed('eContentType is not id-data');
}

/** Detached: the content is our challenge. Attached: it must be our challenge, byte for byte. */
export function assertContentIsChallenge(eContent: Uint8Array | undefined, challenge: Uint8Array): Uint8Array {
  if (eContent === undefined) return challenge;
  if (!bytesEqual(eContent, challenge)) throw new ServiceError('signature_invalid', 'the signed content is not the challenge');
  return eContent;
}

/**
 * SignedData.digestAlgorithms lists what the signers use (RFC 5652 §5.1), each with its
 * parameters absent or NULL as for the SignerInfo's own (RFC 5754 §2, RFC 4490 §2): the set is
 * outside the signature, so nothing in it may vary unchecked.
 */
function assertDigestAlgorithmListed(digestAlgorithms: DerNode[], oid: string): void {
  const listed = digestAlgorithms.map(readAlgorithmIdentifier);
  if (listed.some((algorithm) => !isAbsentOrNull(algorithm.parameters))) throw malformed('digestAlgorithms has parameters other than NULL');
  if (!listed.some((algorithm) => algorithm.oid === oid)) throw malformed('SignerInfo digest missing from digestAlgorithms');
}

/**
 * signedAttrs (RFC 5652 §5.3–5.4, §11.1–11.2): received as canonical DER (the SET OF sorted,
 * checked by re-parsing with the SET tag), each attribute type once, content-type equal to
 * eContentType, messageDigest equal to H(content). Returns the bytes the signature covers:
 * the attributes re-tagged 0x31.
 */
function assertSignedAttributes(signedAttrs: DerNode, eContentType: string, content: Uint8Array, digest: DigestAlgorithm): Uint8Array {
  const asSet = new Uint8Array(signedAttrs.bytes);
  asSet[0] = TAG.SET;
  const attributes = expectChildren(parseDer(asSet, DER_LIMITS), 1, MAX_SIGNED_ATTRIBUTES, 'signedAttrs');
  const values = new Map<string, DerNode[]>();
  for (const attribute of attributes) {
    const [type, set] = expectSequence(attribute, 2, 2, 'Attribute') as [DerNode, DerNode];
    const oid = readOid(type);
    if (values.has(oid)) throw malformed(`signed attribute ${oid} appears twice`);
    values.set(oid, expectChildren(expectTag(set, TAG.SET, 'attrValues'), 1, 1, `signed attribute ${oid}`));
  }
  const contentType = values.get(cmsOid.contentType)?.[0];
  const messageDigest = values.get(cmsOid.messageDigest)?.[0];
  if (contentType === undefined) throw malformed('signedAttrs without content-type');
  if (messageDigest === undefined) throw malformed('signedAttrs without messageDigest');
  if (readOid(contentType) !== eContentType) throw malformed('content-type attribute differs from eContentType');
  // RFC 5652 §11.3 signing-time (E-IMZO sends it): a well-formed Time, never used for validity,
  // which is judged at our own clock.
  const signingTime = values.get(cmsOid.signingTime)?.[0];
  if (signingTime !== undefined) readTime(signingTime);
  if (!bytesEqual(readOctetString(messageDigest), digest.hash(content))) {
    throw new ServiceError('signature_invalid', 'messageDigest does not match the challenge');
  }
  return asSet;
}

function readCertificates(nodes: DerNode[]): ParsedCertificate[] {
  if (nodes.length === 0) throw malformed('CMS carries no certificates');
  return nodes.map((node) => {
    // Only plain X.509 Certificates (RFC 5652 §10.2.2 CertificateChoices); attribute certs are not ours.
    expectTag(node, TAG.SEQUENCE, 'CertificateChoices');
    return parseCertificateCached(node.bytes);
  });
}

/** The one certificate the sid names; two matches are a substitution attempt (§B 25). */
function findSigner(certificates: ParsedCertificate[], sid: SignerId): ParsedCertificate {
  const matches = certificates.filter((certificate) => matchesSignerId(certificate, sid));
  if (matches.length === 0) throw malformed('no certificate in the CMS matches the signer identifier');
  if (matches.length > 1) throw malformed('several certificates in the CMS match the signer identifier');
  return matches[0]!;
}

function matchesSignerId(certificate: ParsedCertificate, sid: SignerId): boolean {
  if (sid.kind === 'subjectKeyIdentifier') {
    return certificate.subjectKeyId !== undefined && bytesEqual(certificate.subjectKeyId, sid.keyId);
  }
  return bytesEqual(certificate.issuer.der, sid.issuer) && bytesEqual(serialBytesOf(certificate), sid.serial);
}

/**
 * The signature's own hash must be the SignerInfo digest: ecdsa-with-SHA384 over a SHA-256
 * digest is a combination we refuse (docs/security-cases.md #28); Ed25519 goes with SHA-512
 * only (RFC 8419 §3.1). `rsaEncryption` and other key OIDs in the SignerInfo were resolved
 * with the digest by the registry (RFC 3370 §3.2, RFC 4490 §3.2).
 */
function assertSchemeUsesDigest(scheme: ResolvedScheme, digest: DigestAlgorithm): ResolvedScheme {
  if (scheme.digest !== digest.oid) throw new ServiceError('unsupported_algorithm', `${scheme.title} does not hash with ${digest.title}, the digest algorithm`);
  return scheme;
}
