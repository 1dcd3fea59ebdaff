// Signature verification over the allowlist and the key policy (docs/security-cases.md §B 27–30, §C 44–47).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isServiceError, type ErrorCode } from '../../../src/errors.ts';
import type { AlgorithmIdentifier } from '../../../src/pki/x509/model.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { assertKeyStrength, checkSignature, signatureScheme, verifySignedBytes } from '../../../src/pki/algorithms/signature.ts';
import { tlv } from '../chainFixtures.ts';
import { integer } from '../../../src/pki/asn1/derWrite.ts';

const data = new TextEncoder().encode('yagona challenge');
const spkiOf = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));
const oidBytes = (dotted: string): Uint8Array => {
  const arcs = dotted.split('.').map(Number);
  const out = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const septets = [];
    let v = arc;
    do { septets.unshift(v & 0x7f); v = Math.floor(v / 128); } while (v > 0);
    out.push(...septets.map((b, i) => (i < septets.length - 1 ? b | 0x80 : b)));
  }
  return Uint8Array.from(out);
};
const derNull = Uint8Array.of(5, 0);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed = generateKeyPairSync('ed25519');

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isServiceError(err) && err.code === code);
}

/** RSASSA-PSS-params with the given hash, MGF1 hash and salt; `trailer` adds an explicit trailerField. */
function pssParams(hash: string, mgfHash: string, salt: number | undefined, trailer?: number): Uint8Array {
  const hashAlg = (o: string) => tlv(0x30, tlv(0x06, oidBytes(o)), derNull);
  return tlv(0x30,
    tlv(0xa0, hashAlg(hash)),
    tlv(0xa1, tlv(0x30, tlv(0x06, oidBytes(OID.mgf1)), hashAlg(mgfHash))),
    ...(salt === undefined ? [] : [tlv(0xa2, integer(salt))]),
    ...(trailer === undefined ? [] : [tlv(0xa3, integer(trailer))]));
}

const pssSign = (saltLength: number) => sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
const pss256 = (salt: number | undefined): AlgorithmIdentifier => ({ oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha256, salt) });

