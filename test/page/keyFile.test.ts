// The page's key-file code, run in node's WebCrypto: every key type of the dev PKI and of
// OpenSSL's exports opens, pairs with its certificate and signs a CMS the real service
// accepts; legacy, wrong-password and non-key files each name their problem.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../src/pki/algorithms/encodings.ts';
import { KeyFileError, openKeyFile, type KeyFileProblem } from '../../src/pki/browser/keyFile.ts';
import { maxIterations } from '../../src/pki/pkcs12/open.ts';
import { readPkcs12, writePkcs12 } from '../../src/pki/pkcs12/pkcs12.ts';
import type { KeyKind } from '../../src/pki/issue/issue.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { opensslKeyFile } from './helpers.ts';
import { pem, pemToDer } from '../helpers/pem.ts';
import { createDevPki } from '../../src/devPki.ts';
import { gostOid } from '../../src/pki/algorithms/families/gost.ts';
import { algorithmIdentifier, nullValue } from '../../src/pki/asn1/derWrite.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let dir: string;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startTestApp({ store: 'memory', database, pki });
  dir = mkdtempSync(join(tmpdir(), 'yagona-keyfile-'));
});
after(async () => {
  await app.close();
  await database.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): void {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
}

/** `openssl pkcs12 -export` of the citizen with the citizen CA and root, plus extra options. */
function opensslP12(citizen: Citizen, name: string, ...extra: string[]): Uint8Array {
  return opensslKeyFile(pki, citizen, dir, name, ...extra);
}

async function signsIn(bytes: Uint8Array, password: string, citizen: Citizen): Promise<void> {
  const [identity, ...more] = await openKeyFile(bytes, password);
  assert.ok(identity);
  assert.equal(more.length, 0);
  assert.deepEqual(identity.certificate, citizen.certDer);
  const challenge = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
  const cms = await identity.signChallenge(challenge.challenge);
  const res = await app.post('/v1/sessions', { challengeId: challenge.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
  assert.equal(res.status, 201, await res.text());
}

async function failsWith(promise: Promise<unknown>, problem: KeyFileProblem, detail?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KeyFileError, String(error));
    assert.equal(error.problem, problem, error.message);
    if (detail) assert.match(error.message, detail);
    return true;
  });
}

