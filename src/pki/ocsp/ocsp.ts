// OCSP (RFC 6960) requests and strict response verification, with plain data in and out.
// pkijs's BasicOCSPResponse.verify checks neither responder authorisation (§4.2.2.2), nor
// thisUpdate/nextUpdate, nor the nonce (docs/security-cases.md §0 item 1), so nothing here uses it: the
// response is read with the strict DER reader and every rule is checked below. Anything short
// of a fully verified answer throws revocation_unknown; the caller applies the fail mode.
import { createHash } from 'node:crypto';
import { ServiceError } from '../../errors.ts';
import type { AlgorithmIdentifier, ParsedCertificate } from '../x509/model.ts';
import { parseAlgorithmIdentifier, parseCertificate, parseExtension, serialBytesOf } from '../x509/certificate.ts';
import {
  type DerNode, bytesEqual, childAt, expectChildren, expectSequence, expectTag, parseDer, readBitStringBytes,
  readInteger, readOctetString, readOid, readSmallInteger, readTime, TAG,
} from '../asn1/der.ts';
import { algorithmIdentifier, contextConstructed, nullValue, octetString, oid, sequence, tlv } from '../asn1/derWrite.ts';
import { certificateExtensionDecoders } from '../x509/extensions.ts';
import { parseName } from '../x509/name.ts';
import { OID } from '../asn1/oids.ts';
import type { SignatureAlgorithms } from '../algorithms/registry.ts';
import { defaultSignatureAlgorithms } from '../algorithms/families/index.ts';

const ocspOid = {
  basic: '1.3.6.1.5.5.7.48.1.1',
  nonce: '1.3.6.1.5.5.7.48.1.2',
  // id-pkix-ocsp-nocheck (§4.2.2.2.1): a delegate the CA vouches for without revocation checks.
  noCheck: '1.3.6.1.5.5.7.48.1.5',
} as const;

/** RFC 6960 §4.1.1 CertID: what the responder must echo back for our certificate. */
export interface CertId {
  hashAlgorithm: string;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  serial: Uint8Array;
}

export interface OcspRequest {
  der: Uint8Array;
  certId: CertId;
  /** The nonce extension's extnValue as sent; the response must carry the same (RFC 8954). */
  nonce: Uint8Array;
}

export type OcspStatus =
  | { status: 'good'; thisUpdate: Date; nextUpdate?: Date }
  | { status: 'revoked'; thisUpdate: Date; nextUpdate?: Date; revocationTime: Date; reason?: number }
  | { status: 'unknown'; thisUpdate: Date; nextUpdate?: Date };

/**
 * OCSPRequest for `cert` issued by `issuer`. The CertID hashes are SHA-1: an identifier every
 * responder matches (RFC 5019 §2.1.1 requires it), not a signature. `nonce` is 32 random bytes
 * (RFC 8954 §2.1: 1 to 32 octets).
 */
export function buildOcspRequest(cert: ParsedCertificate, issuer: ParsedCertificate, nonceBytes: Uint8Array): OcspRequest {
  if (nonceBytes.length < 1 || nonceBytes.length > 32) throw new TypeError('an OCSP nonce has 1 to 32 octets (RFC 8954)');
  const certId: CertId = {
    hashAlgorithm: OID.sha1,
    issuerNameHash: sha1(cert.issuer.der),
    issuerKeyHash: sha1(subjectPublicKeyBits(issuer)),
    serial: serialBytesOf(cert),
  };
  const nonce = octetString(nonceBytes);
  const request = sequence(encodeCertId(certId));
  // requestExtensions [2] EXPLICIT Extensions; the nonce is not critical (RFC 8954 §2.1).
  const extensions = contextConstructed(2, sequence(sequence(oid(ocspOid.nonce), octetString(nonce))));
  const der = sequence(sequence(sequence(request), extensions));
  return { der, certId, nonce };
}