describe('checkSignature: the allowlist', () => {
  const cases: Array<[string, AlgorithmIdentifier, KeyObject, () => Uint8Array]> = [
    ['sha256WithRSAEncryption', { oid: OID.sha256WithRSAEncryption, parameters: derNull }, rsa.publicKey, () => sign('sha256', data, rsa.privateKey)],
    ['sha384WithRSAEncryption', { oid: OID.sha384WithRSAEncryption }, rsa.publicKey, () => sign('sha384', data, rsa.privateKey)],
    ['sha512WithRSAEncryption', { oid: OID.sha512WithRSAEncryption, parameters: derNull }, rsa.publicKey, () => sign('sha512', data, rsa.privateKey)],
    ['RSASSA-PSS SHA-256', { oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha256, 32) }, rsa.publicKey,
      () => sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })],
    ['ecdsa-with-SHA256', { oid: OID.ecdsaWithSHA256 }, p256.publicKey, () => sign('sha256', data, p256.privateKey)],
    ['ecdsa-with-SHA512 on P-521', { oid: OID.ecdsaWithSHA512 }, p521.publicKey, () => sign('sha512', data, p521.privateKey)],
    ['Ed25519', { oid: OID.ed25519 }, ed.publicKey, () => sign(null, data, ed.privateKey)],
  ];
  for (const [label, alg, key, signIt] of cases) {
    it(`${label}: verifies, and a flipped bit does not`, () => {
      const signature = signIt();
      assert.equal(checkSignature(alg, spkiOf(key), data, signature), true);
      const flipped = Uint8Array.from(signature);
      flipped[flipped.length - 5]! ^= 0x01;
      assert.equal(checkSignature(alg, spkiOf(key), data, flipped), false);
      assert.equal(checkSignature(alg, spkiOf(key), Uint8Array.from([...data, 0]), signature), false);
    });
  }

  it('verifySignedBytes throws signature_invalid rather than returning false', () => {
    const alg = { oid: OID.ecdsaWithSHA256 };
    assert.equal(verifySignedBytes(alg, spkiOf(p256.publicKey), data, sign('sha256', data, p256.privateKey)), true);
    throwsCode(() => verifySignedBytes(alg, spkiOf(p256.publicKey), data, sign('sha256', Uint8Array.of(1), p256.privateKey)), 'signature_invalid');
  });

  it('an algorithm that does not fit the key is a failed verification (§B 28)', () => {
    assert.equal(checkSignature({ oid: OID.ecdsaWithSHA256 }, spkiOf(rsa.publicKey), data, sign('sha256', data, rsa.privateKey)), false);
    assert.equal(checkSignature({ oid: OID.sha256WithRSAEncryption, parameters: derNull }, spkiOf(p256.publicKey), data, sign('sha256', data, p256.privateKey)), false);
    assert.equal(checkSignature({ oid: OID.ed25519 }, spkiOf(p256.publicKey), data, sign(null, data, ed.privateKey)), false);
  });

  it('ECDSA r = 0 or s = 0, and raw r‖s where DER is due, do not verify (§B 30, CVE-2022-21449)', () => {
    const spki = spkiOf(p256.publicKey);
    const alg = { oid: OID.ecdsaWithSHA256 };
    const zero = tlv(0x30, tlv(0x02, Uint8Array.of(0)), tlv(0x02, Uint8Array.of(0)));
    assert.equal(checkSignature(alg, spki, data, zero), false);
    const raw = sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(checkSignature(alg, spki, data, raw), false);
    const good = sign('sha256', data, p256.privateKey);
    assert.equal(checkSignature(alg, spki, data, Uint8Array.from([...good, 0])), false);
  });

  it('MD5 and SHA-1 are weak; DSA, SHA-224 and unknown OIDs are unsupported (§B 27)', () => {
    for (const oid of [OID.md5WithRSAEncryption, OID.sha1WithRSAEncryption, OID.ecdsaWithSHA1, OID.dsaWithSHA1]) {
      throwsCode(() => signatureScheme({ oid, parameters: derNull }), 'weak_algorithm');
    }
    for (const oid of [OID.dsaWithSHA256, OID.sha224WithRSAEncryption, OID.ed448, '1.2.3.4']) {
      throwsCode(() => signatureScheme({ oid }), 'unsupported_algorithm');
    }
  });

  it('parameters must be exactly as the RFCs say (§A 9)', () => {
    throwsCode(() => signatureScheme({ oid: OID.ecdsaWithSHA256, parameters: derNull }), 'malformed_signature');
    throwsCode(() => signatureScheme({ oid: OID.sha256WithRSAEncryption, parameters: Uint8Array.of(2, 1, 0) }), 'malformed_signature');
    throwsCode(() => signatureScheme({ oid: OID.ed25519, parameters: derNull }), 'malformed_signature');
  });

  it('RSASSA-PSS: SHA-1 defaults, MGF1 mismatch, an unknown MGF, a trailer other than 1 and impossible salts are refused', () => {
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss }), 'weak_algorithm');
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: tlv(0x30) }), 'weak_algorithm');
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha384, 32) }), 'malformed_signature');
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha256, 32, 2) }), 'malformed_signature');
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha1, OID.sha1, 20) }), 'weak_algorithm');
    const otherMgf = tlv(0x30,
      tlv(0xa0, tlv(0x30, tlv(0x06, oidBytes(OID.sha256)))),
      tlv(0xa1, tlv(0x30, tlv(0x06, oidBytes('1.2.840.113549.1.1.9')), tlv(0x30, tlv(0x06, oidBytes(OID.sha256))))));
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: otherMgf }), 'unsupported_algorithm');
    // A negative length would ask OpenSSL to detect the salt instead of checking it.
    const negative = tlv(0x30, tlv(0xa0, tlv(0x30, tlv(0x06, oidBytes(OID.sha256)))),
      tlv(0xa1, tlv(0x30, tlv(0x06, oidBytes(OID.mgf1)), tlv(0x30, tlv(0x06, oidBytes(OID.sha256))))), tlv(0xa2, Uint8Array.of(2, 1, 0xfe)));
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: negative }), 'malformed_signature');
    throwsCode(() => signatureScheme(pss256(1025)), 'malformed_signature');
    const unknownField = tlv(0x30, tlv(0xa0, tlv(0x30, tlv(0x06, oidBytes(OID.sha256)))),
      tlv(0xa1, tlv(0x30, tlv(0x06, oidBytes(OID.mgf1)), tlv(0x30, tlv(0x06, oidBytes(OID.sha256))))), tlv(0xa4, integer(1)));
    throwsCode(() => signatureScheme({ oid: OID.rsassaPss, parameters: unknownField }), 'malformed_signature');
  });

  it('RSASSA-PSS: any salt length the parameters state, 20 when absent; an explicit trailerField 1 means the default', () => {
    assert.deepEqual(signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha384, OID.sha384, 48) }), { kind: 'rsa-pss', hash: 'sha384', saltLength: 48 });
    assert.deepEqual(signatureScheme(pss256(undefined)), { kind: 'rsa-pss', hash: 'sha256', saltLength: 20 });
    assert.deepEqual(signatureScheme(pss256(0)), { kind: 'rsa-pss', hash: 'sha256', saltLength: 0 });
    assert.deepEqual(signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha256, 32, 1) }), { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 });
  });

  it('RSASSA-PSS verifies with exactly the stated salt length: 0, 20, 32 and the RSA-2048 maximum 222 (RFC 8017 §9.1.1)', () => {
    const spki = spkiOf(rsa.publicKey);
    const lengths = [0, 20, 32, 222];
    const signatures = new Map(lengths.map((salt) => [salt, pssSign(salt)]));
    for (const stated of lengths) {
      for (const [signedWith, signature] of signatures) {
        assert.equal(checkSignature(pss256(stated), spki, data, signature), stated === signedWith, `stated ${stated}, signed with ${signedWith}`);
      }
    }
    // No salt fits past emLen − hLen − 2 (RFC 8017 §9.1.2 step 3): 223 never verifies.
    assert.equal(checkSignature(pss256(223), spki, data, signatures.get(222)!), false);
  });

  it('a key that does not decode is malformed', () => {
    throwsCode(() => checkSignature({ oid: OID.ed25519 }, Uint8Array.of(0x30, 0), data, new Uint8Array(64)), 'malformed_signature');
  });
});

