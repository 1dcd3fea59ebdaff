// The development PKI: what `npm start` makes on first start, and leaves alone afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevPki, type DevPki } from '../src/devPki.ts';
import { readPkcs12 } from '../src/pki/pkcs12/pkcs12.ts';
import { openPkcs12 } from '../src/pki/pkcs12/open.ts';
import { gostPrivateKeyInfo } from '../src/pki/issue/gostSigner.ts';
import { signCms } from '../src/pki/issue/cmsSign.ts';
import { openCms } from '../src/pki/signin/cms.ts';
import { validate } from '../src/pki/path/validate.ts';
import { parseCertificate, parseCertificatesFromPemOrDer } from '../src/pki/x509/certificate.ts';
import { defaultSignatureAlgorithms } from '../src/pki/algorithms/families/index.ts';
import { readIdentity } from '../src/login/identity.ts';
import { loadConfig, withTrustPolicy } from '../src/config.ts';

const issuerUrl = 'http://localhost:8080';
const pemCertificate = (file: string) => parseCertificate(parseCertificatesFromPemOrDer(readFileSync(file))[0]!);
const now = new Date('2026-11-27T08:00:00Z');

function snapshot(pki: DevPki): Record<string, string> {
  const files = [pki.rootCaFile, pki.citizenCaFile, pki.rootCaKeyFile, pki.citizenCaKeyFile, ...pki.citizens.map((c) => c.file)];
  return Object.fromEntries(files.map((file) => [file, readFileSync(file).toString('base64')]));
}

