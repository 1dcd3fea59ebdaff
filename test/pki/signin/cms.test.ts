// openCms: every CMS shape the sign-in accepts, made by `openssl cms -sign` where OpenSSL can
// make it, and every docs/security-cases.md §A/§B input that reaches the CMS layer, each asserting
// its error code.
import assert from 'node:assert/strict';
import { constants, createHash, privateEncrypt, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cmsOid, openCms } from '../../../src/pki/signin/cms.ts';
import { pssParameters } from '../../../src/pki/algorithms/encodings.ts';
import { attribute, signCms, type SignCmsOptions } from '../../../src/pki/issue/cmsSign.ts';
import { constructedOctetString, indefinite } from '../../../src/pki/issue/ber.ts';
import { parseDer, readOid, type DerNode } from '../../../src/pki/asn1/der.ts';
import {
  algorithmIdentifier, concat, contextConstructed, integer, nullValue, octetString, oid, sequence, tlv,
} from '../../../src/pki/asn1/derWrite.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { createTestPki, type TestCert, type TestPki } from '../../helpers/opensslPki.ts';
import { assertCode } from '../../helpers/assertions.ts';

const challenge = new TextEncoder().encode(
  'Yagona ID sign-in for http://localhost:8080 · nonce 3q2+7w6J1cY0Qm9Zk8xv2Lr4Tn5Ws1Pa',
);

const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4'; // RFC 3161 §2.4.2

let pki: TestPki;
const keys = {} as Record<'rsa' | 'p256' | 'p384' | 'p521' | 'ed25519' | 'rsa1024' | 'k256' | 'rsaE3', TestCert>;

before(() => {
  pki = createTestPki();
  keys.rsa = pki.leaf('rsa', 'rsa2048');
  keys.p256 = pki.leaf('p256', 'p256');
  keys.p384 = pki.leaf('p384', 'p384');
  keys.p521 = pki.leaf('p521', 'p521');
  keys.ed25519 = pki.leaf('ed25519', 'ed25519');
  keys.rsa1024 = pki.leaf('rsa1024', 'rsa1024');
  keys.k256 = pki.leaf('k256', 'secp256k1');
  keys.rsaE3 = pki.leaf('rsaE3', 'rsa2048e3');
});
after(() => pki.cleanup());


