// Keys made by OpenSSL's gost engine sign in over HTTP against the real app (issue 17): O'zDSt
// 1092 parameter sets A and C (as E-IMZO makes citizens' keys) and GOST R 34.10-2012 256/512,
// every key, certificate and signature of the chain the engine's (test/helpers/gostPki.ts), the
// CMS in DER and in E-IMZO's BER, attached and detached, with signing time and the chain to the
// root inside, under a trust policy naming each CA. The subject is the citizen's PINFL. A
// flipped bit in each byte of an O'zDSt signature is refused (each other GOST case at the first
// and last bits of s and r), as is one in the CA's signature on the citizen; unknown O'zDSt and
// GOST 2012 parameter sets and a family not in SIGNATURE_ALGORITHMS are refused by name. Every
// refusal is checked whole (signInChecks.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gostOid } from '../../src/pki/algorithms/families/gost.ts';
import { algorithmIdentifier, oid, sequence } from '../../src/pki/asn1/derWrite.ts';
import { gostSpki } from '../../src/pki/issue/gostSigner.ts';
import { issueCertificate } from '../../src/pki/issue/issue.ts';
import type { ExternalSigner } from '../../src/pki/issue/signer.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import { engineChain, engineSigner, gostCases, type GostCase, type GostChain } from '../helpers/gostPki.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectAccepted, expectRejected, type Signer } from '../helpers/signInChecks.ts';
import { openGostEngine } from '../pki/algorithms/gost/gostEngine.ts';

const pinfl = '31201990000017';
const engine = openGostEngine();
const dir = mkdtempSync(join(tmpdir(), 'yagona-national-keys-'));
const chains = new Map<GostCase, GostChain>();
let databases: TestDatabase[];
const apps: TestApp[] = [];
const ozdstA = gostCases.find((c) => c.label === "O'zDSt 1092 parameter set A")!;

before(async () => {
  databases = await openTestDatabases();
  for (const c of gostCases) chains.set(c, await engineChain(engine, c, pinfl));
});
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(databases.map((d) => d.cleanup()));
  engine.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** The app trusting every engine root, each citizen CA in the trust policy with what E-IMZO's may assert. */
async function start(store: 'redis' | 'memory', database: 'postgres' | 'sqlite', families = 'rsa,rsa-pss,ecdsa,ed25519,ozdst,gost2012'): Promise<TestApp> {
  const policy = join(dir, `policy-${apps.length}.yaml`);
  writeFileSync(policy, `issuers:\n${[...chains].map(([c, chain]) =>
    `  - name: ${c.label} CA\n    sha256: ${parseCertificate(chain.ca.der).sha256}\n    eku: [clientAuth]\n    identifiers: [pinfl, tin]\n`).join('')}`);
  const app = await startTestApp({
    store, database: databases.find((d) => d.kind === database)!,
    pki: { anchors: [...chains.values()].map((chain) => chain.root.der), intermediates: [] },
    env: { SIGNATURE_ALGORITHMS: families, TRUST_POLICY_FILE: policy },
  });
  apps.push(app);
  return app;
}

const citizenOf = (c: GostCase): Signer => chains.get(c)!.citizen;

/** The citizen whose signatures come out with `bit` flipped (bit 0: the first byte's highest). */
function flipping(c: GostCase, bit: number): Signer {
  const citizen = citizenOf(c);
  const signer = citizen.privateKey as ExternalSigner;
  const sign = (data: Uint8Array) => {
    const signature = Uint8Array.from(signer.sign(data));
    signature[bit >> 3]! ^= 0x80 >> (bit & 7);
    return signature;
  };
  return { ...citizen, privateKey: { ...signer, sign } };
}