describe('openKeyFile (the sign-in page in node WebCrypto)', () => {
  for (const key of ['ec-p256', 'ec-p384', 'ec-p521', 'rsa-2048', 'rsa-4096', 'ed25519'] as KeyKind[]) {
    it(`a ${key} key file as the dev PKI writes it signs in`, async () => {
      const citizen = await pki.citizen({ key });
      const p12 = await writePkcs12({ privateKey: citizen.privateKey, certDer: citizen.certDer, chainDers: [...citizen.chain, pki.root.certDer], password: 'parol' });
      await signsIn(p12, 'parol', citizen);
    });
  }

  it('reads whose certificate it is: names, PINFL, issuer and validity', async () => {
    const citizen = await pki.citizen();
    const p12 = await writePkcs12({ privateKey: citizen.privateKey, certDer: citizen.certDer, chainDers: citizen.chain, password: 'x' });
    const [identity] = await openKeyFile(p12, 'x');
    const summary = identity!.summary;
    assert.match(summary.commonName ?? '', /^Citizen \d+$/);
    assert.equal(summary.surname, 'Karimov');
    assert.equal(summary.givenName, 'Aziz');
    assert.match(summary.pinfl ?? '', /^3120199\d{7}$/);
    assert.equal(summary.issuer, 'Test Citizen CA');
    assert.equal(summary.serialHex, citizen.serialHex.toUpperCase());
    assert.ok(summary.notAfter.getTime() > Date.now());
  });

  it('opens what OpenSSL 3 writes: default PBES2/AES-256, AES-128 with a SHA-1 MAC, SHA-512 MAC, no MAC, plain certificates', async () => {
    const citizen = await pki.citizen({ key: 'rsa-2048' });
    const variants: string[][] = [
      [], ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC', '-macalg', 'sha1'], ['-macalg', 'sha512'], ['-nomac'],
      ['-certpbe', 'NONE'], ['-keypbe', 'AES-192-CBC', '-iter', '100000'],
    ];
    for (const [index, extra] of variants.entries()) await signsIn(opensslP12(citizen, `v${index}`, ...extra), 'pw', citizen);
  });

  it('pairs a key without localKeyId with its certificate by the public key', async () => {
    const citizen = await pki.citizen({ key: 'ec-p384' });
    const keyFile = join(dir, 'nolocal.key');
    const certsFile = join(dir, 'nolocal.pem');
    const out = join(dir, 'nolocal.p12');
    writeFileSync(keyFile, citizen.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    // The chain first, the leaf last: nothing but the key itself tells them apart.
    writeFileSync(certsFile, [...citizen.chain, pki.root.certDer, citizen.certDer].map((der) => pem(der)).join(''));
    openssl('pkcs12', '-export', '-inkey', keyFile, '-nocerts', '-certfile', certsFile, '-out', out, '-passout', 'pass:pw');
    await signsIn(readFileSync(out), 'pw', citizen);
  });

  it('names the problem: legacy RC2/3DES, PBES2 with 3DES, wrong password, not a key file, no key', async () => {
    const citizen = await pki.citizen();
    const legacy = opensslP12(citizen, 'legacy', '-legacy');
    await failsWith(openKeyFile(legacy, 'pw'), 'unsupported_encryption', /RC2|TripleDES/);
    await failsWith(openKeyFile(legacy, 'nope'), 'wrong_password');
    await failsWith(openKeyFile(opensslP12(citizen, 'des3', '-keypbe', 'DES-EDE3-CBC', '-certpbe', 'DES-EDE3-CBC'), 'pw'), 'unsupported_encryption', /DES-EDE3-CBC/);
    await failsWith(openKeyFile(opensslP12(citizen, 'good'), 'wrong'), 'wrong_password');
    await failsWith(openKeyFile(new TextEncoder().encode('%PDF-1.7 not a key file'), 'pw'), 'not_a_key_file');
    await failsWith(openKeyFile(citizen.certDer, 'pw'), 'not_a_key_file');
    await failsWith(openKeyFile(opensslP12(citizen, 'nokeys', '-nokeys'), 'pw'), 'no_private_key');
  });

  it('refuses a file asking for 2 000 000 iterations, with the right password, before deriving any key (MAC, PBKDF2, both)', async (t) => {
    const citizen = await pki.citizen();
    const files = {
      'MAC and PBKDF2': opensslP12(citizen, 'iter-both', '-iter', '2000000'),
      'MAC only (plain bags)': opensslP12(citizen, 'iter-mac', '-iter', '2000000', '-keypbe', 'NONE', '-certpbe', 'NONE'),
      'PBKDF2 only (no MAC)': opensslP12(citizen, 'iter-pbkdf2', '-iter', '2000000', '-nomac'),
    };
    for (const [what, bytes] of Object.entries(files)) {
      const started = performance.now();
      await failsWith(openKeyFile(bytes, 'pw'), 'too_many_iterations', /too many iterations: (MAC|PBKDF2) 2000000 \(at most 1000000\)/);
      t.diagnostic(`${what}: refused in ${(performance.now() - started).toFixed(1)} ms`);
      // The terminal's reader (admin sign-in --p12) is the same code and refuses it too.
      await assert.rejects(readPkcs12(bytes, 'pw'), /too many iterations/);
    }
  });

  it('opens a file at the cap (1 000 000 MAC and PBKDF2 iterations) and signs in', async (t) => {
    const citizen = await pki.citizen();
    const started = performance.now();
    await signsIn(opensslP12(citizen, 'iter-cap', '-iter', String(maxIterations)), 'pw', citizen);
    t.diagnostic(`opened and signed in ${(performance.now() - started).toFixed(0)} ms`);
  });

  it('refuses a key whose certificate is not in the file', async () => {
    const citizen = await pki.citizen();
    const other = await pki.citizen();
    const keyFile = join(dir, 'mismatch.key');
    const certFile = join(dir, 'mismatch.pem');
    const out = join(dir, 'mismatch.p12');
    writeFileSync(keyFile, citizen.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(certFile, pem(other.certDer));
    // OpenSSL refuses to pair them itself, so the other certificate goes in as an extra one.
    openssl('pkcs12', '-export', '-inkey', keyFile, '-nocerts', '-certfile', certFile, '-out', out, '-passout', 'pass:pw');
    await failsWith(openKeyFile(readFileSync(out), 'pw'), 'no_certificate');
  });

  it('turns r‖s into a DER Ecdsa-Sig-Value and back (leading zeros and high bits)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 50; i += 1) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = ecdsaRawToDer(raw);
      assert.ok(verify('sha256', data, publicKey, der), 'node verifies the DER form');
      assert.deepEqual(ecdsaDerToRaw(der, 32), new Uint8Array(raw));
    }
    assert.deepEqual(ecdsaRawToDer(Uint8Array.of(0, 0x80, 0, 1)), Uint8Array.of(0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01));
  });
});