/** signCms with the test challenge and the signer's certificate. */
function cmsBy(signer: TestCert, options: Partial<SignCmsOptions> = {}): Uint8Array {
  return signCms({ content: challenge, signerCertDer: signer.certDer, privateKey: signer.privateKey, ...options });
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Re-encodes `der` with the node at `path` (child indices from the root) replaced by
 * `replacement` bytes, or removed when `replacement` is undefined; ancestors get fresh
 * lengths. Lets a test change one field of an otherwise valid CMS.
 */
function edit(der: Uint8Array, path: number[], replacement: Uint8Array | undefined): Uint8Array {
  const rebuild = (node: DerNode, rest: number[]): Uint8Array | undefined => {
    if (rest.length === 0) return replacement;
    const [index, ...deeper] = rest as [number, ...number[]];
    const children = node.children.map((child, i) => (i === index ? rebuild(child, deeper) : child.bytes));
    return tlv(node.tag, ...children.filter((child): child is Uint8Array => child !== undefined));
  };
  return rebuild(parseDer(der), path)!;
}

function nodeAt(der: Uint8Array, path: number[]): DerNode {
  return path.reduce((node, index) => node.children[index]!, parseDer(der));
}

// Paths into ContentInfo → [0] → SignedData → …, as signCms lays them out (no crls).
const SIGNED_DATA = [1, 0];
const VERSION = [...SIGNED_DATA, 0];
const DIGEST_ALGORITHMS = [...SIGNED_DATA, 1];
const E_CONTENT = [...SIGNED_DATA, 2, 1, 0];
const CERTIFICATES = [...SIGNED_DATA, 3];
const SIGNER_INFO = [...SIGNED_DATA, 4, 0];
const SI_DIGEST_ALGORITHM = [...SIGNER_INFO, 2];
const SIGNED_ATTRS = [...SIGNER_INFO, 3];
const SIGNATURE_NO_ATTRS = [...SIGNER_INFO, 4];

describe('openCms accepts what OpenSSL signs', () => {
  const shapes: Array<{ name: string; key: keyof typeof keys; args: string[]; signatureAlgorithm: string; digest: string }> = [
    { name: 'RSA, detached, signed attributes', key: 'rsa', args: [], signatureAlgorithm: OID.sha256WithRSAEncryption, digest: OID.sha256 },
    { name: 'RSA, attached', key: 'rsa', args: ['-nodetach'], signatureAlgorithm: OID.sha256WithRSAEncryption, digest: OID.sha256 },
    { name: 'RSA, detached, -noattr', key: 'rsa', args: ['-noattr'], signatureAlgorithm: OID.sha256WithRSAEncryption, digest: OID.sha256 },
    { name: 'RSA, attached, -noattr', key: 'rsa', args: ['-nodetach', '-noattr'], signatureAlgorithm: OID.sha256WithRSAEncryption, digest: OID.sha256 },
    { name: 'RSA, SHA-512', key: 'rsa', args: ['-md', 'sha512'], signatureAlgorithm: OID.sha512WithRSAEncryption, digest: OID.sha512 },
    { name: 'RSA, subjectKeyIdentifier sid (-keyid)', key: 'rsa', args: ['-keyid', '-nodetach'], signatureAlgorithm: OID.sha256WithRSAEncryption, digest: OID.sha256 },
    // RSA-PSS with every salt length OpenSSL offers (RFC 4055 §3.1: the parameters state it).
    ...['digest', 'max', '0', '20'].flatMap((salt) => [
      {
        name: `RSA-PSS, salt ${salt}, detached`, key: 'rsa' as const,
        args: ['-keyopt', 'rsa_padding_mode:pss', '-keyopt', `rsa_pss_saltlen:${salt}`],
        signatureAlgorithm: OID.rsassaPss, digest: OID.sha256,
      },
      {
        name: `RSA-PSS, salt ${salt}, attached, -noattr`, key: 'rsa' as const,
        args: ['-nodetach', '-noattr', '-keyopt', 'rsa_padding_mode:pss', '-keyopt', `rsa_pss_saltlen:${salt}`],
        signatureAlgorithm: OID.rsassaPss, digest: OID.sha256,
      },
    ]),
    {
      name: 'RSA-PSS as OpenSSL 3.0 signs by default (maximum salt), SHA-512', key: 'rsa',
      args: ['-md', 'sha512', '-keyopt', 'rsa_padding_mode:pss'], signatureAlgorithm: OID.rsassaPss, digest: OID.sha512,
    },
    { name: 'EC P-256', key: 'p256', args: [], signatureAlgorithm: OID.ecdsaWithSHA256, digest: OID.sha256 },
    { name: 'EC P-256, attached, -noattr', key: 'p256', args: ['-nodetach', '-noattr'], signatureAlgorithm: OID.ecdsaWithSHA256, digest: OID.sha256 },
    { name: 'EC P-384, SHA-384', key: 'p384', args: ['-md', 'sha384', '-nodetach'], signatureAlgorithm: OID.ecdsaWithSHA384, digest: OID.sha384 },
    { name: 'EC P-384, -noattr', key: 'p384', args: ['-noattr'], signatureAlgorithm: OID.ecdsaWithSHA256, digest: OID.sha256 },
    { name: 'EC P-521, SHA-512', key: 'p521', args: ['-md', 'sha512'], signatureAlgorithm: OID.ecdsaWithSHA512, digest: OID.sha512 },
    { name: 'EC P-521, -keyid, -noattr', key: 'p521', args: ['-keyid', '-noattr', '-nodetach'], signatureAlgorithm: OID.ecdsaWithSHA256, digest: OID.sha256 },
  ];
  for (const shape of shapes) {
    it(shape.name, () => {
      const signer = keys[shape.key];
      const cms = pki.cmsSign(signer, challenge, shape.args);
      assert.equal(pki.cmsVerify(cms, challenge), true, 'OpenSSL itself verifies the fixture');
      const evidence = openCms(cms, challenge);
      assert.equal(evidence.signer.sha256, sha256Hex(signer.certDer));
      assert.equal(evidence.certificates.length, 1);
      assert.equal(evidence.signatureAlgorithm, shape.signatureAlgorithm);
      assert.equal(evidence.digestAlgorithm, shape.digest);
    });
  }

  it('OpenSSL CMS with the root in the bag: all certificates returned, the signer picked by sid', () => {
    const cms = pki.cmsSign(keys.p256, challenge, ['-certfile', pki.root.certPath, '-nodetach']);
    const evidence = openCms(cms, challenge);
    assert.equal(evidence.certificates.length, 2);
    assert.equal(evidence.signer.sha256, sha256Hex(keys.p256.certDer));
  });

  it('RSA-PSS is verified with exactly the salt length its parameters state, whatever the signer used', () => {
    const maximum = pki.cmsSign(keys.rsa, challenge, ['-keyopt', 'rsa_padding_mode:pss']);
    const signatureAlgorithm = [...SIGNER_INFO, 4];
    assert.equal(readOid(nodeAt(maximum, [...signatureAlgorithm, 0])), OID.rsassaPss);
    for (const stated of [32, 221, 0]) {
      const restated = edit(maximum, signatureAlgorithm, algorithmIdentifier(OID.rsassaPss, pssParameters('sha256', stated)));
      assertCode(() => openCms(restated, challenge), 'signature_invalid');
    }
    assert.equal(openCms(edit(maximum, signatureAlgorithm, algorithmIdentifier(OID.rsassaPss, pssParameters('sha256', 222))), challenge).signatureAlgorithm, OID.rsassaPss);
  });
});

describe('openCms accepts what signCms signs', () => {
  // OpenSSL 3.0 cannot sign CMS with Ed25519 ("eddsa_digest_signverify_init: invalid digest"),
  // so Ed25519 (RFC 8419) comes from signCms only.
  const cases: Array<{ name: string; key: keyof typeof keys; options: Partial<SignCmsOptions>; signatureAlgorithm: string }> = [
    { name: 'Ed25519 with signed attributes', key: 'ed25519', options: {}, signatureAlgorithm: OID.ed25519 },
    { name: 'Ed25519 without signed attributes, detached', key: 'ed25519', options: { signedAttributes: false, detached: true }, signatureAlgorithm: OID.ed25519 },
    { name: 'RSA-PSS SHA-384', key: 'rsa', options: { pss: true, digest: 'sha384' }, signatureAlgorithm: OID.rsassaPss },
    { name: 'RSA PKCS#1 v1.5 SHA-512, sid by SKI', key: 'rsa', options: { digest: 'sha512', sid: 'subjectKeyIdentifier' }, signatureAlgorithm: OID.sha512WithRSAEncryption },
    { name: 'EC P-384 SHA-384 detached', key: 'p384', options: { digest: 'sha384', detached: true }, signatureAlgorithm: OID.ecdsaWithSHA384 },
    { name: 'EC P-521 SHA-512 without attributes', key: 'p521', options: { digest: 'sha512', signedAttributes: false }, signatureAlgorithm: OID.ecdsaWithSHA512 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cms = cmsBy(keys[c.key], { extraCertDers: [pki.root.certDer], ...c.options });
      const evidence = openCms(cms, challenge);
      assert.equal(evidence.signer.sha256, sha256Hex(keys[c.key].certDer));
      assert.equal(evidence.certificates.length, 2);
      assert.equal(evidence.signatureAlgorithm, c.signatureAlgorithm);
    });
  }

  it('signCms output verifies in OpenSSL too (RSA, RSA-PSS, ECDSA)', () => {
    for (const cms of [cmsBy(keys.rsa), cmsBy(keys.rsa, { pss: true }), cmsBy(keys.p384, { digest: 'sha384', signedAttributes: false })]) {
      assert.equal(pki.cmsVerify(cms, challenge), true);
    }
  });

  it('openCms judges the CMS only: a self-signed signer passes here and is left to path validation (§B 14)', () => {
    const attacker = pki.leaf('self-signed', 'p256', { selfSigned: true });
    assert.equal(openCms(cmsBy(attacker), challenge).signer.sha256, sha256Hex(attacker.certDer));
  });

  it('embedded revocation data is ignored, never read (§B 26)', () => {
    const fakeCrl = sequence(sequence(integer(1)), sequence(oid(OID.sha256WithRSAEncryption)));
    const ocspGood = contextConstructed(1, oid('1.3.6.1.5.5.7.16.2'), sequence(integer(0)));
    assert.ok(openCms(cmsBy(keys.p256, { tamper: { revocationInfo: [fakeCrl] } }), challenge));
    // RFC 5652 §5.1: "other" revocation info makes the SignedData version 5.
    assert.ok(openCms(cmsBy(keys.p256, { tamper: { revocationInfo: [ocspGood], signedDataVersion: 5 } }), challenge));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { revocationInfo: [ocspGood] } }), challenge), 'malformed_signature');
  });
});

