// X.509 certificates (RFC 5280 §4.1) from strict DER into the plain model of model.ts.
import { createHash } from 'node:crypto';
import type { AlgorithmIdentifier, Extension, ParsedCertificate, PublicKeyInfo } from './model.ts';
import {
  type DerNode, bytesEqual, childAt, expectChildren, expectSequence, expectTag, malformed, parseDer,
  readBitStringBytes, readBoolean, readInteger, readOctetString, readOid, readSmallInteger,
  readTime, TAG, toHex,
} from '../asn1/der.ts';
import { certificateExtensionDecoders } from './extensions.ts';
import { parseName } from './name.ts';
import { OID } from '../asn1/oids.ts';

// A certificate larger than this is not one a citizen's token carries (docs/security-cases.md §J 135).
export const maxCertificateBytes = 16 * 1024;
const maxExtensions = 32;

export function parseAlgorithmIdentifier(node: DerNode, what = 'AlgorithmIdentifier'): AlgorithmIdentifier {
  const items = expectSequence(node, 1, 2, what);
  const oid = readOid(items[0]!);
  return items[1] === undefined ? { oid } : { oid, parameters: items[1].bytes };
}

/** Parses one DER certificate. Throws malformed_signature on any deviation from DER or RFC 5280 structure. */
export function parseCertificate(input: Uint8Array): ParsedCertificate {
  if (input.length > maxCertificateBytes) throw malformed('certificate too large');
  // A private copy: cached results must not change when a caller reuses its buffer.
  const der = Uint8Array.from(input);
  const root = parseDer(der);
  const [tbsNode, sigAlgNode, sigNode] = expectSequence(root, 3, 3, 'Certificate') as [DerNode, DerNode, DerNode];
  const tbsItems = expectSequence(tbsNode, 6, 10, 'TBSCertificate');
  let i = 0;
  let version: 1 | 2 | 3 = 1;
  if (tbsItems[0]!.tag === 0xa0) {
    const v = readSmallInteger(childAt(expectOne(tbsItems[0]!, 'version'), 0, 'version', TAG.INTEGER), 2, 'version');
    // DER omits a field equal to its DEFAULT (v1), so an explicit v1 is not DER (X.690 §11.5).
    if (v === 0) throw malformed('explicit version v1 is not DER');
    version = (v + 1) as 2 | 3;
    i = 1;
  }
  const serialNode = expectTag(tbsItems[i]!, TAG.INTEGER, 'serialNumber');
  // RFC 5280 §4.1.2.2: at most 20 octets.
  if (serialNode.content.length > 20) throw malformed('serialNumber longer than 20 octets');
  const tbsSignatureAlgorithm = parseAlgorithmIdentifier(tbsItems[i + 1]!, 'signature');
  const issuer = parseName(tbsItems[i + 2]!);
  const [notBefore, notAfter] = expectSequence(tbsItems[i + 3]!, 2, 2, 'Validity').map(readTime) as [Date, Date];
  const subject = parseName(tbsItems[i + 4]!);
  const spkiNode = tbsItems[i + 5];
  if (spkiNode === undefined) throw malformed('TBSCertificate: missing subjectPublicKeyInfo');
  const publicKey = parsePublicKeyInfo(spkiNode);
  const signatureAlgorithm = parseAlgorithmIdentifier(sigAlgNode, 'signatureAlgorithm');
  // RFC 5280 §4.1.1.2: the outer algorithm MUST be identical to the signed one.
  if (!bytesEqual(tbsItems[i + 1]!.bytes, sigAlgNode.bytes)) {
    throw malformed('signatureAlgorithm differs from the algorithm inside tbsCertificate');
  }
  const cert: ParsedCertificate = {
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
    tbs: tbsNode.bytes,
    version,
    serialHex: toHex(serialNode.content).toUpperCase(),
    signatureAlgorithm,
    tbsSignatureAlgorithm,
    signature: readBitStringBytes(sigNode, 'signatureValue'),
    issuer,
    subject,
    notBefore,
    notAfter,
    spki: spkiNode.bytes,
    publicKey,
    extensions: [],
  };
  readOptionalTail(tbsItems.slice(i + 6), cert);
  return cert;
}

function expectOne(node: DerNode, what: string): DerNode {
  expectChildren(node, 1, 1, what);
  return node;
}

// issuerUniqueID [1], subjectUniqueID [2] (v2/v3 only) and extensions [3] (v3 only), RFC 5280 §4.1.2.8–9.
function readOptionalTail(items: DerNode[], cert: ParsedCertificate): void {
  let last = 0;
  for (const item of items) {
    if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 3) throw malformed('TBSCertificate: unexpected element');
    last = item.tagNumber;
    if (item.tagNumber === 3) {
      if (cert.version !== 3) throw malformed('extensions in a certificate that is not v3');
      readExtensions(childAt(expectOne(item, 'extensions'), 0, 'extensions', TAG.SEQUENCE), cert);
    } else {
      if (cert.version === 1) throw malformed('unique identifier in a v1 certificate');
      if (item.constructed) throw malformed('unique identifier must be primitive');
    }
  }
}

