// The per-CA trust policy over HTTP (TRUST_POLICY_FILE): a leaf signs in only under a CA with an
// entry, within it, asserting only the identifiers its CA may assert; each rule broken is 403
// certificate_usage_invalid naming it, with no session, one audit event and the challenge gone.
// The entry's name is in the audit trail; its acr sets the level. Without a policy, any CA under
// the anchors signs anyone in (outside production only).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { oid, sequence } from '../../src/pki/asn1/derWrite.ts';
import { createKeyPair, issueCertificate, type IssueOptions } from '../../src/pki/issue/issue.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectAccepted, expectRejected, type Signer } from '../helpers/signInChecks.ts';
import { type Authority, createTestPki, subordinateCa, type TestPki } from '../helpers/testPki.ts';

const day = 86_400_000;
const eimzoPolicy = '1.2.860.3.2.2.1.2.1';
const dir = mkdtempSync(join(tmpdir(), 'yagona-trust-policy-'));

let pki: TestPki;
let listed: Authority;
let unlisted: Authority;
let databases: TestDatabase[];
let policyFile: string;

before(async () => {
  pki = await createTestPki();
  databases = await openTestDatabases();
  const now = new Date();
  listed = pki.ca;
  unlisted = await subordinateCa('CN=Unlisted CA,O=Yagona Test,C=UZ', pki.root, now);
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, `issuers:
  - name: Test citizens CA
    sha256: ${parseCertificate(listed.certDer).sha256}
    eku: [clientAuth]
    policies: [${eimzoPolicy}]
    identifiers: [pinfl]
    acr: urn:yagona:loa:high
`);
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
async function leaf(issuer: Authority, options: Partial<IssueOptions> & { policies?: string[] } = {}): Promise<Signer> {
  const { policies = [eimzoPolicy], ...rest } = options;
  const key = await createKeyPair('ec-p256');
  serial++;
  const issued = await issueCertificate({
    subject: `CN=Policy Citizen ${serial},1.2.860.3.16.1.2=3120199${String(serial).padStart(7, '0')},C=UZ`,
    notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 365 * day),
    keyUsage: ['digitalSignature', 'nonRepudiation'], extKeyUsage: ['clientAuth'],
    extraExtensions: policies.length === 0 ? [] : [{ oid: '2.5.29.32', critical: false, valueDer: sequence(...policies.map((p) => sequence(oid(p)))) }],
    ...rest,
    issuer, publicKey: key.publicKey,
  });
  return { certDer: issued.der, privateKey: key.privateKey, chain: [issuer.certDer] };
}

for (const [store, database] of [['redis', 'postgres'], ['memory', 'sqlite']] as const) {
  describe(`trust policy (${store}, ${database})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ store, database: databases.find((d) => d.kind === database)!, pki, env: { TRUST_POLICY_FILE: policyFile } });
    });
    after(async () => app.close());

    test('a leaf within its CA\'s entry signs in; the entry is named in the audit event and its acr sets the level', async () => {
      const signedIn = await expectAccepted(app, await leaf(listed));
      assert.match(signedIn.subject.sub, /^pinfl:\d{14}$/);
      const event = (await app.db.audit.tail(1)).at(-1)!;
      assert.equal((event.details as { trustPolicy?: string }).trustPolicy, 'Test citizens CA');
      // acr high for the CA: a hardware key (amr hwk); high itself only for origin-bound content.
      const session = await app.get('/v1/sessions/current', { authorization: `Bearer ${signedIn.accessToken}` });
      const body = (await session.json()) as { amr: string[]; acr: string };
      assert.deepEqual([body.amr, body.acr], [['hwk', 'pin', 'pop'], 'urn:yagona:loa:substantial']);
    });

    test('a leaf under a CA with no entry', async () => {
      const detail = await expectRejected(app, await leaf(unlisted), 403, 'certificate_usage_invalid');
      assert.match(detail, /the issuing CA certificate "CN=Unlisted CA,O=Yagona Test,C=UZ" \(serial [0-9A-F]+\) \(sha256 [0-9a-f]{64}\) has no entry in the trust policy$/);
    });

    test('a leaf without an extended key usage its CA requires (an e-seal-style leaf with none, or emailProtection only)', async () => {
      for (const extKeyUsage of [undefined, ['emailProtection']]) {
        const detail = await expectRejected(app, await leaf(listed, { extKeyUsage }), 403, 'certificate_usage_invalid');
        assert.match(detail, /lacks the extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.2 that the trust policy requires of "Test citizens CA"$/);
      }
      // A TLS-style leaf already fails the sign-in purpose the path validator checks for every CA.
      await expectRejected(app, await leaf(listed, { extKeyUsage: ['serverAuth'] }), 403, 'certificate_usage_invalid');
    });

    test('a leaf asserting none of the policies its CA requires (a test policy, or none at all)', async () => {
      for (const policies of [['1.2.860.3.2.2.1.99'], []]) {
        const detail = await expectRejected(app, await leaf(listed, { policies }), 403, 'certificate_usage_invalid');
        assert.match(detail, /asserts none of the certificate policies 1\.2\.860\.3\.2\.2\.1\.2\.1 that the trust policy requires of "Test citizens CA"$/);
      }
    });

    test('a leaf asserting an identifier its CA may not assert: the CA cannot mint a TIN subject', async () => {
      const subject = 'CN=Policy Employee,UID=512345678,1.2.860.3.16.1.2=31201990000999,C=UZ';
      const detail = await expectRejected(app, await leaf(listed, { subject }), 403, 'certificate_usage_invalid');
      assert.match(detail, /asserts TIN, which the trust policy does not let "Test citizens CA" assert$/);
      // A malformed TIN is still an assertion: it is refused, not dropped.
      const malformed = await expectRejected(app, await leaf(listed, { subject: 'CN=Policy Firm,1.2.860.3.16.1.1=12,C=UZ' }), 403, 'certificate_usage_invalid');
      assert.match(malformed, /asserts TIN/);
    });
  });
}

describe('without a trust policy (outside production)', () => {
  test('any CA under the anchors signs anyone in, as before', async () => {
    const app = await startTestApp({ store: 'memory', database: databases.find((d) => d.kind === 'sqlite')!, pki });
    try {
      await expectAccepted(app, await leaf(unlisted, { extKeyUsage: undefined, policies: [] }));
    } finally {
      await app.close();
    }
  });
});
