// Certificate revocation lists (RFC 5280 §5) from strict DER into plain data. Whether a CRL
// may be used for a certificate is decided in revocation.ts; this file only reads.
import { createHash } from 'node:crypto';
import type { AlgorithmIdentifier, DistributionPoint, Extension, Name } from './model.ts';
import {
  type DerNode, bytesEqual, childAt, expectChildren, expectSequence, expectTag, malformed, parseDer,
  readBitStringBytes, readBoolean, readInteger, readSmallInteger, readTime, sequenceElements, TAG, toHex,
} from '../asn1/der.ts';
import { parseAlgorithmIdentifier, parseExtension } from './certificate.ts';
import { implicitBitString, parseDistributionPointName, parseGeneralNames, parseReasonFlags } from './extensions.ts';
import { parseName } from './name.ts';
import { OID } from '../asn1/oids.ts';

export interface IssuingDistributionPoint {
  distributionPoint?: Pick<DistributionPoint, 'fullName' | 'nameRelativeToCrlIssuer'>;
  onlyContainsUserCerts: boolean;
  onlyContainsCACerts: boolean;
  /** ReasonFlags mask (bit i = reason i), when the CRL covers only some reasons. */
  onlySomeReasons?: number;
  indirectCrl: boolean;
  onlyContainsAttributeCerts: boolean;
}

export interface RevokedEntry {
  /** Upper-case serial hex, as ParsedCertificate.serialHex. */
  serialHex: string;
  /**
   * The issuer of the revoked certificate: the CRL issuer, or in an indirect CRL the name of
   * the last certificateIssuer entry extension at or before this entry (RFC 5280 §5.3.3).
   */
  certificateIssuer: Name;
  revocationDate: Date;
  /** CRLReason (RFC 5280 §5.3.1) when the entry carries one. */
  reason?: number;
}

/**
 * Revoked certificates by entryKey(certificate issuer, serial): a Map when parsed in this
 * thread, a packed table when read in a worker (crlTransfer.ts).
 */
export interface RevokedEntries {
  readonly size: number;
  get(key: string): RevokedEntry | undefined;
  values(): Iterable<RevokedEntry>;
}

export interface ParsedCrl {
  der: Uint8Array;
  sha256: string;
  tbs: Uint8Array;
  version: 1 | 2;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  issuer: Name;
  thisUpdate: Date;
  nextUpdate?: Date;
  entries: RevokedEntries;
  extensions: Extension[];
  crlNumber?: bigint;
  authorityKeyId?: Uint8Array;
  isDelta: boolean;
  /** BaseCRLNumber of a delta CRL (RFC 5280 §5.2.4): the oldest complete CRL it updates. */
  baseCrlNumber?: bigint;
  issuingDistributionPoint?: IssuingDistributionPoint;
  /** A CRL extension this reader does not process was marked critical (RFC 5280 §5.2: then it MUST NOT be used). */
  unknownCriticalExtension?: string;
  /** Some entry carries an unknown critical extension, or a certificateIssuer outside an indirect CRL (§5.3). */
  unusableEntry?: string;
  /**
   * Signature checks already made where the CRL was read (a worker thread), by spkiKey of the
   * key tried: a multi-megabyte list is not hashed again on the event loop.
   */
  signatureChecks?: ReadonlyMap<string, boolean>;
}

/** The key of ParsedCrl.signatureChecks: the SHA-256 of a SubjectPublicKeyInfo. */
export function spkiKey(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('hex');
}

/** The key of `entries`: a serial number is unique only per certificate issuer (indirect CRLs). */
export function entryKey(issuer: Name, serialHex: string): string {
  return `${serialHex}@${issuer.canonical}`;
}

export const maxCrlBytes = 32 * 1024 * 1024;
// A CRL is read in parts: the outer SEQUENCEs with their elements framed only (each a TLV of
// definite length within its parent, DerLimits.framedOnly), then each element, and each
// revoked entry, by a strict parse of its own. A national list's 100 000 entries parsed as one
// tree were a million nodes alive at once, and the collector moving them took longer than the
// parse itself (1.2–1.5 s a list, 4–5 s on a busy machine, in the worker thread but on cores the
// service shares: issue 12 target 5). A part's nodes are garbage as soon as it is read. The
// budget of nodes is per part; the whole is bounded by maxCrlBytes.
const framed = { framedOnly: (_tag: number, depth: number) => depth === 0 };
const partLimits = { maxDepth: 16, maxNodes: 100_000 };
const part = (node: DerNode): DerNode => parseDer(node.bytes, partLimits);