describe('openCms refuses hostile DER (docs/security-cases.md §A)', () => {
  it('#1 ten thousand nested SEQUENCEs', () => {
    let nested: Uint8Array = Uint8Array.of(0x30, 0x00);
    for (let i = 0; i < 10_000; i++) nested = sequence(nested);
    assertCode(() => openCms(nested, challenge), 'malformed_signature');
  });

  it('#2 a certificates field holding 20,000 elements', () => {
    const wide = tlv(0xa0, ...Array.from({ length: 20_000 }, () => nullValue()));
    assertCode(() => openCms(edit(cmsBy(keys.p256), CERTIFICATES, wide), challenge), 'malformed_signature');
  });

  it('#3 a long-form tag with endless continuation octets (256 KiB, and 40 KiB under the size cap)', () => {
    for (const size of [256 * 1024, 40 * 1024]) {
      const tag = new Uint8Array(size).fill(0x81);
      tag[0] = 0x1f;
      tag[size - 2] = 0x01;
      tag[size - 1] = 0x00;
      assertCode(() => openCms(tag, challenge), 'malformed_signature');
    }
  });

  it('#4 an OID of 40,000 arcs (under the size cap) is read in linear time and is not id-data', () => {
    const longOid = `1.2.${Array.from({ length: 40_000 }, () => '1').join('.')}`;
    assertCode(() => openCms(cmsBy(keys.p256, { signedAttributes: false, tamper: { eContentType: longOid, signedDataVersion: 1 } }), challenge), 'malformed_signature');
  });

  it('#5 an OID arc of 2^32 + 1 is not truncated into id-data', () => {
    const aliased = `${cmsOid.data.slice(0, -2)}.${2 ** 32 + 1}`;
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { eContentType: aliased, signedDataVersion: 1 } }), challenge), 'malformed_signature');
  });

  it('#6 trailing bytes after a valid CMS', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { trailingBytes: Uint8Array.of(0) } }), challenge), 'malformed_signature');
    assertCode(() => openCms(concat(pki.cmsSign(keys.rsa, challenge, ['-nodetach']), Uint8Array.of(0x05, 0x00)), challenge), 'malformed_signature');
  });

  it('#7 BER in the outer SignedData is accepted (RFC 5652 §2): OpenSSL -stream and E-IMZO-style indefinite lengths, attached and detached', () => {
    const streamed = pki.cmsSign(keys.p256, challenge, ['-nodetach', '-stream']);
    assert.equal(streamed[1], 0x80, 'OpenSSL -stream writes an indefinite ContentInfo');
    assert.deepEqual(openCms(streamed, challenge).signer.der, keys.p256.certDer);
    for (const detached of [false, true]) {
      assert.deepEqual(openCms(cmsBy(keys.p256, { encoding: 'ber', detached }), challenge).signer.der, keys.p256.certDer);
    }
    // Attached content in many segments, as a streaming producer writes a long one.
    const segmented = edit(cmsBy(keys.p256), E_CONTENT, constructedOctetString(challenge, 7));
    assert.deepEqual(openCms(segmented, challenge).signer.der, keys.p256.certDer);
  });

  it('#7 BER where DER is due is refused: signed attributes, a certificate, the attributes\' values, a primitive with an indefinite length', () => {
    const signedAttrs = nodeAt(cmsBy(keys.p256), SIGNED_ATTRS);
    assertCode(() => openCms(edit(cmsBy(keys.p256), SIGNED_ATTRS, indefinite(0xa0, ...signedAttrs.children.map((a) => a.bytes))), challenge), 'malformed_signature');
    const certificate = nodeAt(cmsBy(keys.p256), [...CERTIFICATES, 0]);
    assertCode(() => openCms(edit(cmsBy(keys.p256), [...CERTIFICATES, 0], indefinite(0x30, ...certificate.children.map((c) => c.bytes))), challenge), 'malformed_signature');
    // A messageDigest value as a constructed OCTET STRING, inside otherwise DER attributes.
    const digest = createHash('sha256').update(challenge).digest();
    const chunkedDigest = attribute(cmsOid.messageDigest, tlv(0x24, octetString(digest.subarray(0, 16)), octetString(digest.subarray(16))));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { omitAttributes: ['messageDigest'], extraAttributes: [chunkedDigest] } }), challenge), 'malformed_signature');
    assertCode(() => openCms(edit(cmsBy(keys.p256), VERSION, Uint8Array.of(0x02, 0x80, 0x01, 0x00, 0x00)), challenge), 'malformed_signature');
  });

  it('#7 BER: non-minimal length octets (81 01 for a one-byte INTEGER)', () => {
    const cms = edit(cmsBy(keys.p256), VERSION, Uint8Array.of(0x02, 0x81, 0x01, 0x01));
    assertCode(() => openCms(cms, challenge), 'malformed_signature');
  });

  it('#7 BER bounds: unterminated indefinite values, end-of-contents in the middle, a constructed OCTET STRING of other things', () => {
    const ber = cmsBy(keys.p256, { encoding: 'ber' });
    assertCode(() => openCms(ber.subarray(0, ber.length - 2), challenge), 'malformed_signature');
    assertCode(() => openCms(concat(ber.subarray(0, 4), Uint8Array.of(0, 0), ber.subarray(4)), challenge), 'malformed_signature');
    assertCode(() => openCms(edit(cmsBy(keys.p256), E_CONTENT, tlv(0x24, integer(1))), challenge), 'malformed_signature');
    // Ten thousand nested indefinite SEQUENCEs end at the depth limit, as the DER ones do (#1).
    const deep = concat(...Array.from({ length: 10_000 }, () => Uint8Array.of(0x30, 0x80)), ...Array.from({ length: 10_000 }, () => Uint8Array.of(0, 0)));
    assertCode(() => openCms(deep, challenge), 'malformed_signature');
  });

  it('#8 a length of 84 FF FF FF FF, and a length past the buffer', () => {
    assertCode(() => openCms(Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01), challenge), 'malformed_signature');
    const cms = cmsBy(keys.p256);
    assertCode(() => openCms(cms.subarray(0, cms.length - 1), challenge), 'malformed_signature');
  });

  it('#9 extra elements inside the digest AlgorithmIdentifier', () => {
    const padded = sequence(oid(OID.sha256), nullValue(), nullValue());
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { digestAlgorithm: padded } }), challenge), 'malformed_signature');
    const withParameters = sequence(oid(OID.sha256), integer(1));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { digestAlgorithm: withParameters } }), challenge), 'malformed_signature');
  });

  it('#9 signedAttrs under the wrong tag (universal SET, application class, primitive [0])', () => {
    const cms = cmsBy(keys.p256);
    const attrs = nodeAt(cms, SIGNED_ATTRS);
    for (const tag of [0x31, 0x60, 0x80]) {
      const retagged = concat(Uint8Array.of(tag), attrs.bytes.subarray(1));
      assertCode(() => openCms(edit(cms, SIGNED_ATTRS, retagged), challenge), 'malformed_signature');
    }
  });

  it('#10 inputs that are not a CMS: empty, a certificate, a bare SEQUENCE, random bytes', () => {
    for (const input of [new Uint8Array(0), keys.p256.certDer, Uint8Array.of(0x30, 0x00), Uint8Array.of(0xde, 0xad, 0xbe, 0xef)]) {
      assertCode(() => openCms(input, challenge), 'malformed_signature');
    }
  });

  it('a CMS larger than any sign-in body', () => {
    assertCode(() => openCms(new Uint8Array(48 * 1024 + 1), challenge), 'malformed_signature');
  });
});

