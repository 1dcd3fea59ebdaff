// Chains and CMS made by an independent tool: OpenSSL's gost engine hashes and signs, while the
// structures are built with the project's DER writer around the O'zDSt or GOST R 34.10-2012
// OIDs (test/data/vectors/ozdst/README.md "Independent tools"): root → CA → citizen, each
// certificate's TBS hashed with `openssl dgst -engine gost` and signed with `openssl pkeyutl
// -engine gost -sign`. For GOST 2012 the SubjectPublicKeyInfo is the engine's own.
import { execFileSync } from 'node:child_process';
import { cryptoProA, type GostCurve, tc26Gost256A, tc26Gost512A, tc26Gost512B, tc26Gost512C } from '../../src/pki/algorithms/gost/curves.ts';
import { algorithmIdentifier, integer, nullValue, octetString, oid, sequence, tlv } from '../../src/pki/asn1/derWrite.ts';
import type { OcspRequest } from '../../src/pki/ocsp/ocsp.ts';
import { encodeTime, issueCertificate } from '../../src/pki/issue/issue.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { gost2012Profile, type GostProfile, gostSigner, ozdstProfile } from '../../src/pki/issue/gostSigner.ts';
import type { ExternalSigner } from '../../src/pki/issue/signer.ts';
import type { EngineDigest, EngineKeyKind, GostEngine } from '../pki/algorithms/gost/gostEngine.ts';

export interface GostCase {
  label: string;
  family: 'ozdst' | 'gost2012';
  kind: EngineKeyKind;
  /** The engine's -pkeyopt paramset. */
  paramset: string;
  profile: GostProfile;
  digest: EngineDigest;
}

export const gostCases: readonly GostCase[] = [
  { label: "O'zDSt 1092 parameter set A", family: 'ozdst', kind: 'gost2001', paramset: 'A', profile: ozdstProfile('A'), digest: 'md_gost94' },
  { label: "O'zDSt 1092 parameter set C", family: 'ozdst', kind: 'gost2001', paramset: 'C', profile: ozdstProfile('C'), digest: 'md_gost94' },
  ...([['A', cryptoProA], ['TCA', tc26Gost256A]] as Array<[string, GostCurve]>).map(([paramset, curve]): GostCase => ({
    label: `GOST R 34.10-2012 256 ${curve.name}`, family: 'gost2012', kind: 'gost2012_256', paramset, profile: gost2012Profile(curve), digest: 'md_gost12_256',
  })),
  ...([['A', tc26Gost512A], ['B', tc26Gost512B], ['C', tc26Gost512C]] as Array<[string, GostCurve]>).map(([paramset, curve]): GostCase => ({
    label: `GOST R 34.10-2012 512 ${curve.name}`, family: 'gost2012', kind: 'gost2012_512', paramset, profile: gost2012Profile(curve), digest: 'md_gost12_512',
  })),
];

