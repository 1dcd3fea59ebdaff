// Path validation against certificates made at test time: docs/security-cases.md §C 33–49 first,
// then name constraints, policies, CRLs, depth and the trust store.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { parseCertificatesFromPemOrDer } from '../../../src/pki/x509/certificate.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { createTrustStore, validate, type ValidateInput } from '../../../src/pki/path/validate.ts';
import { ascii, crlFor, hierarchy, issue, type Issued, now, tlv } from '../chainFixtures.ts';
import { assertCode, assertCpuBelow } from '../../helpers/assertions.ts';
import { pem } from '../../helpers/pem.ts';

const second = 1000;
const day = 86_400_000;

type RunInput = Omit<ValidateInput, 'leaf' | 'anchors' | 'intermediates' | 'at'> & {
  leaf: Issued;
  anchors: Issued[];
  intermediates?: Issued[];
  at?: Date;
};

function run(input: RunInput) {
  return validate({
    ...input,
    leaf: input.leaf.cert,
    anchors: input.anchors.map((a) => a.cert),
    intermediates: (input.intermediates ?? []).map((c) => c.cert),
    at: input.at ?? now,
  });
}

let root: Issued;
let ca: Issued;
let leaf: Issued;

before(async () => {
  ({ root, ca, leaf } = await hierarchy());
});

describe('validate: a good path', () => {
  it('root → citizen CA → citizen validates and names its parts', () => {
    const path = run({ leaf, anchors: [root], intermediates: [ca] });
    assert.equal(path.leaf.sha256, leaf.cert.sha256);
    assert.deepEqual(path.intermediates.map((c) => c.sha256), [ca.cert.sha256]);
    assert.equal(path.anchor.sha256, root.cert.sha256);
  });

  it('the intermediate pool is unordered and may hold strangers', async () => {
    const stranger = await issue({ subject: 'CN=Stranger CA,O=Elsewhere,C=UZ', ca: true });
    const path = run({ leaf, anchors: [root], intermediates: [stranger, ca, stranger] });
    assert.equal(path.intermediates.length, 1);
  });

  it('RSA, Ed25519 and P-384 keys along the path', async () => {
    const rsaRoot = await issue({ subject: 'CN=RSA Root,C=UZ', ca: true, key: 'rsa2048' });
    const edCa = await issue({ subject: 'CN=Ed CA,C=UZ', issuer: rsaRoot, ca: true, key: 'ed25519' });
    const citizen = await issue({ subject: 'CN=Mixed Citizen,C=UZ', issuer: edCa, key: 'p384', hash: 'SHA-384' });
    run({ leaf: citizen, anchors: [rsaRoot], intermediates: [edCa] });
  });
});