export interface VerifyOcspInput {
  der: Uint8Array;
  request: OcspRequest;
  /** The CA that issued the certificate asked about: the responder is it or its delegate. */
  issuer: ParsedCertificate;
  at: Date;
  /** How far thisUpdate may lie ahead of `at` (clock skew). */
  maxFutureSeconds: number;
  /** How old thisUpdate may be: with a nonce the answer is made for us, so it must be fresh. */
  maxAgeSeconds: number;
  /** The accepted signature families (SIGNATURE_ALGORITHMS); default: their default. */
  algorithms?: SignatureAlgorithms;
}

/** Verifies an OCSPResponse for one request; returns the status or throws revocation_unknown saying why. */
export function verifyOcspResponse(input: VerifyOcspInput): OcspStatus {
  try {
    return verify(input);
  } catch (err) {
    if (err instanceof ServiceError && err.code !== 'revocation_unknown') throw unusable(`${err.message}`, err);
    throw err;
  }
}

function verify(input: VerifyOcspInput): OcspStatus {
  const algorithms = input.algorithms ?? defaultSignatureAlgorithms;
  const basic = readBasicResponse(input.der);
  const signer = authorisedSigner(basic, input.issuer, input.at, algorithms);
  // §4.2.2.1 / §3.2(2): the signature covers the DER of tbsResponseData.
  if (!algorithms.check(basic.signatureAlgorithm, signer.spki, basic.tbs, basic.signature)) {
    throw unusable('the OCSP response signature does not verify');
  }
  const data = readResponseData(basic.tbs);
  if (!responderIdMatches(data.responderId, signer)) throw unusable('the OCSP responderID does not name the key that signed the response');
  assertNonce(data.extensions, input.request.nonce);
  // Exactly one answer, for exactly our certificate (docs/security-cases.md §D 58).
  if (data.responses.length !== 1) throw unusable(`the OCSP response holds ${data.responses.length} answers, expected exactly 1`);
  const single = readSingleResponse(data.responses[0]!);
  if (!certIdEqual(single.certId, input.request.certId)) throw unusable('the OCSP answer is about another certificate (CertID differs)');
  assertFresh(single.status, input);
  return single.status;
}

interface BasicResponse {
  tbs: Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  certs: ParsedCertificate[];
  responderId: DerNode;
}

// OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
function readBasicResponse(der: Uint8Array): BasicResponse {
  const top = expectSequence(parseDer(der), 1, 2, 'OCSPResponse');
  const status = Number(readInteger(expectTag(top[0]!, TAG.ENUMERATED, 'responseStatus')));
  // §4.2.1: 1 malformedRequest, 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized.
  if (status !== 0) throw unusable(`the OCSP responder answered status ${responseStatusNames[status] ?? status}`);
  const bytes = expectSequence(childAt(expectTag(top[1] ?? missing('responseBytes'), 0xa0, 'responseBytes'), 0, 'responseBytes'), 2, 2, 'ResponseBytes');
  if (readOid(bytes[0]!) !== ocspOid.basic) throw unusable('the OCSP response is not id-pkix-ocsp-basic');
  const basic = expectSequence(parseDer(readOctetString(bytes[1]!)), 3, 4, 'BasicOCSPResponse');
  const certs: ParsedCertificate[] = [];
  if (basic[3] !== undefined) {
    const list = expectChildren(expectTag(basic[3], 0xa0, 'certs'), 1, 1, 'certs');
    // A responder sends its own certificate and perhaps its chain; more is not an answer.
    for (const node of expectSequence(list[0]!, 0, 4, 'certs')) certs.push(parseCertificate(node.bytes));
  }
  const tbsNode = expectTag(basic[0]!, TAG.SEQUENCE, 'tbsResponseData');
  return {
    tbs: tbsNode.bytes,
    signatureAlgorithm: parseAlgorithmIdentifier(basic[1]!, 'BasicOCSPResponse signatureAlgorithm'),
    signature: readBitStringBytes(basic[2]!, 'BasicOCSPResponse signature'),
    certs,
    responderId: responderIdOf(tbsNode),
  };
}