function readExtensions(node: DerNode, cert: ParsedCertificate): void {
  const seen = new Set<string>();
  for (const extNode of expectChildren(node, 1, maxExtensions, 'Extensions')) {
    const extension = parseExtension(extNode);
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(extension.oid)) throw malformed(`extension ${extension.oid} appears twice`);
    seen.add(extension.oid);
    cert.extensions.push(extension);
    const decode = certificateExtensionDecoders.get(extension.oid);
    if (decode !== undefined) decode(parseDer(extension.value), cert);
  }
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function parseExtension(node: DerNode): Extension {
  const items = expectSequence(node, 2, 3, 'Extension');
  const oid = readOid(items[0]!);
  let critical = false;
  if (items.length === 3) {
    critical = readBoolean(items[1]!);
    if (!critical) throw malformed('Extension: critical FALSE must be omitted in DER');
  }
  return { oid, critical, value: readOctetString(items[items.length - 1]!) };
}

/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) reduced to what key policy needs. */
export function parsePublicKeyInfo(node: DerNode): PublicKeyInfo {
  const [algNode, keyNode] = expectSequence(node, 2, 2, 'SubjectPublicKeyInfo') as [DerNode, DerNode];
  const algorithm = parseAlgorithmIdentifier(algNode, 'SubjectPublicKeyInfo algorithm');
  const key = readBitStringBytes(keyNode, 'subjectPublicKey');
  switch (algorithm.oid) {
    case OID.rsaEncryption:
      return parseRsaKey(algorithm, key);
    case OID.ecPublicKey:
      return parseEcKey(algNode);
    case OID.ed25519:
      // RFC 8410 §3: parameters MUST be absent; the key is 32 octets.
      if (algorithm.parameters !== undefined || key.length !== 32) throw malformed('Ed25519 key: bad encoding');
      return { kind: 'ed25519' };
    default:
      return { kind: 'other', oid: algorithm.oid };
  }
}

// RFC 3279 §2.3.1: parameters NULL; RSAPublicKey ::= SEQUENCE { modulus, publicExponent }.
function parseRsaKey(algorithm: AlgorithmIdentifier, key: Uint8Array): PublicKeyInfo {
  if (algorithm.parameters === undefined || !bytesEqual(algorithm.parameters, Uint8Array.of(TAG.NULL, 0))) {
    throw malformed('RSA key: parameters must be NULL');
  }
  const [n, e] = expectSequence(parseDer(key), 2, 2, 'RSAPublicKey') as [DerNode, DerNode];
  const modulus = expectTag(n, TAG.INTEGER, 'modulus').content;
  const exponent = readInteger(expectTag(e, TAG.INTEGER, 'publicExponent'));
  // DER INTEGERs are minimal, so past an optional 0x00 sign octet the first octet is non-zero.
  const magnitude = modulus[0] === 0 ? modulus.subarray(1) : modulus;
  if ((modulus[0]! & 0x80) !== 0 || magnitude.length === 0) throw malformed('RSA key: modulus not positive');
  return { kind: 'rsa', bits: (magnitude.length - 1) * 8 + magnitude[0]!.toString(2).length, exponent };
}

const curves: Readonly<Record<string, 'P-256' | 'P-384' | 'P-521'>> = {
  [OID.secp256r1]: 'P-256',
  [OID.secp384r1]: 'P-384',
  [OID.secp521r1]: 'P-521',
};

// RFC 5480 §2.1.1: only namedCurve is allowed; explicit parameters are CurveBall's door (CVE-2020-0601).
function parseEcKey(algNode: DerNode): PublicKeyInfo {
  const params = algNode.children[1];
  if (params === undefined || params.tag !== TAG.OID) return { kind: 'ec', curve: 'other' };
  const curveOid = readOid(params);
  return { kind: 'ec', curve: curves[curveOid] ?? 'other', curveOid };
}

/** Bounded LRU of parsed certificates by SHA-256 of their DER: repeat sign-ins parse nothing. */
const cacheLimit = 2000;
const cache = new Map<string, ParsedCertificate>();

export function parseCertificateCached(der: Uint8Array): ParsedCertificate {
  if (der.length > maxCertificateBytes) throw malformed('certificate too large');
  const key = createHash('sha256').update(der).digest('hex');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const cert = parseCertificate(der);
  cache.set(key, cert);
  if (cache.size > cacheLimit) cache.delete(cache.keys().next().value!);
  return cert;
}

const pemBlock = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;

/**
 * Certificates from a trust-anchor or intermediate file: one DER certificate, or PEM with
 * one or more CERTIFICATE blocks (other PEM blocks are ignored). Each is checked to be
 * exactly one DER element; parse them with parseCertificate.
 */
export function parseCertificatesFromPemOrDer(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] === TAG.SEQUENCE) {
    parseDer(bytes);
    return [bytes];
  }
  const text = Buffer.from(bytes).toString('latin1');
  const found: Uint8Array[] = [];
  for (const match of text.matchAll(pemBlock)) {
    const body = match[1]!.replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw malformed('PEM: bad base64');
    const der = Uint8Array.from(Buffer.from(body, 'base64'));
    parseDer(der);
    found.push(der);
  }
  if (found.length === 0) throw malformed('no certificate found (expected DER or PEM CERTIFICATE blocks)');
  return found;
}

/** The serialNumber INTEGER content octets (as CMS IssuerAndSerialNumber carries them). */
export function serialBytesOf(cert: ParsedCertificate): Uint8Array {
  return Uint8Array.from(Buffer.from(cert.serialHex, 'hex'));
}

/** Whether subject and issuer are the same name (RFC 5280 §3.3 "self-issued"). */
export function isSelfIssued(cert: ParsedCertificate): boolean {
  return cert.subject.canonical === cert.issuer.canonical;
}
