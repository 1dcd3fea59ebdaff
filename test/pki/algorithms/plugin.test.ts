// SIGNATURE_PLUGINS proves the plug-in interface: a test module registering Ed448 (ed448Plugin.ts)
// is loaded by the service, and a citizen whose CA signs with Ed448 signs in over HTTP once the
// family is in SIGNATURE_ALGORITHMS, and is refused by name when it is not. A plug-in that is
// missing, exports nothing usable or clashes stops the start with one line per problem.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { loadSignatureAlgorithms } from '../../../src/login/algorithms.ts';
import { createKeyPair, issueCertificate } from '../../../src/pki/issue/issue.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../../helpers/app.ts';
import type { TestDatabase } from '../../helpers/services.ts';
import { expectAccepted, expectRejected, type Signer } from '../../helpers/signInChecks.ts';
import { createTestPki, type TestPki } from '../../helpers/testPki.ts';

const plugin = fileURLToPath(new URL('./ed448Plugin.ts', import.meta.url));
const day = 86_400_000;

let pki: TestPki;
let databases: TestDatabase[];
let citizen: Signer;
const dir = mkdtempSync(join(tmpdir(), 'yagona-plugin-'));

before(async () => {
  pki = await createTestPki();
  databases = await openTestDatabases();
  // Root (EC P-384) → a CA whose key is Ed448 → a citizen (EC P-256) the Ed448 key signed.
  const caKey = await createKeyPair('ed448');
  const now = Date.now();
  const ca = await issueCertificate({
    subject: 'CN=Ed448 Citizen CA,O=Yagona Test,C=UZ', issuer: pki.root, publicKey: caKey.publicKey, ca: true, pathLen: 0,
    notBefore: new Date(now - day), notAfter: new Date(now + 365 * day),
  });
  const key = await createKeyPair('ec-p256');
  const leaf = await issueCertificate({
    subject: 'CN=Ed448 Citizen,1.2.860.3.16.1.2=31201990000448,C=UZ', issuer: { certDer: ca.der, privateKey: caKey.privateKey },
    publicKey: key.publicKey, notBefore: new Date(now - day), notAfter: new Date(now + 365 * day),
    keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
  });
  citizen = { certDer: leaf.der, privateKey: key.privateKey, chain: [ca.der] };
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
  rmSync(dir, { recursive: true, force: true });
});

const problemsOf = async (env: Record<string, string>): Promise<string[]> => {
  try {
    await loadSignatureAlgorithms(loadConfig(env));
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split('\n');
  }
  assert.fail('the plug-in configuration was accepted');
};

describe('loading plug-ins', () => {
  test('the module registers its family; SIGNATURE_ALGORITHMS accepts it by name', async () => {
    const algorithms = await loadSignatureAlgorithms(loadConfig({ SIGNATURE_PLUGINS: plugin, SIGNATURE_ALGORITHMS: 'ecdsa,ed448' }));
    assert.deepEqual(algorithms.enabled, ['ecdsa', 'ed448']);
    assert.ok(algorithms.known.includes('ed448') && algorithms.known.includes('ozdst'));
  });

  test('each problem is one line: a module that does not load, exports nothing, or is malformed; an unknown name', async () => {
    writeFileSync(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');
    writeFileSync(join(dir, 'bad.mjs'), "export const families = [{ name: 'Bad Name', title: '', keys: [{ oid: 'x', title: 'k' }], signatures: 'no' }];\n");
    const lines = await problemsOf({
      SIGNATURE_PLUGINS: `${join(dir, 'missing.mjs')},${join(dir, 'empty.mjs')},${join(dir, 'bad.mjs')}`, SIGNATURE_ALGORITHMS: 'ecdsa,ed448',
    });
    assert.deepEqual(lines.map((line) => line.replace(dir, 'DIR').replace(/ \(.*\)$/, ' (…)')), [
      'bad configuration: SIGNATURE_PLUGINS: DIR/missing.mjs does not load (…)',
      'bad configuration: SIGNATURE_PLUGINS: DIR/empty.mjs exports no "families" array',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: name is not lower-case letters, digits and hyphens',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: title is missing',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: keys[0].oid is not a dotted OID',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: keys[0].read is not a function',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: signatures is not an array',
      'bad configuration: SIGNATURE_PLUGINS: DIR/bad.mjs families[0]: digests is not an array',
      'bad configuration: SIGNATURE_ALGORITHMS: unknown family "ed448" (…)',
    ]);
  });

  test('a plug-in may not take a built-in name, nor define a built-in OID differently', async () => {
    writeFileSync(join(dir, 'clash.mjs'), "export const families = [{ name: 'ecdsa', title: 'x', keys: [], signatures: [], digests: [] }];\n");
    assert.deepEqual(await problemsOf({ SIGNATURE_PLUGINS: join(dir, 'clash.mjs') }), [
      `bad configuration: SIGNATURE_PLUGINS: ${join(dir, 'clash.mjs')} registers the family "ecdsa", which is already known`,
    ]);
    writeFileSync(join(dir, 'sha.mjs'), "export const families = [{ name: 'sha', title: 'x', keys: [], signatures: [], digests: [{ oid: '2.16.840.1.101.3.4.2.1', title: 'not SHA-256', hash: () => new Uint8Array(32) }] }];\n");
    const [line] = await problemsOf({ SIGNATURE_PLUGINS: join(dir, 'sha.mjs'), SIGNATURE_ALGORITHMS: 'ecdsa,sha' });
    assert.match(line!, /^bad configuration: SIGNATURE_PLUGINS: OID 2\.16\.840\.1\.101\.3\.4\.2\.1 is defined differently by the ecdsa and sha families$/);
  });
});

for (const [store, database] of [['redis', 'postgres'], ['memory', 'sqlite']] as const) {
  describe(`a CA signing with the plug-in's algorithm (${store}, ${database})`, () => {
    const apps: TestApp[] = [];
    const start = async (families: string) => {
      const app = await startTestApp({
        store, database: databases.find((d) => d.kind === database)!, pki, env: { SIGNATURE_PLUGINS: plugin, SIGNATURE_ALGORITHMS: families },
      });
      apps.push(app);
      return app;
    };
    after(async () => Promise.all(apps.map((app) => app.close())));

    test('signs in when ed448 is accepted', async () => {
      await expectAccepted(await start('ecdsa,ed448'), citizen);
    });

    test('is refused by name when it is not', async () => {
      const detail = await expectRejected(await start('ecdsa'), citizen, 400, 'unsupported_algorithm');
      assert.match(detail, /Ed448 public key 1\.3\.101\.113 is not supported \(the ed448 family is not in SIGNATURE_ALGORITHMS\)$/);
    });
  });
}