const responseStatusNames: Record<number, string> = { 1: 'malformedRequest', 2: 'internalError', 3: 'tryLater', 5: 'sigRequired', 6: 'unauthorized' };

function responderIdOf(tbs: DerNode): DerNode {
  return childAt(tbs, 0, 'ResponseData responderID');
}

/**
 * §4.2.2.2: the response must be signed by the CA that issued the certificate, or by a
 * delegate certificate that this CA issued for the purpose (EKU id-kp-OCSPSigning), valid at
 * `at`. Another certificate under the same root, a TLS server certificate, a citizen's
 * certificate or a delegate of another CA is not authorised (docs/security-cases.md §D 57, 63).
 */
function authorisedSigner(basic: BasicResponse, issuer: ParsedCertificate, at: Date, algorithms: SignatureAlgorithms): ParsedCertificate {
  if (responderIdMatches(basic.responderId, issuer)) return issuer;
  const named = basic.certs.filter((c) => responderIdMatches(basic.responderId, c));
  if (named.length === 0) throw unusable('the OCSP response is signed by a responder that is neither the issuing CA nor a certificate it carries');
  const problems: string[] = [];
  for (const delegate of named) {
    const problem = delegateProblem(delegate, issuer, at, algorithms);
    if (problem === undefined) return delegate;
    problems.push(problem);
  }
  throw unusable(`the OCSP responder is not authorised by the issuing CA: ${problems.join('; ')}`);
}

function delegateProblem(delegate: ParsedCertificate, issuer: ParsedCertificate, at: Date, algorithms: SignatureAlgorithms): string | undefined {
  if (delegate.issuer.canonical !== issuer.subject.canonical) return `its certificate "${delegate.subject.text}" was issued by "${delegate.issuer.text}", not by the CA`;
  let signed: boolean;
  try {
    algorithms.publicKey(delegate.spki);
    signed = algorithms.check(delegate.signatureAlgorithm, issuer.spki, delegate.tbs, delegate.signature, `${issuer.sha256}:${delegate.sha256}`);
  } catch (err) {
    if (err instanceof ServiceError) return `its certificate: ${err.message}`;
    throw err;
  }
  if (!signed) return `its certificate "${delegate.subject.text}" is not signed by the CA's key`;
  if (!(delegate.extKeyUsage ?? []).includes(OID.ocspSigning)) return `its certificate "${delegate.subject.text}" lacks extendedKeyUsage id-kp-OCSPSigning`;
  if (delegate.basicConstraints?.ca === true) return 'its certificate is a CA certificate';
  if (delegate.keyUsage !== undefined && !delegate.keyUsage.has('digitalSignature') && !delegate.keyUsage.has('nonRepudiation')) {
    return 'its certificate keyUsage does not allow signatures';
  }
  const t = Math.floor(at.getTime() / 1000) * 1000;
  if (t < delegate.notBefore.getTime() || t > delegate.notAfter.getTime()) return `its certificate is not valid at ${at.toISOString()}`;
  const unknown = delegate.extensions.find((e) => e.critical && !certificateExtensionDecoders.has(e.oid) && e.oid !== ocspOid.noCheck);
  if (unknown !== undefined) return `its certificate has an unknown critical extension ${unknown.oid}`;
  return undefined;
}

// ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash } (§4.2.1): KeyHash is the
// SHA-1 of the subjectPublicKey BIT STRING value.
function responderIdMatches(id: DerNode, cert: ParsedCertificate): boolean {
  // Names compare as RFC 5280 §7.1 says; the signature check below is what binds the key.
  if (id.tag === 0xa1) return parseName(childAt(id, 0, 'responderID byName', TAG.SEQUENCE)).canonical === cert.subject.canonical;
  if (id.tag === 0xa2) return bytesEqual(readOctetString(childAt(id, 0, 'responderID byKey')), sha1(subjectPublicKeyBits(cert)));
  throw unusable('the OCSP responderID is neither byName nor byKey');
}

