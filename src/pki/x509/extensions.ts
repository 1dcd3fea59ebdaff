// Decoders for the certificate and CRL extensions validation uses (RFC 5280 §4.2, §5.2).
// Each takes the DER inside extnValue and must consume it exactly (parseDer rejects trailing bytes).
import type {
  DistributionPoint, GeneralName, GeneralSubtree, KeyUsageName, ParsedCertificate, PolicyInformation,
} from './model.ts';
import {
  type DerNode, childAt, expectChildren, expectSequence, expectTag, malformed, parseDer, readBitString,
  readBoolean, readInteger, readOctetString, readOid, TAG, toHex,
} from '../asn1/der.ts';
import { parseName } from './name.ts';
import { OID } from '../asn1/oids.ts';

const maxListLength = 256;

/** GeneralName (RFC 5280 §4.2.1.6). `ipLengths` is 4/16 in SAN and 8/32 in name constraints. */
export function parseGeneralName(node: DerNode, ipLengths: readonly number[] = [4, 16]): GeneralName {
  if (node.cls !== 2) throw malformed('GeneralName: not a context-specific tag');
  switch (node.tagNumber) {
    case 1:
      return { type: 'email', value: ia5(node, 'rfc822Name') };
    case 2:
      return { type: 'dns', value: ia5(node, 'dNSName') };
    case 4:
      // directoryName is an EXPLICIT tag around a Name (a CHOICE).
      if (!node.constructed) throw malformed('directoryName must be constructed');
      return { type: 'dn', value: parseName(childAt(node, 0, 'directoryName', TAG.SEQUENCE)) };
    case 6:
      return { type: 'uri', value: ia5(node, 'uniformResourceIdentifier') };
    case 7:
      if (node.constructed) throw malformed('iPAddress must be primitive');
      if (!ipLengths.includes(node.content.length)) throw malformed(`iPAddress of ${node.content.length} octets`);
      return { type: 'ip', value: node.content };
    case 0:
    case 3:
    case 5:
    case 8:
      return { type: 'other', tag: node.tag, der: node.bytes };
    default:
      throw malformed(`GeneralName: unknown tag [${node.tagNumber}]`);
  }
}

function ia5(node: DerNode, what: string): string {
  if (node.constructed) throw malformed(`${what} must be primitive`);
  let text = '';
  for (const b of node.content) {
    if (b > 0x7f) throw malformed(`${what}: non-ASCII byte in IA5String`);
    text += String.fromCharCode(b);
  }
  return text;
}

export function parseGeneralNames(node: DerNode, ipLengths?: readonly number[]): GeneralName[] {
  return expectChildren(node, 1, maxListLength, 'GeneralNames').map((n) => parseGeneralName(n, ipLengths));
}

// Counts in certificates (pathLenConstraint, SkipCerts, subtree bounds) are INTEGER (0..MAX).
// Paths here are at most 16 certificates long, so any larger count means "no limit": it is
// clamped rather than refused.
const countCap = 1_000_000;

function readCount(node: DerNode, what: string): number {
  const value = readInteger(expectTag(node, TAG.INTEGER, what));
  if (value < 0n) throw malformed(`${what}: negative`);
  return value > BigInt(countCap) ? countCap : Number(value);
}

/** A count under an IMPLICIT context tag: the DER INTEGER rules apply to its content. */
function readImplicitCount(node: DerNode, what: string): number {
  if (node.constructed) throw malformed(`${what}: must be primitive`);
  return readCount(parseDer(Uint8Array.of(TAG.INTEGER, ...derLength(node.content.length), ...node.content)), what);
}

const keyUsageBits: KeyUsageName[] = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement',
  'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly',
];

/** Bit i of a BIT STRING, counting from the most significant bit of the first octet. */
export function bitSet(bytes: Uint8Array, i: number): boolean {
  const byte = bytes[i >> 3];
  return byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0;
}

/** Extension value decoders keyed by OID, each writing its field of ParsedCertificate. */
type Decoder = (value: DerNode, cert: ParsedCertificate) => void;

