// Certificates from issueCertificate, read back by the `openssl` command line (independent
// of our own parser) and by node:crypto.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyPair, issueCertificate, type KeyKind, type KeyPair } from '../../../src/pki/issue/issue.ts';
import { encodeDn } from '../../../src/pki/issue/dn.ts';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2036-01-01T00:00:00Z');

let dir: string;
let fileCount = 0;
function opensslText(der: Uint8Array, ...args: string[]): string {
  const file = join(dir, `cert-${fileCount++}.der`);
  writeFileSync(file, der);
  return execFileSync('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-nameopt', 'RFC2253', ...args], {
    encoding: 'utf8',
  });
}
function pemFile(pem: string): string {
  const file = join(dir, `cert-${fileCount++}.pem`);
  writeFileSync(file, pem);
  return file;
}

describe('issueCertificate', () => {
  let rootKey: KeyPair;
  let root: Awaited<ReturnType<typeof issueCertificate>>;
  let caKey: KeyPair;
  let ca: Awaited<ReturnType<typeof issueCertificate>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yagona-issue-'));
    rootKey = await createKeyPair('ec-p384');
    root = await issueCertificate({
      subject: 'CN=Test Root CA,O=Yagona,C=UZ', publicKey: rootKey.publicKey, privateKey: rootKey.privateKey,
      notBefore, notAfter, ca: true,
    });
    caKey = await createKeyPair('ec-p256');
    ca = await issueCertificate({
      subject: 'CN=Test Citizen CA,O=Yagona,C=UZ', issuer: { certDer: root.der, privateKey: rootKey.privateKey },
      publicKey: caKey.publicKey, notBefore, notAfter, ca: true, pathLen: 0,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a self-signed root with CA constraints and both key identifiers', () => {
    const text = opensslText(root.der, '-text');
    assert.match(text, /Subject: CN=Test Root CA,O=Yagona,C=UZ/);
    assert.match(text, /Issuer: CN=Test Root CA,O=Yagona,C=UZ/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE\n/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const ski = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(text)?.[1];
    assert.ok(ski);
    assert.match(text, new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${ski}`));
    assert.ok(new X509Certificate(root.der).verify(rootKey.publicKey));
    assert.match(root.pem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
  });

  it('chains root → CA (pathLen 0) → citizen, as openssl verify sees it', async () => {
    const key = await createKeyPair('rsa-2048');
    const leaf = await issueCertificate({
      subject: 'CN=KARIMOVA DILNOZA RUSTAMOVNA,SN=KARIMOVA,GN=DILNOZA,PINFL=41503900270018,L=Toshkent,C=UZ',
      issuer: { certDer: ca.der, privateKey: caKey.privateKey }, publicKey: key.publicKey, notBefore, notAfter,
      keyUsage: ['digitalSignature', 'nonRepudiation'], extKeyUsage: ['clientAuth', 'emailProtection'],
    });
    assert.match(opensslText(ca.der, '-text'), /CA:TRUE, pathlen:0/);
    const text = opensslText(leaf.der, '-text');
    assert.match(text, /Subject: CN=KARIMOVA DILNOZA RUSTAMOVNA,SN=KARIMOVA,GN=DILNOZA,1\.2\.860\.3\.16\.1\.2=#0C0E3431353033393030323730303138,L=Toshkent,C=UZ/);
    assert.match(text, /Issuer: CN=Test Citizen CA,O=Yagona,C=UZ/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
    assert.match(text, /Extended Key Usage: \s+TLS Web Client Authentication, E-mail Protection\n/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    const caSki = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(opensslText(ca.der, '-text'))?.[1];
    assert.match(text, new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${caSki}`));
    const out = execFileSync('openssl', ['verify', '-CAfile', pemFile(root.pem), '-untrusted', pemFile(ca.pem), pemFile(leaf.pem)], {
      encoding: 'utf8',
    });
    assert.match(out, /: OK\n$/);
  });

  it('encodes RFC 4514 subjects: national OIDs, multi-valued RDNs, escapes, string types', async () => {
    const key = await createKeyPair('ec-p256');
    const subject = 'CN=RAHIMOV SARDOR,TIN=512037849+UID=512037849,O=Rahimov Savdo\\, YaTT,OU=Bo\'lim,emailAddress=s@example.uz,C=UZ';
    const cert = await issueCertificate({ subject, publicKey: key.publicKey, privateKey: key.privateKey, notBefore, notAfter });
    assert.equal(
      opensslText(cert.der, '-subject').trim(),
      "subject=CN=RAHIMOV SARDOR,UID=512037849+1.2.860.3.16.1.1=#0C09353132303337383439,O=Rahimov Savdo\\, YaTT,OU=Bo'lim,emailAddress=s@example.uz,C=UZ",
    );
    // C is a PrintableString and emailAddress an IA5String (RFC 5280 Appendix A); the rest UTF8String.
    const file = join(dir, 'name.der');
    writeFileSync(file, encodeDn(subject));
    const dump = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', file], { encoding: 'utf8' });
    assert.match(dump, /PRINTABLESTRING +:UZ\n/);
    assert.match(dump, /IA5STRING +:s@example\.uz\n/);
    assert.match(dump, /UTF8STRING +:RAHIMOV SARDOR\n/);
    assert.match(dump, /UTF8STRING +:512037849\n/);
  });

  it('writes the serial given, and random positive 16-octet serials otherwise', async () => {
    const key = await createKeyPair('ec-p256');
    const base = { subject: 'CN=serial', publicKey: key.publicKey, privateKey: key.privateKey, notBefore, notAfter };
    const given = await issueCertificate({ ...base, serialHex: 'C0FFEE' });
    assert.equal(given.serialHex, 'C0FFEE');
    assert.equal(opensslText(given.der, '-serial').trim(), 'serial=C0FFEE');
    const random = await issueCertificate(base);
    assert.match(random.serialHex, /^[4-7][0-9A-F]{31}$/);
    assert.equal(opensslText(random.der, '-serial').trim(), `serial=${random.serialHex}`);
  });

  it('adds CRL and OCSP locations, subjectAltName and extra extensions; leaves out what is asked', async () => {
    const key = await createKeyPair('ec-p256');
    const cert = await issueCertificate({
      subject: 'CN=odd', issuer: { certDer: ca.der, privateKey: caKey.privateKey }, publicKey: key.publicKey,
      notBefore, notAfter, crlUrl: 'http://pki.example.uz/ca.crl', ocspUrl: 'http://ocsp.example.uz',
      subjectAltName: [{ type: 'email', value: 'odd@example.uz' }],
      extraExtensions: [{ oid: '1.2.3.4.5', critical: true, valueDer: Uint8Array.of(0x05, 0x00) }],
      omitBasicConstraints: true, keyUsage: null, subjectKeyId: false, authorityKeyId: false,
    });
    const text = opensslText(cert.der, '-text');
    assert.match(text, /CRL Distribution Points: \s+Full Name:\s+URI:http:\/\/pki\.example\.uz\/ca\.crl/);
    assert.match(text, /OCSP - URI:http:\/\/ocsp\.example\.uz/);
    assert.match(text, /Subject Alternative Name: \s+email:odd@example\.uz/);
    assert.match(text, /1\.2\.3\.4\.5: critical/);
    for (const absent of ['Basic Constraints', 'Key Usage:', 'Key Identifier']) assert.doesNotMatch(text, new RegExp(absent));
  });

  it('makes version 1 certificates without extensions, and GeneralizedTime after 2049', async () => {
    const key = await createKeyPair('ec-p256');
    const cert = await issueCertificate({
      subject: 'CN=v1', publicKey: key.publicKey, privateKey: key.privateKey, notBefore, notAfter: new Date('2051-06-01T12:00:00Z'),
      version: 1, ca: true,
    });
    const text = opensslText(cert.der, '-text');
    assert.match(text, /Version: 1 \(0x0\)/);
    assert.doesNotMatch(text, /X509v3/);
    assert.match(text, /Not After : Jun {2}1 12:00:00 2051 GMT/);
  });

  it('signs with weak hashes on request, so validators can be shown refusing them', async () => {
    const rsa = await createKeyPair('rsa-2048');
    const ec = await createKeyPair('ec-p256');
    const base = { subject: 'CN=weak', publicKey: ec.publicKey, notBefore, notAfter };
    const cases = [
      [rsa, 'md5', 'md5WithRSAEncryption'],
      [rsa, 'sha1', 'sha1WithRSAEncryption'],
      [rsa, 'sha512', 'sha512WithRSAEncryption'],
      [ec, 'sha1', 'ecdsa-with-SHA1'],
    ] as const;
    for (const [signer, signatureHash, name] of cases) {
      const cert = await issueCertificate({ ...base, privateKey: signer.privateKey, signatureHash });
      assert.match(opensslText(cert.der, '-text'), new RegExp(`Signature Algorithm: ${name}`));
      assert.ok(new X509Certificate(cert.der).verify(signer.publicKey), `${name} verifies`);
    }
    await assert.rejects(issueCertificate({ ...base, privateKey: ec.privateKey, signatureHash: 'md5' }), TypeError);
  });

  it('creates every key kind and certifies it', async () => {
    const kinds: Array<[KeyKind, RegExp]> = [
      ['ec-p256', /prime256v1/], ['ec-p384', /secp384r1/], ['ec-p521', /secp521r1/], ['ec-secp256k1', /secp256k1/],
      ['rsa-1024', /1024 bit/], ['rsa-3072', /3072 bit/], ['ed25519', /ED25519/], ['ed448', /ED448/],
    ];
    for (const [kind, expected] of kinds) {
      const key = await createKeyPair(kind);
      const cert = await issueCertificate({ subject: `CN=${kind}`, publicKey: key.publicKey, privateKey: key.privateKey, notBefore, notAfter });
      assert.match(opensslText(cert.der, '-text'), expected, kind);
      assert.ok(new X509Certificate(cert.der).verify(key.publicKey), kind);
    }
  });

  it('refuses a self-signed request without the private key, and unknown name attributes', async () => {
    const key = await createKeyPair('ec-p256');
    await assert.rejects(issueCertificate({ subject: 'CN=x', publicKey: key.publicKey, notBefore, notAfter }), /privateKey/);
    await assert.rejects(
      issueCertificate({ subject: 'XYZ=x', publicKey: key.publicKey, privateKey: key.privateKey, notBefore, notAfter }),
      /unknown attribute type/,
    );
  });
});