interface ResponseData {
  responderId: DerNode;
  responses: DerNode[];
  extensions: Map<string, { critical: boolean; value: Uint8Array }>;
}

// ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, responderID, producedAt, responses, responseExtensions [1] EXPLICIT OPTIONAL }
function readResponseData(tbs: Uint8Array): ResponseData {
  const items = expectSequence(parseDer(tbs), 3, 5, 'ResponseData');
  // v1 is the DEFAULT and so absent in DER; any explicit version is one we do not know.
  if (items[0]!.tag === 0xa0) throw unusable('ResponseData carries an explicit version');
  let i = 0;
  const responderId = items[i++]!;
  readTime(expectTag(items[i++] ?? missing('producedAt'), TAG.GeneralizedTime, 'producedAt'));
  const responses = expectSequence(items[i++] ?? missing('responses'), 0, 16, 'responses');
  const extensions = items[i] === undefined ? new Map() : readExtensions(expectTag(items[i++]!, 0xa1, 'responseExtensions'), 'responseExtensions');
  if (i !== items.length) throw unusable('ResponseData: unexpected element');
  return { responderId, responses, extensions };
}

function readExtensions(explicit: DerNode, what: string): Map<string, { critical: boolean; value: Uint8Array }> {
  const found = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const node of expectSequence(childAt(explicit, 0, what), 1, 16, what)) {
    const ext = parseExtension(node);
    if (found.has(ext.oid)) throw unusable(`${what}: ${ext.oid} appears twice`);
    found.set(ext.oid, ext);
  }
  expectChildren(explicit, 1, 1, what);
  return found;
}

// RFC 8954 §2.1 / docs/security-cases.md §D 60: a nonce was sent, so the same nonce must come back;
// without it the answer could be a replay captured before a revocation.
function assertNonce(extensions: Map<string, { critical: boolean; value: Uint8Array }>, sent: Uint8Array): void {
  const nonce = extensions.get(ocspOid.nonce);
  if (nonce === undefined) throw unusable('the OCSP response carries no nonce');
  if (!bytesEqual(nonce.value, sent)) throw unusable('the OCSP response nonce differs from the one sent');
  for (const [extOid, ext] of extensions) {
    if (ext.critical && extOid !== ocspOid.nonce) throw unusable(`the OCSP response has an unknown critical extension ${extOid}`);
  }
}

// SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT OPTIONAL, singleExtensions [1] EXPLICIT OPTIONAL }
function readSingleResponse(node: DerNode): { certId: CertId; status: OcspStatus } {
  const items = expectSequence(node, 3, 5, 'SingleResponse');
  const certId = readCertId(items[0]!);
  const statusNode = items[1]!;
  const thisUpdate = readTime(expectTag(items[2]!, TAG.GeneralizedTime, 'thisUpdate'));
  let i = 3;
  let nextUpdate: Date | undefined;
  if (items[i]?.tag === 0xa0) {
    nextUpdate = readTime(expectTag(childAt(items[i]!, 0, 'nextUpdate'), TAG.GeneralizedTime, 'nextUpdate'));
    expectChildren(items[i]!, 1, 1, 'nextUpdate');
    i++;
  }
  if (items[i]?.tag === 0xa1) {
    // CRL references and the like; none changes the status, but a critical unknown one must not be ignored.
    for (const [extOid, ext] of readExtensions(items[i]!, 'singleExtensions')) {
      if (ext.critical) throw unusable(`the OCSP answer has an unknown critical extension ${extOid}`);
    }
    i++;
  }
  if (i !== items.length) throw unusable('SingleResponse: unexpected element');
  const times = { thisUpdate, ...(nextUpdate === undefined ? {} : { nextUpdate }) };
  // CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
  if (statusNode.tag === 0x80 && statusNode.content.length === 0) return { certId, status: { status: 'good', ...times } };
  if (statusNode.tag === 0x82 && statusNode.content.length === 0) return { certId, status: { status: 'unknown', ...times } };
  if (statusNode.tag === 0xa1) {
    const info = expectChildren(statusNode, 1, 2, 'RevokedInfo');
    const revocationTime = readTime(expectTag(info[0]!, TAG.GeneralizedTime, 'revocationTime'));
    let reason: number | undefined;
    if (info[1] !== undefined) {
      const reasonNode = childAt(expectTag(info[1], 0xa0, 'revocationReason'), 0, 'revocationReason', TAG.ENUMERATED);
      reason = readSmallInteger(reasonNode, 10, 'revocationReason');
    }
    return { certId, status: { status: 'revoked', ...times, revocationTime, ...(reason === undefined ? {} : { reason }) } };
  }
  throw unusable('the OCSP certStatus is none of good, revoked, unknown');
}

