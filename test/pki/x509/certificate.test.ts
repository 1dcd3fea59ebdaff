// Certificate parsing: fields and extensions from real certificates, and every structural
// rejection (docs/security-cases.md §A 5–9 as they reach certificates).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import {
  parseCertificate, parseCertificateCached, parseCertificatesFromPemOrDer, serialBytesOf,
} from '../../../src/pki/x509/certificate.ts';
import { parseDer, type DerNode } from '../../../src/pki/asn1/der.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { ascii, hierarchy, issue, type Issued, tlv } from '../chainFixtures.ts';
import { assertCode, assertRejectsCode } from '../../helpers/assertions.ts';
import { pem } from '../../helpers/pem.ts';

const malformed = (fn: () => unknown, pattern?: RegExp): void => assertCode(fn, 'malformed_signature', pattern);

/** Rebuilds a certificate with its tbsCertificate fields (and optionally the outer algorithm) replaced. */
function rebuild(der: Uint8Array, editTbs: (fields: Uint8Array[]) => Uint8Array[], outerAlg?: Uint8Array): Uint8Array {
  const [tbs, alg, sig] = parseDer(der).children as [DerNode, DerNode, DerNode];
  const fields = editTbs(tbs.children.map((c) => c.bytes));
  return tlv(0x30, tlv(0x30, ...fields), outerAlg ?? alg.bytes, sig.bytes);
}

let root: Issued;
let ca: Issued;
let rich: Issued;

before(async () => {
  ({ root, ca } = await hierarchy('Parse'));
  rich = await issue({
    subject: 'CN=Rich Citizen,SN=Karimov,G=Aziz,C=UZ',
    issuer: ca,
    key: 'rsa2048',
    eku: [OID.clientAuth, OID.emailProtection],
    keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
    san: [{ type: 'email', value: 'aziz@example.uz' }, { type: 'dns', value: 'aziz.example.uz' }, { type: 'ip', value: '192.0.2.7' }],
    extensions: [
      new x509.CertificatePolicyExtension(['1.2.860.3.2.1']),
      new x509.CRLDistributionPointsExtension(['http://crl.example.uz/ca.crl']),
      new x509.AuthorityInfoAccessExtension({ ocsp: ['http://ocsp.example.uz'], caIssuers: ['http://example.uz/ca.crt'] }),
    ],
  });
});