describe('validate: docs/security-cases.md §C', () => {
  it('33: a leaf from a CA outside the trust store is untrusted', async () => {
    const other = await hierarchy('Foreign');
    assertCode(() => run({ leaf: other.leaf, anchors: [root], intermediates: [ca, other.ca] }), 'certificate_untrusted', /no path/);
  });

  it('34: an end-entity certificate that signs another certificate is not a CA', async () => {
    const forged = await issue({ subject: 'CN=Victim Citizen,O=Yagona Test,C=UZ', issuer: leaf });
    assertCode(() => run({ leaf: forged, anchors: [root], intermediates: [ca, leaf] }), 'certificate_untrusted', /not a CA/);
  });

  it('35: a CA without keyCertSign cannot issue', async () => {
    const noSign = await issue({ subject: 'CN=No KeyCertSign CA,C=UZ', issuer: root, ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
    const citizen = await issue({ subject: 'CN=Citizen Under NoSign,C=UZ', issuer: noSign });
    assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [noSign] }), 'certificate_untrusted', /keyCertSign/);
  });

  it('36: pathLenConstraint 0 forbids a sub-CA below', async () => {
    const sub = await issue({ subject: 'CN=Sub CA,C=UZ', issuer: ca, ca: true });
    const citizen = await issue({ subject: 'CN=Deep Citizen,C=UZ', issuer: sub });
    assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [ca, sub] }), 'certificate_untrusted', /pathLenConstraint/);
  });

  it('37: an expired or not yet valid intermediate fails the path', async () => {
    const old = await issue({ subject: 'CN=Old CA,C=UZ', issuer: root, ca: true, notAfter: new Date(now.getTime() - day) });
    const oldCitizen = await issue({ subject: 'CN=Citizen Of Old CA,C=UZ', issuer: old });
    assertCode(() => run({ leaf: oldCitizen, anchors: [root], intermediates: [old] }), 'certificate_expired', /Old CA/);
    const future = await issue({ subject: 'CN=Future CA,C=UZ', issuer: root, ca: true, notBefore: new Date(now.getTime() + day) });
    const futureCitizen = await issue({ subject: 'CN=Citizen Of Future CA,C=UZ', issuer: future });
    assertCode(() => run({ leaf: futureCitizen, anchors: [root], intermediates: [future] }), 'certificate_not_yet_valid', /Future CA/);
  });

  for (const key of ['p256', 'rsa2048'] as const) {
    it(`38: a ${key} leaf expired by 1 s or valid only in 1 s is refused; the boundaries themselves are valid`, async () => {
      const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
      const expired = await issue({ subject: `CN=Expired ${key},C=UZ`, issuer: ca, key, notAfter: new Date(at.getTime() - second) });
      assertCode(() => run({ leaf: expired, anchors: [root], intermediates: [ca], at }), 'certificate_expired');
      const early = await issue({ subject: `CN=Early ${key},C=UZ`, issuer: ca, key, notBefore: new Date(at.getTime() + second) });
      assertCode(() => run({ leaf: early, anchors: [root], intermediates: [ca], at }), 'certificate_not_yet_valid');
      const edge = await issue({ subject: `CN=Edge ${key},C=UZ`, issuer: ca, key, notBefore: at, notAfter: at });
      run({ leaf: edge, anchors: [root], intermediates: [ca], at });
    });
  }

  it('39: an unrelated expired CA in the trust store does not disturb a valid user', async () => {
    const expiredRoot = await issue({ subject: 'CN=Retired Root,C=UZ', ca: true, notAfter: new Date(now.getTime() - day) });
    run({ leaf, anchors: [expiredRoot, root], intermediates: [ca] });
  });

  it('40: keyUsage missing or without digitalSignature/nonRepudiation is refused; nonRepudiation alone is allowed (docs/path-validation.md)', async () => {
    const noKu = await issue({ subject: 'CN=No KU,C=UZ', issuer: ca, keyUsage: null });
    assertCode(() => run({ leaf: noKu, anchors: [root], intermediates: [ca] }), 'certificate_usage_invalid', /no keyUsage/);
    const encipher = await issue({ subject: 'CN=Encipher Only,C=UZ', issuer: ca, keyUsage: x509.KeyUsageFlags.keyEncipherment });
    assertCode(() => run({ leaf: encipher, anchors: [root], intermediates: [ca] }), 'certificate_usage_invalid');
    const nonRep = await issue({ subject: 'CN=Qualified Signer,C=UZ', issuer: ca, keyUsage: x509.KeyUsageFlags.nonRepudiation });
    run({ leaf: nonRep, anchors: [root], intermediates: [ca] });
  });

  it('41: an EKU without clientAuth or emailProtection is refused; anyExtendedKeyUsage alone is not enough', async () => {
    const codeSigning = await issue({ subject: 'CN=Code Signer,C=UZ', issuer: ca, eku: [OID.codeSigning] });
    assertCode(() => run({ leaf: codeSigning, anchors: [root], intermediates: [ca] }), 'certificate_usage_invalid', /extendedKeyUsage/);
    const any = await issue({ subject: 'CN=Any Purpose,C=UZ', issuer: ca, eku: [OID.anyExtendedKeyUsage] });
    assertCode(() => run({ leaf: any, anchors: [root], intermediates: [ca] }), 'certificate_usage_invalid');
    const email = await issue({ subject: 'CN=Mail Signer,C=UZ', issuer: ca, eku: [OID.emailProtection] });
    run({ leaf: email, anchors: [root], intermediates: [ca] });
    const none = await issue({ subject: 'CN=No EKU,C=UZ', issuer: ca, eku: null });
    run({ leaf: none, anchors: [root], intermediates: [ca] });
    assertCode(() => run({ leaf: email, anchors: [root], intermediates: [ca], requiredEku: [OID.clientAuth] }), 'certificate_usage_invalid');
  });

  it('43: an unknown critical extension on the leaf or an intermediate is refused; a non-critical one is ignored', async () => {
    const unknown = (critical: boolean) => new x509.Extension('1.2.3.4.5.6', critical, Uint8Array.of(0x05, 0x00));
    const critLeaf = await issue({ subject: 'CN=Critical Leaf,C=UZ', issuer: ca, extensions: [unknown(true)] });
    assertCode(() => run({ leaf: critLeaf, anchors: [root], intermediates: [ca] }), 'certificate_untrusted', /unknown critical extension 1\.2\.3\.4\.5\.6/);
    const mild = await issue({ subject: 'CN=Mild Leaf,C=UZ', issuer: ca, extensions: [unknown(false)] });
    run({ leaf: mild, anchors: [root], intermediates: [ca] });
    const critCa = await issue({ subject: 'CN=Critical CA,C=UZ', issuer: root, ca: true, extensions: [unknown(true)] });
    const citizen = await issue({ subject: 'CN=Under Critical CA,C=UZ', issuer: critCa });
    assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [critCa] }), 'certificate_untrusted', /Critical CA/);
  });

  it('44: SHA-1 signatures on the leaf or an intermediate are weak', async () => {
    const sha1Ca = await issue({ subject: 'CN=SHA1 Signed CA,C=UZ', issuer: root, ca: true, hash: 'SHA-1' });
    const citizen = await issue({ subject: 'CN=Under SHA1 CA,C=UZ', issuer: sha1Ca });
    assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [sha1Ca] }), 'weak_algorithm', /SHA1 Signed CA/);
    const sha1Leaf = await issue({ subject: 'CN=SHA1 Leaf,C=UZ', issuer: ca, hash: 'SHA-1' });
    assert.equal(sha1Leaf.cert.signatureAlgorithm.oid, OID.ecdsaWithSHA1);
    assertCode(() => run({ leaf: sha1Leaf, anchors: [root], intermediates: [ca] }), 'weak_algorithm');
  });

  it('45: RSA below 2048 bits is weak, on the leaf and on a CA', async () => {
    const small = await issue({ subject: 'CN=Small Key,C=UZ', issuer: ca, key: 'rsa1024' });
    assertCode(() => run({ leaf: small, anchors: [root], intermediates: [ca] }), 'weak_algorithm', /1024 bits/);
    const smallCa = await issue({ subject: 'CN=Small CA,C=UZ', issuer: root, ca: true, key: 'rsa1024' });
    const citizen = await issue({ subject: 'CN=Under Small CA,C=UZ', issuer: smallCa });
    assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [smallCa] }), 'weak_algorithm', /1024 bits/);
  });

  it('46: an unlisted curve or explicit EC parameters are weak', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yagona-ec-'));
    const spkiOf = (args: string[]): Uint8Array => {
      execFileSync('openssl', ['ecparam', ...args, '-genkey', '-noout', '-out', join(dir, 'k.pem')]);
      execFileSync('openssl', ['pkey', '-in', join(dir, 'k.pem'), '-pubout', '-outform', 'DER', '-out', join(dir, 'k.der')]);
      return new Uint8Array(readFileSync(join(dir, 'k.der')));
    };
    for (const [label, args] of [['secp256k1', ['-name', 'secp256k1']], ['explicit', ['-name', 'prime256v1', '-param_enc', 'explicit']]] as const) {
      const citizen = await issue({ subject: `CN=Curve ${label},C=UZ`, issuer: ca, spki: spkiOf([...args]) });
      assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [ca] }), 'weak_algorithm', /EC/);
    }
  });

  it('47: a 16384-bit RSA key in the chain is refused by the size cap before any signature check', async () => {
    // Not a real key: the cap must act on the size alone, before the slow verification.
    const modulus = Uint8Array.from({ length: 2048 }, (_, i) => (i === 0 ? 0xc1 : (i * 7 + 13) & 0xff));
    const rsaKey = tlv(0x30, tlv(0x02, Uint8Array.of(0), modulus), tlv(0x02, Uint8Array.of(1, 0, 1)));
    const spki = tlv(0x30, tlv(0x30, tlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01)), Uint8Array.of(5, 0)), tlv(0x03, Uint8Array.of(0), rsaKey));
    const big = await issue({ subject: 'CN=Huge Key CA,C=UZ', issuer: root, ca: true, spki });
    const bigIssued: Issued = { ...big, keys: ca.keys, kind: ca.kind };
    const citizens = await Promise.all([1, 2, 3, 4, 5].map((i) => issue({ subject: `CN=Huge ${i},C=UZ`, issuer: bigIssued })));
    assertCpuBelow(250, () => {
      for (const citizen of citizens) {
        assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [big, big, big, big, big] }), 'weak_algorithm', /16392 bits|8192-bit cap/);
      }
    });
  });

  it('48: a cross-certificate loop and a pool of 500 duplicates end quickly in a rejection', async () => {
    const a = await issue({ subject: 'CN=Loop A,C=UZ', ca: true, keySlot: 'loop-a' });
    const b = await issue({ subject: 'CN=Loop B,C=UZ', issuer: a, ca: true, keySlot: 'loop-b' });
    const aByB = await issue({ subject: 'CN=Loop A,C=UZ', issuer: b, ca: true, keySlot: 'loop-a' });
    const citizen = await issue({ subject: 'CN=Loop Citizen,C=UZ', issuer: b });
    assertCpuBelow(100, () => {
      assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: [a, b, aByB] }), 'certificate_untrusted');
      assertCode(() => run({ leaf: citizen, anchors: [root], intermediates: Array.from({ length: 500 }, (_, i) => [a, b, aByB][i % 3]!) }), 'certificate_untrusted');
    });
  });

  it('49: a CA with the same name but another key does not bind the leaf; differently encoded equal names do', async () => {
    const impostor = await issue({ subject: 'CN=Test Citizen CA,O=Yagona Test,C=UZ', issuer: root, ca: true, keySlot: 'impostor' });
    const victim = await issue({ subject: 'CN=Victim,C=UZ', issuer: impostor });
    assertCode(() => run({ leaf: victim, anchors: [root], intermediates: [ca] }), 'certificate_untrusted', /does not verify/);
    // Same key as the citizen CA, name differing only in case and spacing (RFC 5280 §7.1).
    const renamed = await issue({ subject: 'CN=test  citizen ca,O=YAGONA TEST,C=uz', issuer: root, ca: true, keySlot: ca.name });
    run({ leaf, anchors: [root], intermediates: [renamed] });
  });

  it('a CA certificate as the leaf is not a sign-in credential', () => {
    assertCode(() => run({ leaf: ca, anchors: [root] }), 'certificate_usage_invalid', /CA certificate/);
  });
});