describe('assertKeyStrength (§C 45–47)', () => {
  const weak = [
    { kind: 'rsa', bits: 1024, exponent: 65537n },
    { kind: 'rsa', bits: 2047, exponent: 65537n },
    { kind: 'rsa', bits: 16384, exponent: 65537n },
    { kind: 'rsa', bits: 2048, exponent: 1n },
    { kind: 'rsa', bits: 2048, exponent: (1n << 32n) + 1n },
    { kind: 'rsa', bits: 2048, exponent: 65538n },
    { kind: 'rsa', bits: 2052, exponent: 65537n },
    { kind: 'ec', curve: 'other', curveOid: '1.3.132.0.10' },
    { kind: 'ec', curve: 'other' },
  ] as const;
  for (const key of weak) {
    it(`weak: ${JSON.stringify(key, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`, () => throwsCode(() => assertKeyStrength(key), 'weak_algorithm'));
  }

  it('accepts RSA 2048–8192 with odd e ≥ 3, the three NIST curves and Ed25519', () => {
    for (const bits of [2048, 3072, 4096, 8192]) assertKeyStrength({ kind: 'rsa', bits, exponent: 65537n });
    assertKeyStrength({ kind: 'rsa', bits: 2048, exponent: 3n });
    for (const curve of ['P-256', 'P-384', 'P-521'] as const) assertKeyStrength({ kind: 'ec', curve });
    assertKeyStrength({ kind: 'ed25519' });
  });

  it('DSA and other key types are unsupported; the RSA minimum is a policy input', () => {
    throwsCode(() => assertKeyStrength({ kind: 'other', oid: OID.dsa }), 'unsupported_algorithm');
    assertKeyStrength({ kind: 'rsa', bits: 1024, exponent: 65537n }, { minRsaBits: 1024 });
  });
});