describe('parseCertificate: fields', () => {
  it('reads the TBS fields of a v3 certificate', () => {
    const c = rich.cert;
    assert.equal(c.version, 3);
    assert.match(c.sha256, /^[0-9a-f]{64}$/);
    assert.match(c.serialHex, /^[0-9A-F]+$/);
    assert.deepEqual([...serialBytesOf(c)], [...Buffer.from(c.serialHex, 'hex')]);
    assert.equal(c.subject.text, 'C=UZ,2.5.4.42=Aziz,SN=Karimov,CN=Rich Citizen'.replace('2.5.4.42', 'GN'));
    assert.equal(c.issuer.canonical, ca.cert.subject.canonical);
    assert.deepEqual(c.publicKey, { kind: 'rsa', bits: 2048, exponent: 65537n });
    assert.equal(c.signatureAlgorithm.oid, OID.ecdsaWithSHA256);
    assert.ok(c.notBefore < c.notAfter);
    assert.deepEqual(parseDer(c.tbs).tag, 0x30);
  });

  it('decodes the extensions validation and identity use', () => {
    const c = rich.cert;
    assert.deepEqual([...c.keyUsage!].sort(), ['digitalSignature', 'nonRepudiation']);
    assert.deepEqual(c.extKeyUsage, [OID.clientAuth, OID.emailProtection]);
    assert.ok(c.subjectKeyId !== undefined && c.subjectKeyId.length > 0);
    assert.deepEqual(c.authorityKeyId?.keyId, ca.cert.subjectKeyId);
    assert.deepEqual(c.subjectAltName?.map((n) => n.type), ['email', 'dns', 'ip']);
    assert.deepEqual(c.certificatePolicies, [{ oid: '1.2.860.3.2.1' }]);
    assert.equal(c.crlDistributionPoints?.[0]?.fullName?.[0]?.type, 'uri');
    assert.deepEqual(c.authorityInfoAccess, { ocsp: ['http://ocsp.example.uz'], caIssuers: ['http://example.uz/ca.crt'] });
    assert.deepEqual(ca.cert.basicConstraints, { ca: true, pathLen: 0 });
    assert.equal(root.cert.publicKey.kind, 'ec');
  });

  it('reads an openssl-made certificate with name constraints and policy extensions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yagona-cert-'));
    writeFileSync(join(dir, 'openssl.cnf'), [
      '[req]', 'distinguished_name = dn', '[dn]', '[v3]',
      'basicConstraints=critical,CA:TRUE,pathlen:2',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'nameConstraints=critical,permitted;DNS:example.uz,permitted;email:.example.uz,excluded;IP:10.0.0.0/255.0.0.0',
      'certificatePolicies=1.2.860.3.2.1,2.5.29.32.0',
      'policyConstraints=critical,requireExplicitPolicy:1,inhibitPolicyMapping:0',
      'inhibitAnyPolicy=critical,2',
      'policyMappings=1.2.860.3.2.1:1.2.860.3.2.2',
    ].join('\n'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'k.pem')]);
    execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'k.pem'), '-subj', '/C=UZ/O=Yagona/CN=OpenSSL CA', '-days', '30',
      '-config', join(dir, 'openssl.cnf'), '-extensions', 'v3', '-outform', 'DER', '-out', join(dir, 'y.der')]);
    const c = parseCertificate(readFileSync(join(dir, 'y.der')));
    assert.deepEqual(c.basicConstraints, { ca: true, pathLen: 2 });
    assert.deepEqual(c.nameConstraints?.permitted?.map((s) => s.base), [{ type: 'dns', value: 'example.uz' }, { type: 'email', value: '.example.uz' }]);
    assert.equal(c.nameConstraints?.excluded?.[0]?.base.type, 'ip');
    assert.deepEqual(c.certificatePolicies?.map((p) => p.oid), ['1.2.860.3.2.1', OID.anyPolicy]);
    assert.deepEqual(c.policyConstraints, { requireExplicitPolicy: 1, inhibitPolicyMapping: 0 });
    assert.equal(c.inhibitAnyPolicy, 2);
    assert.deepEqual(c.policyMappings, [{ issuerDomainPolicy: '1.2.860.3.2.1', subjectDomainPolicy: '1.2.860.3.2.2' }]);
  });

  it('reads an authorityKeyIdentifier with issuer and a 20-octet serial', async () => {
    const serial = Uint8Array.of(0x7f, ...new Uint8Array(19).fill(0xab));
    const aki = new x509.Extension(OID.authorityKeyIdentifier, false,
      tlv(0x30, tlv(0x80, Uint8Array.of(1, 2, 3)), tlv(0xa1, tlv(0xa4, ca.cert.issuer.der)), tlv(0x82, serial)));
    const c = await issue({ subject: 'CN=Old Style AKI,C=UZ', extensions: [aki] });
    assert.equal(c.cert.authorityKeyId?.serialHex, Buffer.from(serial).toString('hex').toUpperCase());
    assert.equal(c.cert.authorityKeyId?.issuer?.[0]?.type, 'dn');
  });

  it('parseCertificateCached returns the same parse for the same bytes', () => {
    const a = parseCertificateCached(rich.der);
    assert.equal(parseCertificateCached(Uint8Array.from(rich.der)), a);
  });

  it('keeps its own copy of the input bytes', () => {
    const bytes = Uint8Array.from(rich.der);
    const c = parseCertificate(bytes);
    bytes.fill(0);
    assert.deepEqual(c.der, rich.der);
  });
});