describe('validate: path building', () => {
  it('tries an alternative issuer when the first candidate fails', async () => {
    const expiredTwin = await issue({ subject: 'CN=Test Citizen CA,O=Yagona Test,C=UZ', issuer: root, ca: true, keySlot: ca.name, notAfter: new Date(now.getTime() - day) });
    const path = run({ leaf, anchors: [root], intermediates: [expiredTwin, ca] });
    assert.deepEqual(path.intermediates.map((c) => c.sha256), [ca.cert.sha256], 'the path goes through the valid CA, not its expired twin');
  });

  it('limits the number of intermediates (self-issued ones excepted)', async () => {
    let issuer = root;
    const chain: Issued[] = [];
    for (let i = 0; i < 4; i++) {
      issuer = await issue({ subject: `CN=Level ${i},C=UZ`, issuer, ca: true });
      chain.push(issuer);
    }
    const deep = await issue({ subject: 'CN=Deep,C=UZ', issuer });
    run({ leaf: deep, anchors: [root], intermediates: chain });
    assertCode(() => run({ leaf: deep, anchors: [root], intermediates: chain, maxDepth: 3 }), 'certificate_untrusted', /exceed 3/);
  });

  it('reports the most telling failure of the candidate paths', () => {
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], at: new Date(now.getTime() + 2 * 365 * day) }), 'certificate_expired');
  });
});