describe("openKeyFile with an O'zDSt key (the gost module's arithmetic in the page)", () => {
  let devDir: string;
  let devApp: TestApp;
  let devDatabase: TestDatabase;
  let ozdst: { file: string; password: string; subject: string };

  before(async () => {
    devDir = mkdtempSync(join(tmpdir(), 'yagona-ozdst-keyfile-'));
    const devPki = await createDevPki(devDir, { issuerUrl: 'http://127.0.0.1:0' });
    assert.ok(devPki.created);
    const citizen = devPki.citizens.find((entry) => entry.keyType === 'ozdst-a');
    assert.ok(citizen, "the development PKI has an O'zDSt citizen");
    ozdst = citizen;
    devDatabase = await openTestDatabase('sqlite');
    devApp = await startTestApp({ store: 'memory', database: devDatabase, pki: { anchors: [pemToDer(readFileSync(devPki.rootCaFile, 'utf8'))], intermediates: [] } });
  });
  after(async () => {
    await devApp.close();
    await devDatabase.cleanup();
    rmSync(devDir, { recursive: true, force: true });
  });

  it("opens the development PKI's O'zDSt citizen, shows the PINFL and signs a CMS as E-IMZO encodes it that the service accepts", async () => {
    const [identity, ...more] = await openKeyFile(readFileSync(ozdst.file), ozdst.password);
    assert.ok(identity);
    assert.equal(more.length, 0);
    assert.equal(identity.summary.pinfl, '42905950120033');
    assert.equal(identity.summary.commonName, 'YUSUPOVA AZIZA KARIMOVNA');
    assert.equal(identity.summary.issuer, "Yagona Dev O'zDSt Citizen CA");
    const challenge = (await (await devApp.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
    const cms = await identity.signChallenge(challenge.challenge);
    // E-IMZO writes each O'zDSt AlgorithmIdentifier with NULL parameters (test/data/vectors/ozdst/README.md).
    for (const algorithm of [gostOid.ozdstHash, gostOid.ozdstSignature]) {
      assert.ok(Buffer.from(cms).includes(Buffer.from(algorithmIdentifier(algorithm, nullValue()))), `the CMS names ${algorithm} with NULL`);
    }
    const res = await devApp.post('/v1/sessions', { challengeId: challenge.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
    const body = await res.text();
    assert.equal(res.status, 201, body);
    assert.equal((JSON.parse(body) as { subject: { pinfl?: string } }).subject.pinfl, '42905950120033');
    await failsWith(openKeyFile(readFileSync(ozdst.file), 'not-the-password'), 'wrong_password');
  });
});