describe('openCms enforces the CMS policy (docs/security-cases.md §B)', () => {
  it('#15 a bit-flipped signature, with and without signed attributes', () => {
    for (const signer of [keys.rsa, keys.p256, keys.ed25519]) {
      assertCode(() => openCms(cmsBy(signer, { tamper: { flipSignatureBit: true } }), challenge), 'signature_invalid');
      assertCode(() => openCms(cmsBy(signer, { signedAttributes: false, tamper: { flipSignatureBit: true } }), challenge), 'signature_invalid');
    }
  });

  it('#16 eContentType id-ct-TSTInfo', () => {
    const cms = cmsBy(keys.p256, { tamper: { eContentType: ID_CT_TSTINFO } });
    assertCode(() => openCms(cms, challenge), 'malformed_signature');
  });

  it('#17 messageDigest that is not H(content)', () => {
    const wrong = createHash('sha256').update('another challenge').digest();
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { messageDigest: wrong } }), challenge), 'signature_invalid');
  });

  it('#18 content-type attribute differing from eContentType', () => {
    const cms = cmsBy(keys.p256, { tamper: { contentTypeAttribute: cmsOid.signedData } });
    assertCode(() => openCms(cms, challenge), 'malformed_signature');
  });

  it('#19 signed attributes without content-type, or without messageDigest', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { omitAttributes: ['contentType'] } }), challenge), 'malformed_signature');
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { omitAttributes: ['messageDigest'] } }), challenge), 'malformed_signature');
  });

  it('#20 two messageDigest attributes, or one with two values', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { duplicateMessageDigest: 'attribute' } }), challenge), 'malformed_signature');
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { duplicateMessageDigest: 'value' } }), challenge), 'malformed_signature');
  });

  it('#20 any other signed attribute twice, or with no value', () => {
    const signingTime = attribute('1.2.840.113549.1.9.5', tlv(0x17, new TextEncoder().encode('260101000000Z')));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { extraAttributes: [signingTime, signingTime] } }), challenge), 'malformed_signature');
    const empty = sequence(oid('1.2.840.113549.1.9.5'), tlv(0x31));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { extraAttributes: [empty] } }), challenge), 'malformed_signature');
    assert.ok(openCms(cmsBy(keys.p256, { tamper: { extraAttributes: [signingTime] } }), challenge));
  });

  it('#21 signedAttrs not in DER SET OF order, even though the signature covers those bytes', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { unsortedAttributes: true } }), challenge), 'malformed_signature');
  });

  it('#22 a valid signature over a different challenge: attached and detached', () => {
    const other = new TextEncoder().encode('an older challenge');
    const attached = signCms({ content: other, signerCertDer: keys.p256.certDer, privateKey: keys.p256.privateKey });
    assertCode(() => openCms(attached, challenge), 'signature_invalid');
    const detached = pki.cmsSign(keys.rsa, other, []);
    assertCode(() => openCms(detached, challenge), 'signature_invalid');
    const detachedNoAttrs = pki.cmsSign(keys.rsa, other, ['-noattr']);
    assertCode(() => openCms(detachedNoAttrs, challenge), 'signature_invalid');
  });

  it('#22 attached content that is the challenge plus one byte', () => {
    const longer = concat(challenge, Uint8Array.of(0x20));
    const cms = signCms({ content: longer, signerCertDer: keys.p256.certDer, privateKey: keys.p256.privateKey });
    assertCode(() => openCms(cms, challenge), 'signature_invalid');
  });

  it('#23 a detached CMS is verified against the server challenge', () => {
    assert.ok(openCms(cmsBy(keys.p256, { detached: true }), challenge));
    assertCode(() => openCms(cmsBy(keys.p256, { detached: true }), new TextEncoder().encode('other')), 'signature_invalid');
  });

  it('#24 two SignerInfos (the same twice, or a second one from another key)', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { secondSignerInfo: true } }), challenge), 'malformed_signature');
    const other = nodeAt(cmsBy(keys.p384), SIGNER_INFO).bytes;
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { secondSignerInfo: other } }), challenge), 'malformed_signature');
  });

  it('#25 two certificates in the bag matching the sid (issuer+serial, SKI, or the same one twice)', () => {
    const victim = pki.leaf('victim', 'p256', { serial: 0x7777 });
    const attacker = pki.leaf('attacker', 'p256', { serial: 0x7777 });
    const byIssuerSerial = cmsBy(attacker, { extraCertDers: [victim.certDer] });
    assertCode(() => openCms(byIssuerSerial, challenge), 'malformed_signature');
    const sameKey = pki.leaf('same-key', 'p256', { keyOf: keys.p256 });
    const bySki = cmsBy(keys.p256, { sid: 'subjectKeyIdentifier', extraCertDers: [sameKey.certDer] });
    assertCode(() => openCms(bySki, challenge), 'malformed_signature');
    assertCode(() => openCms(cmsBy(keys.p256, { extraCertDers: [keys.p256.certDer] }), challenge), 'malformed_signature');
  });

  it('no certificate matching the sid, or no certificates at all', () => {
    const onlyRoot = edit(cmsBy(keys.p256), CERTIFICATES, tlv(0xa0, pki.root.certDer));
    assertCode(() => openCms(onlyRoot, challenge), 'malformed_signature');
    const noBag = edit(cmsBy(keys.p256), CERTIFICATES, undefined);
    assertCode(() => openCms(noBag, challenge), 'malformed_signature');
  });

  it('more than eight certificates, or more than sixteen signed attributes', () => {
    const many = Array.from({ length: 8 }, () => pki.root.certDer);
    assertCode(() => openCms(cmsBy(keys.p256, { extraCertDers: many }), challenge), 'malformed_signature');
    const extra = Array.from({ length: 15 }, (_, i) => attribute(`1.3.6.1.4.1.99999.${i}`, nullValue()));
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { extraAttributes: extra } }), challenge), 'malformed_signature');
  });

  it('#27 MD5 and SHA-1 digests are weak (OpenSSL -md sha1 / md5)', () => {
    assertCode(() => openCms(pki.cmsSign(keys.rsa, challenge, ['-md', 'sha1']), challenge), 'weak_algorithm');
    assertCode(() => openCms(pki.cmsSign(keys.rsa, challenge, ['-md', 'md5', '-noattr']), challenge), 'weak_algorithm');
  });

  it('#27 SHA-224, an unknown digest, DSA: unsupported', () => {
    assertCode(() => openCms(pki.cmsSign(keys.p256, challenge, ['-md', 'sha224']), challenge), 'unsupported_algorithm');
    const unknown = algorithmIdentifier('1.3.6.1.4.1.99999.1');
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { digestAlgorithm: unknown } }), challenge), 'unsupported_algorithm');
    const dsa = algorithmIdentifier(OID.dsaWithSHA256);
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { signatureAlgorithm: dsa } }), challenge), 'unsupported_algorithm');
  });

  it('#27 sha1WithRSAEncryption as the signature algorithm', () => {
    const sha1Rsa = algorithmIdentifier(OID.sha1WithRSAEncryption, nullValue());
    assertCode(() => openCms(cmsBy(keys.rsa, { tamper: { signatureAlgorithm: sha1Rsa } }), challenge), 'weak_algorithm');
  });

  it('#28 ecdsa-with-SHA256 over an RSA key, rsaEncryption over an EC key', () => {
    const ecdsa = algorithmIdentifier(OID.ecdsaWithSHA256);
    assertCode(() => openCms(cmsBy(keys.rsa, { tamper: { signatureAlgorithm: ecdsa } }), challenge), 'signature_invalid');
    const rsa = algorithmIdentifier(OID.rsaEncryption, nullValue());
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { signatureAlgorithm: rsa } }), challenge), 'signature_invalid');
  });

  it('#28 a signature hash differing from digestAlgorithm', () => {
    const ecdsa384 = algorithmIdentifier(OID.ecdsaWithSHA384);
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { signatureAlgorithm: ecdsa384 } }), challenge), 'unsupported_algorithm');
    const pss384 = algorithmIdentifier(OID.rsassaPss, pssParameters('sha384'));
    assertCode(() => openCms(cmsBy(keys.rsa, { pss: true, tamper: { signatureAlgorithm: pss384 } }), challenge), 'unsupported_algorithm');
    assertCode(() => openCms(cmsBy(keys.ed25519, { tamper: { digestAlgorithm: algorithmIdentifier(OID.sha256) } }), challenge), 'unsupported_algorithm');
  });

  it('#28 RSA-PSS parameters: a salt length other than the signer used, MGF1 hash, missing parameters', () => {
    const salt20 = algorithmIdentifier(OID.rsassaPss, pssParameters('sha256', 20));
    assertCode(() => openCms(cmsBy(keys.rsa, { pss: true, tamper: { signatureAlgorithm: salt20 } }), challenge), 'signature_invalid');
    const sha256 = algorithmIdentifier(OID.sha256);
    const mgfSha512 = algorithmIdentifier(OID.rsassaPss, sequence(
      contextConstructed(0, sha256),
      contextConstructed(1, algorithmIdentifier(OID.mgf1, algorithmIdentifier(OID.sha512))),
      contextConstructed(2, integer(32)),
    ));
    assertCode(() => openCms(cmsBy(keys.rsa, { pss: true, tamper: { signatureAlgorithm: mgfSha512 } }), challenge), 'malformed_signature');
    const bare = algorithmIdentifier(OID.rsassaPss);
    assertCode(() => openCms(cmsBy(keys.rsa, { pss: true, tamper: { signatureAlgorithm: bare } }), challenge), 'weak_algorithm');
  });

  it('#29 PKCS#1 v1.5 encodings with garbage are refused; a Bleichenbacher e=3 forgery too', () => {
    const digestInfo = (parameters: Uint8Array[]): Uint8Array =>
      sequence(sequence(oid(OID.sha256), ...parameters), octetString(createHash('sha256').update(challenge).digest()));
    const encode = (inner: Uint8Array, padTo = 256): Uint8Array =>
      concat(Uint8Array.of(0, 1), new Uint8Array(padTo - inner.length - 3).fill(0xff), Uint8Array.of(0), inner);
    const signRaw = (em: Uint8Array): Uint8Array =>
      new Uint8Array(privateEncrypt({ key: keys.rsa.privateKey, padding: constants.RSA_NO_PADDING }, em));
    const withSignature = (signer: TestCert, signature: Uint8Array): Uint8Array =>
      edit(cmsBy(signer, { signedAttributes: false }), SIGNATURE_NO_ATTRS, octetString(signature));

    // The harness is right: the proper encoding verifies.
    assert.ok(openCms(withSignature(keys.rsa, signRaw(encode(digestInfo([nullValue()])))), challenge));
    const garbageParameters = encode(digestInfo([octetString(Uint8Array.of(0xde, 0xad))]));
    assertCode(() => openCms(withSignature(keys.rsa, signRaw(garbageParameters)), challenge), 'signature_invalid');
    const trailingGarbage = concat(encode(digestInfo([nullValue()]), 256 - 8), new Uint8Array(8).fill(0x41));
    assertCode(() => openCms(withSignature(keys.rsa, signRaw(trailingGarbage)), challenge), 'signature_invalid');

    // e = 3: the cube root of 00 01 FF 00 DigestInfo ‖ garbage passes a parser that stops at the DigestInfo.
    const prefix = concat(Uint8Array.of(0, 1, 0xff, 0), digestInfo([nullValue()]));
    const target = BigInt(`0x${Buffer.from(prefix).toString('hex')}`) << BigInt(8 * (256 - prefix.length));
    const root = cubeRootCeil(target);
    const forged = Uint8Array.from(Buffer.from(root.toString(16).padStart(512, '0'), 'hex'));
    const cube = Buffer.from((root ** 3n).toString(16).padStart(512, '0'), 'hex');
    assert.deepEqual(new Uint8Array(cube.subarray(0, prefix.length)), prefix, 'the forgery has the lenient-parser shape');
    assertCode(() => openCms(withSignature(keys.rsaE3, forged), challenge), 'signature_invalid');
  });

  it('#30 ECDSA r = 0, s = 0; r‖s where DER is due', () => {
    const zero = sequence(integer(0), integer(0));
    const cms = cmsBy(keys.p256, { signedAttributes: false });
    assertCode(() => openCms(edit(cms, SIGNATURE_NO_ATTRS, octetString(zero)), challenge), 'signature_invalid');
    const raw = new Uint8Array(sign('sha256', challenge, { key: keys.p256.privateKey, dsaEncoding: 'ieee-p1363' }));
    assertCode(() => openCms(edit(cms, SIGNATURE_NO_ATTRS, octetString(raw)), challenge), 'signature_invalid');
  });

  it('#32 SignerInfo version against the sid, and the SignedData version', () => {
    assertCode(() => openCms(cmsBy(keys.p256, { tamper: { signerInfoVersion: 3 } }), challenge), 'malformed_signature');
    assertCode(() => openCms(cmsBy(keys.p256, { sid: 'subjectKeyIdentifier', tamper: { signerInfoVersion: 1 } }), challenge), 'malformed_signature');
    for (const version of [0, 2, 3, 4, 5, 6]) {
      assertCode(() => openCms(cmsBy(keys.p256, { tamper: { signedDataVersion: version } }), challenge), 'malformed_signature');
    }
    assertCode(() => openCms(cmsBy(keys.p256, { sid: 'subjectKeyIdentifier', tamper: { signedDataVersion: 1 } }), challenge), 'malformed_signature');
  });

  it('the digestAlgorithms set must list the SignerInfo digest', () => {
    const cms = edit(cmsBy(keys.p256), DIGEST_ALGORITHMS, tlv(0x31, algorithmIdentifier(OID.sha512)));
    assertCode(() => openCms(cms, challenge), 'malformed_signature');
    assert.equal(nodeAt(cms, SI_DIGEST_ALGORITHM).children.length, 1);
  });

  it('weak keys: RSA 1024 and secp256k1 signers', () => {
    assertCode(() => openCms(pki.cmsSign(keys.rsa1024, challenge, ['-nodetach']), challenge), 'weak_algorithm');
    assertCode(() => openCms(pki.cmsSign(keys.k256, challenge, []), challenge), 'weak_algorithm');
  });
});

function cubeRootCeil(n: bigint): bigint {
  let low = 0n;
  let high = 1n << BigInt(Math.ceil(n.toString(2).length / 3) + 1);
  while (low < high) {
    const mid = (low + high) >> 1n;
    if (mid ** 3n < n) low = mid + 1n;
    else high = mid;
  }
  return low;
}