describe('parseCertificate: rejections', () => {
  it('trailing bytes after the certificate (§A 6)', () => {
    malformed(() => parseCertificate(Uint8Array.from([...rich.der, 0])), /trailing/);
  });

  it('an indefinite-length (BER) certificate (§A 7)', () => {
    const [tbs, alg, sig] = parseDer(rich.der).children as [DerNode, DerNode, DerNode];
    const ber = Uint8Array.from([0x30, 0x80, ...tbs.bytes, ...alg.bytes, ...sig.bytes, 0, 0]);
    malformed(() => parseCertificate(ber), /indefinite/);
  });

  // issue() parses what it made, so these rejections surface from it.
  const rejectsIssue = (promise: Promise<unknown>, pattern: RegExp) => assertRejectsCode(promise, 'malformed_signature', pattern);

  it('duplicate extensions (RFC 5280 §4.2)', async () => {
    await rejectsIssue(issue({ subject: 'CN=Dup,C=UZ', issuer: ca, extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)] }), /appears twice/);
  });

  it('a v1 certificate carrying extensions', () => {
    malformed(() => parseCertificate(rebuild(rich.der, (f) => f.slice(1))), /not v3/);
  });

  it('an explicit v1 version field (DEFAULT must be omitted in DER)', () => {
    const v1 = tlv(0xa0, tlv(0x02, Uint8Array.of(0)));
    malformed(() => parseCertificate(rebuild(rich.der, (f) => [v1, ...f.slice(1)])), /explicit version v1/);
  });

  it('outer signatureAlgorithm different from the signed one (RFC 5280 §4.1.1.2)', () => {
    const sha384 = tlv(0x30, tlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03)));
    malformed(() => parseCertificate(rebuild(rich.der, (f) => f, sha384)), /differs/);
  });

  it('an explicitly encoded critical FALSE', async () => {
    const ext = tlv(0x30, tlv(0x06, Uint8Array.of(0x55, 0x1d, 0x0e)), tlv(0x01, Uint8Array.of(0)), tlv(0x04, tlv(0x04, Uint8Array.of(1, 2, 3))));
    const replaced = rebuild(rich.der, (f) => f.map((field) => (field[0] === 0xa3 ? tlv(0xa3, tlv(0x30, ext)) : field)));
    malformed(() => parseCertificate(replaced), /critical FALSE/);
  });

  it('an EKU OID arc past 2^53 that 64-bit truncation would read as clientAuth (§A 5)', () => {
    // 1.3.6.1.5.5.7.3.(2^64 + 2)
    const evilOid = tlv(0x06, Uint8Array.of(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02));
    const eku = tlv(0x30, tlv(0x06, Uint8Array.of(0x55, 0x1d, 0x25)), tlv(0x04, tlv(0x30, evilOid)));
    const replaced = rebuild(rich.der, (f) => f.map((field) => (field[0] === 0xa3 ? tlv(0xa3, tlv(0x30, eku)) : field)));
    malformed(() => parseCertificate(replaced), /too large/);
  });

  it('a serial number longer than 20 octets', () => {
    const long = tlv(0x02, Uint8Array.of(0x01, ...new Uint8Array(21)));
    malformed(() => parseCertificate(rebuild(rich.der, (f) => [f[0]!, long, ...f.slice(2)])), /20 octets/);
  });

  it('an extra element inside AlgorithmIdentifier (§A 9)', () => {
    const alg = tlv(0x30, tlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)), tlv(0x05, new Uint8Array(0)), tlv(0x05, new Uint8Array(0)));
    malformed(() => parseCertificate(rebuild(rich.der, (f) => [f[0]!, f[1]!, alg, ...f.slice(3)], alg)));
  });

  it('a non-ASCII byte in an IA5String SAN', async () => {
    const san = new x509.Extension(OID.subjectAltName, false, tlv(0x30, tlv(0x82, Uint8Array.of(0x61, 0xff))));
    await rejectsIssue(issue({ subject: 'CN=Bad SAN,C=UZ', issuer: ca, extensions: [san] }), /IA5String/);
  });

  it('certificates larger than 16 KiB', () => {
    malformed(() => parseCertificate(new Uint8Array(17 * 1024)), /too large/);
  });
});

describe('parseCertificatesFromPemOrDer', () => {
  it('reads DER, a PEM bundle, and skips other PEM blocks', () => {
    assert.equal(parseCertificatesFromPemOrDer(root.der).length, 1);
    const bundle = `# anchors\n${pem(root.der)}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n${pem(ca.der)}`;
    const found = parseCertificatesFromPemOrDer(Buffer.from(bundle));
    assert.deepEqual(found.map((d) => parseCertificate(d).sha256), [root.cert.sha256, ca.cert.sha256]);
  });

  it('rejects files without certificates, bad base64 and DER with trailing bytes', () => {
    malformed(() => parseCertificatesFromPemOrDer(ascii('hello')), /no certificate/);
    malformed(() => parseCertificatesFromPemOrDer(ascii('-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----')), /base64/);
    malformed(() => parseCertificatesFromPemOrDer(Uint8Array.from([...root.der, 0])), /trailing/);
  });
});