describe('keys made by the gost engine sign in over HTTP (Redis, PostgreSQL)', () => {
  let app: TestApp;
  before(async () => {
    app = await start('redis', 'postgres');
  });

  for (const c of gostCases) {
    test(`${c.label}: CMS in DER and BER, attached and detached; the subject is the PINFL`, async () => {
      for (const encoding of ['der', 'ber'] as const) {
        for (const detached of [false, true]) {
          const signedIn = await expectAccepted(app, citizenOf(c), { encoding, detached, signingTime: new Date() });
          assert.equal(signedIn.subject.sub, `pinfl:${pinfl}`, `${encoding} ${detached ? 'detached' : 'attached'}`);
          assert.equal(signedIn.subject.pinfl, pinfl);
        }
      }
    });
  }

  test("a flipped bit in every byte of an O'zDSt signature (s‖r) is signature_invalid", async () => {
    // Every bit of every family's signature is refused by openCms itself (pki/algorithms/gostFamilies.test.ts).
    for (let byte = 0; byte < 2 * ozdstA.profile.curve.size; byte++) {
      await expectRejected(app, flipping(ozdstA, byte * 8 + (byte % 8)), 403, 'signature_invalid', { encoding: 'ber', signingTime: new Date() });
    }
  });

  test('for each other family and parameter set, the first and last bits of s and of r', async () => {
    for (const c of gostCases.filter((other) => other !== ozdstA)) {
      const size = c.profile.curve.size * 8;
      for (const bit of [0, size - 1, size, 2 * size - 1]) await expectRejected(app, flipping(c, bit), 403, 'signature_invalid');
    }
  });

  test("a flipped bit of the CA's signature on the citizen's certificate: no path, certificate_untrusted", async () => {
    const citizen = citizenOf(ozdstA);
    const certDer = Uint8Array.from(citizen.certDer);
    certDer[certDer.length - 1]! ^= 0x01; // the last byte of the certificate's s‖r
    await expectRejected(app, { ...citizen, certDer }, 403, 'certificate_untrusted');
  });

  // The ID-card set seen in E-IMZO code, not established by any real vector; and RFC 7091's test
  // curve, which GOST R 34.10-2012 keys must never name.
  const unknownSets: Array<[GostCase, Uint8Array, string]> = [
    [ozdstA, algorithmIdentifier(gostOid.ozdstKey, sequence(oid('1.2.860.3.15.1.1.2.1.3'))), "O'zDSt 1092:2009-II parameter set 1.2.860.3.15.1.1.2.1.3 is not supported"],
    [gostCases.find((c) => c.kind === 'gost2012_256')!, algorithmIdentifier(gostOid.gost2012Key256, sequence(oid('1.2.643.2.2.35.0'))),
      'GOST R 34.10-2012 256-bit parameter set 1.2.643.2.2.35.0 is not supported'],
  ];
  for (const [c, keyAlgorithm, expected] of unknownSets) {
    test(`an unknown parameter set is refused by name, 400 unsupported_algorithm: ${expected}`, async () => {
      const chain = chains.get(c)!;
      const signer = engineSigner(engine, c);
      const spki = gostSpki({ ...c.profile, keyAlgorithm }, signer.spki.subarray(-2 * c.profile.curve.size));
      const now = Date.now();
      const leaf = await issueCertificate({
        subject: `CN=UNKNOWN SET,1.2.860.3.16.1.2=${pinfl},C=UZ`, issuer: { certDer: chain.ca.der, privateKey: chain.ca.signer }, publicKey: spki,
        notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 86_400_000), keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
      });
      const detail = await expectRejected(app, { certDer: leaf.der, privateKey: { ...signer, spki }, chain: chain.citizen.chain }, 400, 'unsupported_algorithm');
      assert.equal(detail, expected);
    });
  }
});

describe('the default SIGNATURE_ALGORITHMS (in-process store, SQLite)', () => {
  let app: TestApp;
  before(async () => {
    app = await start('memory', 'sqlite', 'rsa,rsa-pss,ecdsa,ed25519,ozdst');
  });

  test("O'zDSt is built in: the E-IMZO-made key signs in with its PINFL", async () => {
    const signedIn = await expectAccepted(app, citizenOf(ozdstA), { encoding: 'ber', signingTime: new Date() });
    assert.equal(signedIn.subject.sub, `pinfl:${pinfl}`);
  });

  test('GOST R 34.10-2012 is not, and is refused by name', async () => {
    for (const c of gostCases.filter((other) => other.family === 'gost2012')) {
      const detail = await expectRejected(app, citizenOf(c), 400, 'unsupported_algorithm');
      // The CMS's digest is resolved first: Streebog, of the same family.
      assert.match(detail, /^GOST R 34\.11-2012 \(Streebog\) (256|512)-bit hash 1\.2\.643\.7\.1\.1\.2\.[23] is not supported \(the gost2012 family is not in SIGNATURE_ALGORITHMS\)$/, c.label);
    }
  });
});