describe('validate: name constraints', () => {
  const nc = (permitted: Uint8Array[], excluded: Uint8Array[] = []) => {
    const parts = [];
    if (permitted.length > 0) parts.push(tlv(0xa0, ...permitted.map((b) => tlv(0x30, b))));
    if (excluded.length > 0) parts.push(tlv(0xa1, ...excluded.map((b) => tlv(0x30, b))));
    return new x509.Extension(OID.nameConstraints, true, tlv(0x30, ...parts));
  };

  it('constraints on the trust anchor bind the whole path (DN subtree)', async () => {
    const permittedDn = tlv(0xa4, new Uint8Array(new x509.Name('C=UZ,O=Yagona Test').toArrayBuffer()));
    const constrainedRoot = await issue({ subject: 'CN=Constrained Root,C=UZ', ca: true, extensions: [nc([permittedDn])] });
    // @peculiar/x509 encodes a name string in the order written: most significant RDN first here.
    const inside = await issue({ subject: 'C=UZ,O=Yagona Test,CN=Inside CA', issuer: constrainedRoot, ca: true });
    const citizenIn = await issue({ subject: 'C=UZ,O=Yagona Test,CN=Inside Citizen', issuer: inside });
    run({ leaf: citizenIn, anchors: [constrainedRoot], intermediates: [inside] });
    const citizenOut = await issue({ subject: 'C=UZ,O=Elsewhere,CN=Outside Citizen', issuer: inside });
    assertCode(() => run({ leaf: citizenOut, anchors: [constrainedRoot], intermediates: [inside] }), 'certificate_untrusted', /name constraints/);
  });

  it('excluded email domains, DNS names and IP ranges in an intermediate', async () => {
    const excluded = nc([], [tlv(0x81, ascii('evil.example')), tlv(0x82, ascii('evil.example')), tlv(0x87, Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0))]);
    const guarded = await issue({ subject: 'CN=Guarded CA,C=UZ', issuer: root, ca: true, extensions: [excluded] });
    const ok = await issue({ subject: 'CN=Good Mail,C=UZ', issuer: guarded, san: [{ type: 'email', value: 'a@good.example' }] });
    run({ leaf: ok, anchors: [root], intermediates: [guarded] });
    for (const [label, san] of [
      ['email', { type: 'email', value: 'a@evil.example' }],
      ['dns', { type: 'dns', value: 'www.evil.example' }],
      ['ip', { type: 'ip', value: '10.1.2.3' }],
    ] as const) {
      const bad = await issue({ subject: `CN=Bad ${label},C=UZ`, issuer: guarded, san: [san] });
      assertCode(() => run({ leaf: bad, anchors: [root], intermediates: [guarded] }), 'certificate_untrusted', /excluded/);
    }
    const legacy = await issue({ subject: 'CN=Legacy,E=x@evil.example,C=UZ', issuer: guarded });
    assertCode(() => run({ leaf: legacy, anchors: [root], intermediates: [guarded] }), 'certificate_untrusted', /excluded/);
  });
});