/** Parses one DER CRL. Throws malformed_signature on any structural deviation. */
export function parseCrl(input: Uint8Array): ParsedCrl {
  if (input.length > maxCrlBytes) throw malformed('CRL too large');
  const der = Uint8Array.from(input);
  const entries = new Map<string, RevokedEntry>();
  const [tbsFrame, algFrame, sigFrame] = expectSequence(parseDer(der, framed), 3, 3, 'CertificateList') as [DerNode, DerNode, DerNode];
  const [algNode, sigNode] = [part(algFrame), part(sigFrame)];
  const tbsNode = parseDer(tbsFrame.bytes, framed);
  const items = expectSequence(tbsNode, 3, 7, 'TBSCertList');
  let i = 0;
  let version: 1 | 2 = 1;
  if (items[0]!.tag === TAG.INTEGER) {
    // RFC 5280 §5.1.2.1: when present, version MUST be v2 (1).
    if (readSmallInteger(part(items[0]!), 1, 'CRL version') !== 1) throw malformed('CRL version present but not v2');
    version = 2;
    i = 1;
  }
  if (!bytesEqual(items[i]!.bytes, algNode.bytes)) throw malformed('CRL signatureAlgorithm differs from the one inside tbsCertList');
  const crl: ParsedCrl = {
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
    tbs: tbsNode.bytes,
    version,
    signatureAlgorithm: parseAlgorithmIdentifier(algNode),
    signature: readBitStringBytes(sigNode, 'CRL signatureValue'),
    issuer: parseName(part(childAt(tbsNode, i + 1, 'CRL issuer'))),
    thisUpdate: readTime(part(childAt(tbsNode, i + 2, 'thisUpdate'))),
    entries,
    extensions: [],
    isDelta: false,
  };
  let rest = items.slice(i + 3);
  if (rest[0] !== undefined && (rest[0].tag === TAG.UTCTime || rest[0].tag === TAG.GeneralizedTime)) {
    crl.nextUpdate = readTime(part(rest[0]));
    rest = rest.slice(1);
  }
  if (rest[0]?.tag === TAG.SEQUENCE) {
    readEntries(rest[0].bytes, crl, entries);
    rest = rest.slice(1);
  }
  if (rest[0]?.tag === 0xa0) {
    if (version !== 2) throw malformed('CRL extensions in a v1 CRL');
    const extensions = part(rest[0]);
    readCrlExtensions(childAt(extensions, 0, 'crlExtensions', TAG.SEQUENCE), crl);
    expectChildren(extensions, 1, 1, 'crlExtensions');
    rest = rest.slice(1);
  }
  if (rest.length > 0) throw malformed('TBSCertList: unexpected element');
  // §5.3.3: certificateIssuer belongs to indirect CRLs only.
  const indirect = crl.issuingDistributionPoint?.indirectCrl === true;
  if (!indirect && [...entries.values()].some((e) => e.certificateIssuer !== crl.issuer)) {
    crl.unusableEntry ??= 'an entry names a certificateIssuer but the CRL is not indirect';
  }
  return crl;
}

function readEntries(list: Uint8Array, crl: ParsedCrl, entries: Map<string, RevokedEntry>): void {
  let certificateIssuer = crl.issuer;
  for (const entry of sequenceElements(list, partLimits)) {
    const fields = expectSequence(entry, 2, 3, 'revokedCertificate');
    const serial = expectTag(fields[0]!, TAG.INTEGER, 'userCertificate');
    const revocationDate = readTime(fields[1]!);
    let reason: number | undefined;
    if (fields[2] !== undefined) {
      if (crl.version !== 2) throw malformed('CRL entry extensions in a v1 CRL');
      const read = readEntryExtensions(fields[2], crl);
      reason = read.reason;
      certificateIssuer = read.certificateIssuer ?? certificateIssuer;
    }
    const serialHex = toHex(serial.content).toUpperCase();
    const key = entryKey(certificateIssuer, serialHex);
    if (entries.has(key)) throw malformed('CRL lists the same certificate twice');
    entries.set(key, { serialHex, certificateIssuer, revocationDate, ...(reason === undefined ? {} : { reason }) });
  }
  // RFC 5280 §5.1.2.6: when there are no revoked certificates the list MUST be absent.
  if (entries.size === 0) throw malformed('revokedCertificates: 0 elements, expected 1..');
}