export const certificateExtensionDecoders: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  [OID.basicConstraints, (v, c) => { c.basicConstraints = parseBasicConstraints(v); }],
  [OID.keyUsage, (v, c) => { c.keyUsage = parseKeyUsage(v); }],
  [OID.extKeyUsage, (v, c) => { c.extKeyUsage = parseOidList(v, 'extKeyUsage'); }],
  [OID.subjectKeyIdentifier, (v, c) => { c.subjectKeyId = readOctetString(v); }],
  [OID.authorityKeyIdentifier, (v, c) => { c.authorityKeyId = parseAuthorityKeyId(v); }],
  [OID.subjectAltName, (v, c) => { c.subjectAltName = parseGeneralNames(expectTag(v, TAG.SEQUENCE, 'subjectAltName')); }],
  [OID.issuerAltName, (v) => { parseGeneralNames(expectTag(v, TAG.SEQUENCE, 'issuerAltName')); }],
  [OID.nameConstraints, (v, c) => { c.nameConstraints = parseNameConstraints(v); }],
  [OID.certificatePolicies, (v, c) => { c.certificatePolicies = parseCertificatePolicies(v); }],
  [OID.policyMappings, (v, c) => { c.policyMappings = parsePolicyMappings(v); }],
  [OID.policyConstraints, (v, c) => { c.policyConstraints = parsePolicyConstraints(v); }],
  [OID.inhibitAnyPolicy, (v, c) => { c.inhibitAnyPolicy = readCount(v, 'inhibitAnyPolicy'); }],
  [OID.crlDistributionPoints, (v, c) => { c.crlDistributionPoints = parseCrlDistributionPoints(v); }],
  [OID.authorityInfoAccess, (v, c) => { c.authorityInfoAccess = parseAuthorityInfoAccess(v); }],
]);

// RFC 5280 §4.2.1.9; DER omits cA when FALSE (X.690 §11.5), so an explicit FALSE is rejected.
function parseBasicConstraints(node: DerNode): { ca: boolean; pathLen?: number } {
  const items = expectSequence(node, 0, 2, 'basicConstraints');
  let index = 0;
  let ca = false;
  if (items[0]?.tag === TAG.BOOLEAN) {
    ca = readBoolean(items[0]);
    if (!ca) throw malformed('basicConstraints: cA FALSE must be omitted in DER');
    index = 1;
  }
  const rest = items.slice(index);
  if (rest.length > 1) throw malformed('basicConstraints: unexpected elements');
  if (rest[0] === undefined) return { ca };
  return { ca, pathLen: readCount(rest[0], 'pathLenConstraint') };
}

function parseKeyUsage(node: DerNode): Set<KeyUsageName> {
  const { bytes } = readBitString(node);
  const usages = new Set<KeyUsageName>();
  keyUsageBits.forEach((name, i) => { if (bitSet(bytes, i)) usages.add(name); });
  return usages;
}

function parseOidList(node: DerNode, what: string): string[] {
  return expectSequence(node, 1, maxListLength, what).map(readOid);
}

function parseAuthorityKeyId(node: DerNode): NonNullable<ParsedCertificate['authorityKeyId']> {
  const result: NonNullable<ParsedCertificate['authorityKeyId']> = {};
  let last = -1;
  for (const item of expectSequence(node, 0, 3, 'authorityKeyIdentifier')) {
    if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 2) throw malformed('authorityKeyIdentifier: bad element');
    last = item.tagNumber;
    if (item.tagNumber === 0) {
      if (item.constructed) throw malformed('authorityKeyIdentifier: keyIdentifier must be primitive');
      result.keyId = item.content;
    } else if (item.tagNumber === 1) {
      result.issuer = parseGeneralNames(item);
    } else {
      // A serial number: any size up to 20 octets, so only its DER form is checked here.
      if (item.constructed || item.content.length > 20) throw malformed('authorityCertSerialNumber: bad INTEGER');
      parseDer(Uint8Array.of(TAG.INTEGER, item.content.length, ...item.content));
      result.serialHex = toHex(item.content).toUpperCase();
    }
  }
  return result;
}

function parseSubtrees(node: DerNode): GeneralSubtree[] {
  return expectChildren(node, 1, maxListLength, 'GeneralSubtrees').map((subtree) => {
    const items = expectSequence(subtree, 1, 3, 'GeneralSubtree');
    const result: GeneralSubtree = { base: parseGeneralName(items[0]!, [8, 32]), minimum: 0 };
    let last = -1;
    for (const item of items.slice(1)) {
      if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 1) throw malformed('GeneralSubtree: bad element');
      last = item.tagNumber;
      const value = readImplicitCount(item, 'GeneralSubtree bound');
      // DER omits minimum when it equals its DEFAULT 0.
      if (item.tagNumber === 0 && value === 0) throw malformed('GeneralSubtree: minimum 0 must be omitted in DER');
      if (item.tagNumber === 0) result.minimum = value;
      else result.maximum = value;
    }
    return result;
  });
}

function parseNameConstraints(node: DerNode): NonNullable<ParsedCertificate['nameConstraints']> {
  const result: NonNullable<ParsedCertificate['nameConstraints']> = {};
  let last = -1;
  for (const item of expectSequence(node, 0, 2, 'nameConstraints')) {
    if (item.cls !== 2 || !item.constructed || item.tagNumber <= last || item.tagNumber > 1) throw malformed('nameConstraints: bad element');
    last = item.tagNumber;
    if (item.tagNumber === 0) result.permitted = parseSubtrees(item);
    else result.excluded = parseSubtrees(item);
  }
  return result;
}