describe('createDevPki', () => {
  let root: string;
  let dir: string;
  let first: DevPki;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'yagona-devpki-'));
    dir = join(root, 'certs', 'dev');
    first = await createDevPki(dir, { issuerUrl, now });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates root CA, citizen CA and three node:crypto citizens whose key files open with the returned passwords', async () => {
    assert.equal(first.created, true);
    if (!first.created) return;
    assert.equal(first.rootCaFile, join(dir, 'trust', 'root-ca.pem'));
    assert.equal(first.citizenCaFile, join(dir, 'intermediates', 'citizen-ca.pem'));
    const rootCa = new X509Certificate(readFileSync(first.rootCaFile));
    const citizenCa = new X509Certificate(readFileSync(first.citizenCaFile));
    assert.equal(rootCa.subject, 'C=UZ\nO=Yagona ID (development)\nCN=Yagona Dev Root CA');
    assert.equal(rootCa.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    assert.equal(new Date(rootCa.validTo).getUTCFullYear(), 2036);
    assert.ok(citizenCa.checkIssued(rootCa) && citizenCa.verify(rootCa.publicKey));
    const caText = execFileSync('openssl', ['x509', '-in', first.citizenCaFile, '-noout', '-text'], { encoding: 'utf8' });
    assert.match(caText, /CA:TRUE, pathlen:0/);
    assert.match(caText, /Key Usage: critical\s+Certificate Sign, CRL Sign/);

    assert.equal(first.citizens.length, 4);
    const keyTypes = new Set<string>();
    for (const citizen of first.citizens.filter((c) => c.keyType !== 'ozdst-a')) {
      assert.match(citizen.password, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
      const opened = await readPkcs12(readFileSync(citizen.file), citizen.password);
      const leaf = new X509Certificate(opened.certificate);
      assert.equal(new X509Certificate(readFileSync(citizen.certFile)).fingerprint256, leaf.fingerprint256);
      assert.ok(leaf.checkIssued(citizenCa) && leaf.verify(citizenCa.publicKey), citizen.name);
      assert.equal(opened.chain.length, 2);
      assert.ok(opened.privateKey instanceof KeyObject && leaf.checkPrivateKey(opened.privateKey));
      assert.match(citizen.subject, /PINFL=\d{14}/);
      assert.equal(new Date(leaf.validTo).getUTCFullYear(), 2028);
      const text = execFileSync('openssl', ['x509', '-in', citizen.certFile, '-noout', '-text'], { encoding: 'utf8' });
      assert.match(text, /1\.2\.860\.3\.16\.1\.2 = \d{14}/);
      assert.match(text, /Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
      assert.match(text, /Extended Key Usage: \s+TLS Web Client Authentication, E-mail Protection/);
      keyTypes.add(citizen.keyType);
    }
    assert.equal(keyTypes.size, 3, 'a mix of key types');
    const entrepreneur = first.citizens.find((citizen) => /TIN=\d{9},O=/.test(citizen.subject));
    assert.ok(entrepreneur, 'one entrepreneur with TIN and O');
    assert.equal(new Set(first.citizens.map((c) => c.password)).size, 4);
  });

  it("an O'zDSt citizen (parameter set A, as E-IMZO makes keys) under an O'zDSt CA, in a standard PKCS #12 the page opens", async () => {
    assert.ok(first.created);
    if (!first.created) return;
    const citizen = first.citizens.find((c) => c.keyType === 'ozdst-a')!;
    const root = pemCertificate(first.rootCaFile);
    const ca = pemCertificate(first.ozdstCaFile);
    const opened = await readPkcs12(readFileSync(citizen.file), citizen.password);
    const leaf = parseCertificate(opened.certificate);
    assert.equal(defaultSignatureAlgorithms.publicKey(leaf.spki).description, "O'zDSt 1092:2009-II parameter set A (CryptoPro-A)");
    assert.equal(leaf.signatureAlgorithm.oid, '1.2.860.3.15.1.1.2.2.2.2');
    // The path validates through the registry: root (ECDSA) → O'zDSt CA (signed by ECDSA) → citizen (signed by O'zDSt).
    const path = validate({ leaf, anchors: [root], intermediates: opened.chain.map(parseCertificate), at: now });
    assert.equal(path.intermediates[0]!.sha256, ca.sha256);
    // The key opens on the page's path too (browser-safe openPkcs12) as the same PKCS #8, and signs a CMS that verifies.
    const contents = await openPkcs12(readFileSync(citizen.file), citizen.password);
    assert.ok(!(opened.privateKey instanceof KeyObject));
    assert.deepEqual(contents.privateKeyPkcs8, gostPrivateKeyInfo(opened.privateKey));
    assert.deepEqual(opened.privateKey.spki, leaf.spki);
    const challenge = new TextEncoder().encode('Yagona ID sign-in\nnonce: dev');
    const cms = signCms({ content: challenge, signerCertDer: opened.certificate, extraCertDers: opened.chain, privateKey: opened.privateKey, encoding: 'ber', signingTime: now });
    assert.equal(openCms(cms, challenge).signer.sha256, leaf.sha256);
    assert.equal(readIdentity(leaf).givenName, 'AZIZA');
    assert.equal(readIdentity(leaf).organization, undefined, 'placeholders: a person, no organisation');
  });

  it('writes the trust policy of its two issuing CAs, which configuration reads', () => {
    assert.ok(first.created);
    const config = withTrustPolicy({ ...loadConfig({ ENV_FILE: '' }), trustPolicyFile: first.trustPolicyFile });
    const ca = pemCertificate(first.citizenCaFile);
    const ozdstCa = pemCertificate(first.ozdstCaFile);
    assert.deepEqual(config.trustPolicy?.issuers.map((issuer) => [issuer.name, issuer.sha256, issuer.identifiers, issuer.eku]), [
      ['Yagona Dev Citizen CA', ca.sha256, ['pinfl', 'tin'], ['1.3.6.1.5.5.7.3.2']],
      ["Yagona Dev O'zDSt Citizen CA", ozdstCa.sha256, ['pinfl', 'tin'], ['1.3.6.1.5.5.7.3.2']],
    ]);
  });

  it('keeps the CA keys private and writes a README', () => {
    assert.equal(statSync(first.rootCaKeyFile).mode & 0o777, 0o600);
    assert.equal(statSync(first.citizenCaKeyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'private')).mode & 0o077, 0);
    assert.match(readFileSync(first.rootCaKeyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const readme = readFileSync(join(dir, 'README.txt'), 'utf8');
    assert.match(readme, /development/);
    assert.match(readme, /citizens\/dilnoza-karimova\.p12/);
    assert.doesNotMatch(readme, new RegExp(first.created ? first.citizens[0]!.password : 'never'));
  });

  it('leaves a complete PKI alone and returns created=false without passwords', async () => {
    const before = snapshot(first);
    const again = await createDevPki(dir, { issuerUrl });
    assert.equal(again.created, false);
    assert.deepEqual(again.citizens.map((c) => c.file), first.citizens.map((c) => c.file));
    assert.ok(again.citizens.every((c) => !('password' in c)));
    assert.deepEqual(snapshot(again), before);
  });

  it('recreates an incomplete PKI, and any PKI with force', async () => {
    const other = join(root, 'other');
    const made = await createDevPki(other, { issuerUrl, now });
    const rootBefore = readFileSync(made.rootCaFile, 'utf8');
    unlinkSync(made.citizens[1]!.file);
    const repaired = await createDevPki(other, { issuerUrl, now });
    assert.equal(repaired.created, true);
    assert.notEqual(readFileSync(repaired.rootCaFile, 'utf8'), rootBefore);

    writeFileSync(join(other, 'trust', 'extra.pem'), 'left by someone');
    const rootBeforeForce = readFileSync(repaired.rootCaFile, 'utf8');
    const forced = await createDevPki(other, { issuerUrl, now, force: true });
    assert.equal(forced.created, true);
    assert.notEqual(readFileSync(forced.rootCaFile, 'utf8'), rootBeforeForce);
    assert.throws(() => statSync(join(other, 'trust', 'extra.pem')), /ENOENT/);
  });
});