function readEntryExtensions(node: DerNode, crl: ParsedCrl): { reason?: number; certificateIssuer?: Name } {
  const result: { reason?: number; certificateIssuer?: Name } = {};
  const seen = new Set<string>();
  // SIZE (1..MAX) in RFC 5280, but some encoders write an empty list; it carries no meaning.
  for (const extNode of expectSequence(node, 0, 32, 'crlEntryExtensions')) {
    const ext = parseExtension(extNode);
    if (seen.has(ext.oid)) throw malformed(`CRL entry extension ${ext.oid} appears twice`);
    seen.add(ext.oid);
    const value = parseDer(ext.value);
    if (ext.oid === OID.reasonCode) {
      expectTag(value, TAG.ENUMERATED, 'reasonCode');
      result.reason = Number(readInteger(value));
    } else if (ext.oid === OID.invalidityDate) {
      readTime(value);
    } else if (ext.oid === OID.certificateIssuer) {
      const dn = parseGeneralNames(expectTag(value, TAG.SEQUENCE, 'certificateIssuer')).find((n) => n.type === 'dn');
      if (dn?.type !== 'dn') crl.unusableEntry = 'a certificateIssuer entry extension names no directoryName';
      else result.certificateIssuer = dn.value;
    } else if (ext.critical) {
      crl.unusableEntry = `entry extension ${ext.oid} is critical and unknown`;
    }
  }
  return result;
}

function readCrlExtensions(node: DerNode, crl: ParsedCrl): void {
  const seen = new Set<string>();
  for (const extNode of expectChildren(node, 1, 32, 'crlExtensions')) {
    const ext = parseExtension(extNode);
    if (seen.has(ext.oid)) throw malformed(`CRL extension ${ext.oid} appears twice`);
    seen.add(ext.oid);
    crl.extensions.push(ext);
    const value = parseDer(ext.value);
    switch (ext.oid) {
      case OID.crlNumber:
        crl.crlNumber = readInteger(expectTag(value, TAG.INTEGER, 'cRLNumber'));
        if (crl.crlNumber < 0n) throw malformed('negative cRLNumber');
        break;
      case OID.authorityKeyIdentifier: {
        const keyId = expectSequence(value, 0, 3, 'authorityKeyIdentifier').find((n) => n.tag === 0x80);
        if (keyId !== undefined) crl.authorityKeyId = keyId.content;
        break;
      }
      case OID.deltaCrlIndicator:
        crl.baseCrlNumber = readInteger(expectTag(value, TAG.INTEGER, 'BaseCRLNumber'));
        if (crl.baseCrlNumber < 0n) throw malformed('negative BaseCRLNumber');
        crl.isDelta = true;
        break;
      case OID.issuingDistributionPoint:
        crl.issuingDistributionPoint = parseIssuingDistributionPoint(value);
        break;
      case OID.issuerAltName:
        parseGeneralNames(expectTag(value, TAG.SEQUENCE, 'issuerAltName'));
        break;
      case OID.freshestCrl:
        break;
      default:
        if (ext.critical) crl.unknownCriticalExtension = ext.oid;
    }
  }
}

// RFC 5280 §5.2.5. BOOLEANs default FALSE, so DER carries them only as TRUE.
function parseIssuingDistributionPoint(node: DerNode): IssuingDistributionPoint {
  const idp: IssuingDistributionPoint = {
    onlyContainsUserCerts: false, onlyContainsCACerts: false, indirectCrl: false, onlyContainsAttributeCerts: false,
  };
  let last = -1;
  for (const item of expectSequence(node, 0, 6, 'issuingDistributionPoint')) {
    if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 5) throw malformed('issuingDistributionPoint: bad element');
    last = item.tagNumber;
    if (item.tagNumber === 0) idp.distributionPoint = parseDistributionPointName(item);
    else if (item.tagNumber === 3) idp.onlySomeReasons = parseReasonFlags(implicitBitString(item));
    else {
      if (item.constructed || item.content.length !== 1) throw malformed('issuingDistributionPoint: bad BOOLEAN');
      if (!readBoolean(parseDer(Uint8Array.of(TAG.BOOLEAN, 1, item.content[0]!)))) throw malformed('issuingDistributionPoint: FALSE must be omitted in DER');
      if (item.tagNumber === 1) idp.onlyContainsUserCerts = true;
      else if (item.tagNumber === 2) idp.onlyContainsCACerts = true;
      else if (item.tagNumber === 4) idp.indirectCrl = true;
      else idp.onlyContainsAttributeCerts = true;
    }
  }
  return idp;
}

const pemBlock = /-----BEGIN X509 CRL-----([^-]*)-----END X509 CRL-----/g;

/** CRLs from DER or PEM (X509 CRL blocks). */
export function parseCrlsFromPemOrDer(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] === TAG.SEQUENCE) return [bytes];
  const found: Uint8Array[] = [];
  for (const match of Buffer.from(bytes).toString('latin1').matchAll(pemBlock)) {
    const body = match[1]!.replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw malformed('PEM: bad base64');
    found.push(Uint8Array.from(Buffer.from(body, 'base64')));
  }
  if (found.length === 0) throw malformed('no CRL found (expected DER or PEM X509 CRL blocks)');
  return found;
}