/**
 * §4.2.2.1 and §3.2(4)–(5): thisUpdate must be recent (not ahead by more than the skew, not
 * older than the maximum age), nextUpdate, when set, not past and not before thisUpdate
 * (docs/security-cases.md §D 59, 61; Web eID's OcspResponseValidator).
 */
function assertFresh(status: OcspStatus, input: VerifyOcspInput): void {
  const at = input.at.getTime();
  const thisUpdate = status.thisUpdate.getTime();
  if (thisUpdate > at + input.maxFutureSeconds * 1000) throw unusable(`the OCSP answer's thisUpdate ${status.thisUpdate.toISOString()} lies in the future`);
  if (thisUpdate < at - input.maxAgeSeconds * 1000) throw unusable(`the OCSP answer is stale (thisUpdate ${status.thisUpdate.toISOString()})`);
  if (status.nextUpdate !== undefined) {
    if (status.nextUpdate.getTime() < thisUpdate) throw unusable('the OCSP answer\'s nextUpdate precedes its thisUpdate');
    if (status.nextUpdate.getTime() < at) throw unusable(`the OCSP answer expired (nextUpdate ${status.nextUpdate.toISOString()})`);
  }
}

function encodeCertId(id: CertId): Uint8Array {
  return sequence(algorithmIdentifier(id.hashAlgorithm, nullValue()), octetString(id.issuerNameHash), octetString(id.issuerKeyHash), tlv(TAG.INTEGER, id.serial));
}


function readCertId(node: DerNode): CertId {
  const items = expectSequence(node, 4, 4, 'CertID');
  return {
    hashAlgorithm: parseAlgorithmIdentifier(items[0]!, 'CertID hashAlgorithm').oid,
    issuerNameHash: readOctetString(items[1]!),
    issuerKeyHash: readOctetString(items[2]!),
    serial: expectTag(items[3]!, TAG.INTEGER, 'CertID serialNumber').content,
  };
}

// The parameters (NULL or absent) do not change which hash is meant; everything else must match.
function certIdEqual(a: CertId, b: CertId): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && bytesEqual(a.issuerNameHash, b.issuerNameHash)
    && bytesEqual(a.issuerKeyHash, b.issuerKeyHash) && bytesEqual(a.serial, b.serial);
}

/** The subjectPublicKey BIT STRING value (without the unused-bits octet) of a certificate. */
function subjectPublicKeyBits(cert: ParsedCertificate): Uint8Array {
  return readBitStringBytes(childAt(parseDer(cert.spki), 1, 'subjectPublicKey', TAG.BIT_STRING), 'subjectPublicKey');
}

function sha1(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(bytes).digest());
}

function missing(what: string): never {
  throw unusable(`the OCSP response lacks ${what}`);
}

function unusable(reason: string, cause?: unknown): ServiceError {
  return new ServiceError('revocation_unknown', `OCSP: ${reason}`, { cause });
}