/** A key the engine generated, signing through the engine. */
export function engineSigner(engine: GostEngine, c: GostCase): ExternalSigner {
  const key = engine.generateKey(c.kind, c.paramset);
  const signer = gostSigner(c.profile, key.rawPublicKey, (digest) => engine.sign(key, digest));
  const spki = c.family === 'ozdst'
    ? signer.spki
    : new Uint8Array(execFileSync('openssl', ['pkey', '-engine', 'gost', '-pubin', '-in', key.publicKeyPath, '-outform', 'DER'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const digest = (data: Uint8Array) => engine.digest(c.digest, data);
  return { ...signer, spki, digest, sign: (data) => engine.sign(key, digest(data)) };
}

export interface GostChain {
  root: { der: Uint8Array; signer: ExternalSigner };
  ca: { der: Uint8Array; signer: ExternalSigner };
  citizen: { certDer: Uint8Array; privateKey: ExternalSigner; chain: Uint8Array[] };
  anchors: Uint8Array[];
  intermediates: Uint8Array[];
}

const day = 86_400_000;

/** Root → citizen CA → citizen, every key and signature the engine's; the citizen named by `pinfl`. */
export async function engineChain(engine: GostEngine, c: GostCase, pinfl: string, now = new Date()): Promise<GostChain> {
  const rootSigner = engineSigner(engine, c);
  const root = await issueCertificate({
    subject: `CN=${c.family} Test Root,O=Yagona Test,C=UZ`, publicKey: rootSigner.spki, privateKey: rootSigner, ca: true,
    notBefore: new Date(now.getTime() - 10 * day), notAfter: new Date(now.getTime() + 3650 * day),
  });
  const caSigner = engineSigner(engine, c);
  const ca = await issueCertificate({
    subject: `CN=${c.family} Test Citizen CA,O=Yagona Test,C=UZ`, issuer: { certDer: root.der, privateKey: rootSigner }, publicKey: caSigner.spki,
    ca: true, pathLen: 0, notBefore: new Date(now.getTime() - 10 * day), notAfter: new Date(now.getTime() + 1825 * day),
  });
  const citizenSigner = engineSigner(engine, c);
  const citizen = await issueCertificate({
    subject: `CN=ALIYEV VALI,SN=ALIYEV,2.5.4.41=VALI,1.2.860.3.16.1.2=${pinfl},C=UZ`,
    issuer: { certDer: ca.der, privateKey: caSigner }, publicKey: citizenSigner.spki,
    notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 365 * day),
    keyUsage: ['digitalSignature', 'nonRepudiation'], extKeyUsage: ['clientAuth', 'emailProtection'],
  });
  return {
    root: { der: root.der, signer: rootSigner },
    ca: { der: ca.der, signer: caSigner },
    citizen: { certDer: citizen.der, privateKey: citizenSigner, chain: [ca.der, root.der] },
    anchors: [root.der],
    intermediates: [ca.der],
  };
}

/**
 * A CRL (RFC 5280 §5.1, v2 with the cRLNumber §5.2.3 requires) by the CA `caDer` whose key
 * `signer` signs it — through the engine for engine keys — listing `revokedSerialsHex`, valid a
 * day around `now`.
 */
export function signedCrl(caDer: Uint8Array, signer: ExternalSigner, revokedSerialsHex: string[], now = new Date()): Uint8Array {
  const entries = revokedSerialsHex.map((serialHex) => sequence(integer(BigInt(`0x${serialHex}`)), encodeTime(new Date(now.getTime() - day))));
  const crlNumber = sequence(oid('2.5.29.20'), octetString(integer(1)));
  const tbs = sequence(
    integer(1), signer.signatureAlgorithm, parseCertificate(caDer).subject.der,
    encodeTime(new Date(now.getTime() - day)), encodeTime(new Date(now.getTime() + day)),
    ...(entries.length === 0 ? [] : [sequence(...entries)]),
    tlv(0xa0, sequence(crlNumber)),
  );
  return sequence(tbs, signer.signatureAlgorithm, tlv(0x03, Uint8Array.of(0), signer.sign(tbs)));
}

const generalizedTime = (at: Date) => tlv(0x18, new TextEncoder().encode(`${at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '')}`));

/**
 * An OCSPResponse (RFC 6960 §4.2.1) answering `request` "good", signed by the CA `caDer` itself
 * with `signer` (responderID byName), echoing the request's nonce (RFC 8954).
 */
export function signedOcspGood(caDer: Uint8Array, signer: ExternalSigner, request: OcspRequest, now = new Date()): Uint8Array {
  const { certId } = request;
  const single = sequence(
    sequence(algorithmIdentifier(certId.hashAlgorithm, nullValue()), octetString(certId.issuerNameHash), octetString(certId.issuerKeyHash), tlv(0x02, certId.serial)),
    Uint8Array.of(0x80, 0x00), generalizedTime(now), tlv(0xa0, generalizedTime(new Date(now.getTime() + day))),
  );
  const tbs = sequence(
    tlv(0xa1, parseCertificate(caDer).subject.der), generalizedTime(now), sequence(single),
    tlv(0xa1, sequence(sequence(oid('1.3.6.1.5.5.7.48.1.2'), octetString(request.nonce)))),
  );
  const basic = sequence(tbs, signer.signatureAlgorithm, tlv(0x03, Uint8Array.of(0), signer.sign(tbs)));
  return sequence(tlv(0x0a, Uint8Array.of(0)), tlv(0xa0, sequence(oid('1.3.6.1.5.5.7.48.1.1'), octetString(basic))));
}
