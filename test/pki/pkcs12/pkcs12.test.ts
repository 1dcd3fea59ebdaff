// Key files: ours round-trip and open in OpenSSL; OpenSSL's default files open in ours;
// legacy encryptions and wrong passwords fail with their own clear messages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyPair, issueCertificate, type KeyKind, type KeyPair } from '../../../src/pki/issue/issue.ts';
import { openPkcs12, readPkcs12, writePkcs12 } from '../../../src/pki/pkcs12/pkcs12.ts';
import { assertRejectsCode } from '../../helpers/assertions.ts';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2036-01-01T00:00:00Z');
const password = 'Parol-2026 ü';

// stdout and stderr together: `pkcs12 -info` reports on stderr.
function openssl(...args: string[]): string {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
  return run.stdout + run.stderr;
}

const rejectsWith = (promise: Promise<unknown>, message: RegExp): Promise<void> => assertRejectsCode(promise, 'invalid_request', message);


describe('PKCS#12', () => {
  let dir: string;
  let rootKey: KeyPair;
  let rootDer: Uint8Array;
  let rootPem: string;

  const issueLeaf = async (kind: KeyKind): Promise<{ key: KeyPair; der: Uint8Array; pem: string }> => {
    const key = await createKeyPair(kind);
    const cert = await issueCertificate({
      subject: `CN=Leaf ${kind},C=UZ`, issuer: { certDer: rootDer, privateKey: rootKey.privateKey }, publicKey: key.publicKey,
      notBefore, notAfter,
    });
    return { key, der: cert.der, pem: cert.pem };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yagona-p12-'));
    rootKey = await createKeyPair('ec-p384');
    const root = await issueCertificate({
      subject: 'CN=P12 Root,C=UZ', publicKey: rootKey.publicKey, privateKey: rootKey.privateKey, notBefore, notAfter, ca: true,
    });
    rootDer = root.der;
    rootPem = root.pem;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of ['ec-p256', 'rsa-2048', 'ed25519'] as const) {
    it(`round-trips a ${kind} key with its chain, and OpenSSL opens the file`, async () => {
      const leaf = await issueLeaf(kind);
      const p12 = await writePkcs12({ privateKey: leaf.key.privateKey, certDer: leaf.der, chainDers: [rootDer], password, friendlyName: 'Demo' });

      const back = await readPkcs12(p12, password);
      assert.deepEqual(back.certificate, leaf.der);
      assert.deepEqual(back.chain, [rootDer]);
      assert.ok(back.privateKey instanceof KeyObject);
      assert.deepEqual(
        back.privateKey.export({ type: 'pkcs8', format: 'der' }),
        leaf.key.privateKey.export({ type: 'pkcs8', format: 'der' }),
      );

      const file = join(dir, `${kind}.p12`);
      writeFileSync(file, p12);
      const info = openssl('pkcs12', '-in', file, '-info', '-passin', `pass:${password}`, '-noout');
      assert.match(info, /MAC: sha256, Iteration 2048/);
      assert.match(info, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
      assert.match(info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
      // OpenSSL decrypts the key and names the leaf by its friendlyName and localKeyId.
      const dump = openssl('pkcs12', '-in', file, '-passin', `pass:${password}`, '-nodes');
      assert.match(dump, /friendlyName: Demo/);
      const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(dump)?.[0];
      assert.ok(keyPem);
      assert.ok(new X509Certificate(leaf.der).checkPrivateKey(createPrivateKey(keyPem)));
    });
  }

  it('opens what `openssl pkcs12 -export` writes by default, the leaf told apart from the chain', async () => {
    const leaf = await issueLeaf('ec-p256');
    const keyFile = join(dir, 'o.key');
    const certFile = join(dir, 'o.pem');
    const chainFile = join(dir, 'o-chain.pem');
    const p12File = join(dir, 'openssl-default.p12');
    writeFileSync(keyFile, leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, leaf.pem);
    writeFileSync(chainFile, rootPem);
    // The chain first in the file, so the leaf must be found by localKeyId, not position.
    openssl('pkcs12', '-export', '-inkey', keyFile, '-in', certFile, '-certfile', chainFile, '-out', p12File, '-passout', 'pass:pw');
    const back = await readPkcs12(readFileSync(p12File), 'pw');
    assert.deepEqual(back.certificate, leaf.der);
    assert.deepEqual(back.chain, [rootDer]);
    assert.ok(back.privateKey instanceof KeyObject);
    assert.deepEqual(createPublicKey(back.privateKey).export({ type: 'spki', format: 'der' }), leaf.key.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('opens a file without MAC and a SHA-1 MAC with unencrypted certificates', async () => {
    const leaf = await issueLeaf('rsa-2048');
    const keyFile = join(dir, 'm.key');
    const certFile = join(dir, 'm.pem');
    writeFileSync(keyFile, leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, leaf.pem);
    const variants = [['-nomac'], ['-macalg', 'sha1', '-certpbe', 'NONE', '-keypbe', 'AES-128-CBC']];
    for (const [index, extra] of variants.entries()) {
      const p12File = join(dir, `variant-${index}.p12`);
      openssl('pkcs12', '-export', '-inkey', keyFile, '-in', certFile, '-out', p12File, '-passout', 'pass:pw', ...extra);
      const back = await readPkcs12(readFileSync(p12File), 'pw');
      assert.deepEqual(back.certificate, leaf.der, extra.join(' '));
      assert.deepEqual(back.chain, []);
    }
  });

  it('names the encryption of a `-legacy` (RC2/3DES) or PBES2-3DES file it cannot open', async () => {
    const leaf = await issueLeaf('ec-p256');
    const keyFile = join(dir, 'l.key');
    const certFile = join(dir, 'l.pem');
    writeFileSync(keyFile, leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, leaf.pem);
    const legacy = join(dir, 'legacy.p12');
    openssl('pkcs12', '-export', '-legacy', '-inkey', keyFile, '-in', certFile, '-out', legacy, '-passout', 'pass:pw');
    await rejectsWith(readPkcs12(readFileSync(legacy), 'pw'), /^key file uses an unsupported encryption: pbeWithSHAAnd40BitRC2-CBC$/);
    // The MAC is checked first, so a wrong password is still reported as such.
    await rejectsWith(readPkcs12(readFileSync(legacy), 'wrong'), /^wrong password or damaged key file$/);

    const tripleDes = join(dir, 'pbes2-3des.p12');
    openssl('pkcs12', '-export', '-inkey', keyFile, '-in', certFile, '-out', tripleDes, '-passout', 'pass:pw',
      '-certpbe', 'NONE', '-keypbe', 'DES-EDE3-CBC');
    await rejectsWith(readPkcs12(readFileSync(tripleDes), 'pw'), /^key file uses an unsupported encryption: DES-EDE3-CBC$/);
  });

  it('says "wrong password" for a wrong password, with or without a MAC', async () => {
    const leaf = await issueLeaf('ec-p256');
    const ours = await writePkcs12({ privateKey: leaf.key.privateKey, certDer: leaf.der, password });
    await rejectsWith(readPkcs12(ours, `${password}x`), /^wrong password or damaged key file$/);
    await rejectsWith(readPkcs12(ours, ''), /^wrong password or damaged key file$/);

    const keyFile = join(dir, 'w.key');
    const certFile = join(dir, 'w.pem');
    const noMac = join(dir, 'w.p12');
    writeFileSync(keyFile, leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, leaf.pem);
    openssl('pkcs12', '-export', '-nomac', '-inkey', keyFile, '-in', certFile, '-out', noMac, '-passout', 'pass:pw');
    await rejectsWith(readPkcs12(readFileSync(noMac), 'not-pw'), /^wrong password or damaged key file$/);
  });

  it('a wrong password whose decryption happens to end in valid padding is still "wrong password"', async () => {
    const leaf = await issueLeaf('ec-p256');
    const keyFile = join(dir, 'p.key');
    const certFile = join(dir, 'p.pem');
    const noMac = join(dir, 'p.p12');
    writeFileSync(keyFile, leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, leaf.pem);
    // One PBKDF2 iteration, so that many wrong passwords are cheap to try (-nomac after -iter,
    // which would otherwise set the MAC's iterations and bring the MAC back).
    openssl('pkcs12', '-export', '-iter', '1', '-nomac', '-inkey', keyFile, '-in', certFile, '-out', noMac, '-passout', 'pass:pw');
    const file = readFileSync(noMac);
    // About one wrong password in 256 decrypts to valid CBC padding around garbage; the error's
    // cause tells that case (a parse error) from bad padding (WebCrypto's OperationError).
    let garbage = 0;
    for (let i = 0; i < 5000 && garbage === 0; i++) {
      const error = await readPkcs12(file, `wrong-${i}`).then(() => assert.fail('a wrong password opened the file'), (e: unknown) => e as Error);
      assert.equal(error.message, 'wrong password or damaged key file', `password wrong-${i}`);
      if ((error.cause as Error | undefined)?.name !== 'OperationError') garbage++;
    }
    assert.equal(garbage, 1, 'a wrong password that passed the padding was tried');
  });

  it('refuses bytes that are not a key file, and a file without a key', async () => {
    await rejectsWith(readPkcs12(new TextEncoder().encode('hello'), 'pw'), /^not a PKCS#12 key file/);
    await rejectsWith(readPkcs12(rootDer, 'pw'), /^not a PKCS#12 key file/);

    const certOnly = join(dir, 'cert-only.p12');
    const certFile = join(dir, 'root.pem');
    writeFileSync(certFile, rootPem);
    openssl('pkcs12', '-export', '-nokeys', '-in', certFile, '-out', certOnly, '-passout', 'pass:pw');
    await rejectsWith(readPkcs12(readFileSync(certOnly), 'pw'), /^key file holds no private key$/);
  });

  it('gives the browser-side reader the PKCS#8 key and the leaf by localKeyId', async () => {
    const leaf = await issueLeaf('ec-p256');
    const p12 = await writePkcs12({ privateKey: leaf.key.privateKey, certDer: leaf.der, chainDers: [rootDer], password });
    const contents = await openPkcs12(p12, password);
    assert.deepEqual(contents.certificate, leaf.der);
    assert.deepEqual(contents.others, [rootDer]);
    const key = await globalThis.crypto.subtle.importKey('pkcs8', contents.privateKeyPkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    assert.equal(key.type, 'private');
  });
});