// RFC 5280 §4.2.1.4: a policy OID appears at most once.
function parseCertificatePolicies(node: DerNode): PolicyInformation[] {
  const seen = new Set<string>();
  return expectSequence(node, 1, maxListLength, 'certificatePolicies').map((info) => {
    const items = expectSequence(info, 1, 2, 'PolicyInformation');
    const oid = readOid(items[0]!);
    if (seen.has(oid)) throw malformed(`certificatePolicies: ${oid} appears twice`);
    seen.add(oid);
    if (items[1] === undefined) return { oid };
    expectChildren(expectTag(items[1], TAG.SEQUENCE, 'policyQualifiers'), 1, maxListLength, 'policyQualifiers');
    return { oid, qualifiers: items[1].bytes };
  });
}

function parsePolicyMappings(node: DerNode): Array<{ issuerDomainPolicy: string; subjectDomainPolicy: string }> {
  return expectSequence(node, 1, maxListLength, 'policyMappings').map((mapping) => {
    const [issuer, subject] = expectSequence(mapping, 2, 2, 'PolicyMapping') as [DerNode, DerNode];
    return { issuerDomainPolicy: readOid(issuer), subjectDomainPolicy: readOid(subject) };
  });
}

function parsePolicyConstraints(node: DerNode): { requireExplicitPolicy?: number; inhibitPolicyMapping?: number } {
  const result: { requireExplicitPolicy?: number; inhibitPolicyMapping?: number } = {};
  let last = -1;
  // RFC 5280 §4.2.1.11: conforming CAs MUST NOT issue an empty policyConstraints.
  for (const item of expectSequence(node, 1, 2, 'policyConstraints')) {
    if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 1) throw malformed('policyConstraints: bad element');
    last = item.tagNumber;
    const value = readImplicitCount(item, 'policyConstraints');
    if (item.tagNumber === 0) result.requireExplicitPolicy = value;
    else result.inhibitPolicyMapping = value;
  }
  return result;
}

/** DistributionPointName (RFC 5280 §4.2.1.13), shared with issuingDistributionPoint. */
export function parseDistributionPointName(node: DerNode): Pick<DistributionPoint, 'fullName' | 'nameRelativeToCrlIssuer'> {
  const choice = childAt(node, 0, 'DistributionPointName');
  expectChildren(node, 1, 1, 'DistributionPointName');
  if (choice.cls === 2 && choice.tagNumber === 0 && choice.constructed) return { fullName: parseGeneralNames(choice) };
  if (choice.cls === 2 && choice.tagNumber === 1 && choice.constructed) {
    const rdn = parseName(parseDer(Uint8Array.of(0x30, ...derLength(choice.bytes.length), 0x31, ...choice.bytes.subarray(1))));
    return { nameRelativeToCrlIssuer: rdn.rdns[0]! };
  }
  throw malformed('DistributionPointName: bad choice');
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

/** ReasonFlags BIT STRING as a mask with bit i = reason i (RFC 5280 §4.2.1.13). */
export function parseReasonFlags(node: DerNode): number {
  const { bytes } = readBitString(node);
  let mask = 0;
  for (let i = 0; i < 9; i++) if (bitSet(bytes, i)) mask |= 1 << i;
  return mask;
}

function parseCrlDistributionPoints(node: DerNode): DistributionPoint[] {
  return expectSequence(node, 1, maxListLength, 'cRLDistributionPoints').map((dpNode) => {
    const dp: DistributionPoint = {};
    let last = -1;
    for (const item of expectSequence(dpNode, 0, 3, 'DistributionPoint')) {
      if (item.cls !== 2 || item.tagNumber <= last || item.tagNumber > 2) throw malformed('DistributionPoint: bad element');
      last = item.tagNumber;
      if (item.tagNumber === 0) Object.assign(dp, parseDistributionPointName(item));
      else if (item.tagNumber === 1) dp.reasons = parseReasonFlags(implicitBitString(item));
      else dp.crlIssuer = parseGeneralNames(item);
    }
    return dp;
  });
}

/** Re-reads an IMPLICIT [n] BIT STRING so the DER BIT STRING rules apply to it. */
export function implicitBitString(node: DerNode): DerNode {
  if (node.constructed) throw malformed('BIT STRING must be primitive');
  return parseDer(Uint8Array.of(TAG.BIT_STRING, ...derLength(node.content.length), ...node.content));
}

function parseAuthorityInfoAccess(node: DerNode): { ocsp: string[]; caIssuers: string[] } {
  const result = { ocsp: [] as string[], caIssuers: [] as string[] };
  for (const description of expectSequence(node, 1, maxListLength, 'authorityInfoAccess')) {
    const [method, location] = expectSequence(description, 2, 2, 'AccessDescription') as [DerNode, DerNode];
    const oid = readOid(method);
    const name = parseGeneralName(location);
    if (name.type !== 'uri') continue;
    if (oid === OID.accessOcsp) result.ocsp.push(name.value);
    else if (oid === OID.accessCaIssuers) result.caIssuers.push(name.value);
  }
  return result;
}