describe('validate: certificate policies', () => {
  it('requireExplicitPolicy demands an acceptable policy in the path', async () => {
    const p1 = '1.2.860.3.2.1';
    const requireExplicit = new x509.Extension(OID.policyConstraints, true, tlv(0x30, tlv(0x80, Uint8Array.of(0))));
    const policyCa = await issue({ subject: 'CN=Policy CA,C=UZ', issuer: root, ca: true, extensions: [requireExplicit, new x509.CertificatePolicyExtension([p1])] });
    const withPolicy = await issue({ subject: 'CN=With Policy,C=UZ', issuer: policyCa, extensions: [new x509.CertificatePolicyExtension([p1])] });
    const path = run({ leaf: withPolicy, anchors: [root], intermediates: [policyCa] });
    assert.deepEqual(path.policies, [p1]);
    const without = await issue({ subject: 'CN=Without Policy,C=UZ', issuer: policyCa });
    assertCode(() => run({ leaf: without, anchors: [root], intermediates: [policyCa] }), 'certificate_untrusted', /policy/);
    assertCode(() => run({ leaf: withPolicy, anchors: [root], intermediates: [policyCa], policy: { initialPolicySet: ['1.2.860.3.2.99'] } }), 'certificate_untrusted', /policy/);
  });
});

describe('validate: CRLs', () => {
  it('a revoked leaf is certificate_revoked; a clean CRL set passes', async () => {
    const clean = [await crlFor(root), await crlFor(ca)];
    run({ leaf, anchors: [root], intermediates: [ca], crls: clean });
    const revoking = [await crlFor(root), await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.keyCompromise }] })];
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], crls: revoking }), 'certificate_revoked', /keyCompromise/);
  });

  it('a revoked intermediate revokes the path', async () => {
    const crls = [await crlFor(root, { revoked: [{ cert: ca }] }), await crlFor(ca)];
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], crls }), 'certificate_revoked', /Citizen CA/);
  });

  it('stale, forged or missing CRLs leave the status unknown', async () => {
    const rootCrl = await crlFor(root);
    const stale = await crlFor(ca, { thisUpdate: new Date(now.getTime() - 10 * day), nextUpdate: new Date(now.getTime() - day) });
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], crls: [rootCrl, stale] }), 'revocation_unknown', /stale/);
    const forged = await crlFor(ca, { signWith: leaf });
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], crls: [rootCrl, forged] }), 'revocation_unknown', /not signed/);
    assertCode(() => run({ leaf, anchors: [root], intermediates: [ca], crls: [rootCrl] }), 'revocation_unknown', /no usable CRL/);
  });
});

describe('createTrustStore', () => {
  it('parses PEM or DER once and validates with configured and supplied intermediates', () => {
    const anchors = parseCertificatesFromPemOrDer(Buffer.from(pem(root.der)));
    const store = createTrustStore({ anchors, intermediates: [ca.der] });
    assert.equal(store.anchors.length, 1);
    store.validate({ leaf: leaf.cert, at: now });
    const bare = createTrustStore({ anchors: [root.der], intermediates: [] });
    assertCode(() => bare.validate({ leaf: leaf.cert, at: now }), 'certificate_untrusted');
    bare.validate({ leaf: leaf.cert, intermediates: [ca.cert], at: now });
  });
});
