// The signature-algorithm registry: verification over the accepted families and their key
// policy (docs/security-cases.md §B 27–30, §C 44–47), refusals that name what they refuse, the
// per-pair memo, and SIGNATURE_ALGORITHMS choosing families.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isServiceError, type ErrorCode } from '../../../src/errors.ts';
import type { AlgorithmIdentifier } from '../../../src/pki/x509/model.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { algorithmIdentifier, integer, nullValue, octetString, oid, sequence } from '../../../src/pki/asn1/derWrite.ts';
import { builtInFamilies, defaultSignatureAlgorithms } from '../../../src/pki/algorithms/families/index.ts';
import { builtInFamilyNames, defaultFamilyNames } from '../../../src/pki/algorithms/familyNames.ts';
import { createSignatureAlgorithms, type SignatureFamily } from '../../../src/pki/algorithms/registry.ts';
import { tlv } from '../chainFixtures.ts';

const registry = defaultSignatureAlgorithms;
const checkSignature = registry.check;
const signatureScheme = registry.signatureScheme;

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

/** Throws a ServiceError with `code`; returns its detail. */
function throwsCode(fn: () => unknown, code: ErrorCode): string {
  let detail = '';
  assert.throws(fn, (err: unknown) => {
    assert.ok(isServiceError(err) && err.code === code, `expected ${code}, got ${String(err)}`);
    detail = err.message;
    return true;
  });
  return detail;
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

describe('check: the allowlist', () => {
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

  it('verify throws signature_invalid rather than returning false', () => {
    const alg = { oid: OID.ecdsaWithSHA256 };
    assert.equal(registry.verify(alg, spkiOf(p256.publicKey), data, sign('sha256', data, p256.privateKey)), true);
    throwsCode(() => registry.verify(alg, spkiOf(p256.publicKey), data, sign('sha256', Uint8Array.of(1), p256.privateKey)), 'signature_invalid');
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
    const scheme = signatureScheme({ oid: OID.rsassaPss, parameters: pssParams(OID.sha384, OID.sha384, 48) });
    assert.deepEqual([scheme.family, scheme.digest, scheme.keys], ['rsa-pss', OID.sha384, [OID.rsaEncryption]]);
    const spki = spkiOf(rsa.publicKey);
    assert.equal(checkSignature(pss256(undefined), spki, data, pssSign(20)), true);
    assert.equal(checkSignature(pss256(0), spki, data, pssSign(0)), true);
    assert.equal(checkSignature({ oid: OID.rsassaPss, parameters: pssParams(OID.sha256, OID.sha256, 32, 1) }, spki, data, pssSign(32)), true);
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

/** An RSA SubjectPublicKeyInfo with a modulus of exactly `bits` bits (not a real key: the policy reads sizes first). */
function rsaSpki(bits: number, exponent: bigint): Uint8Array {
  const modulus = (1n << BigInt(bits - 1)) | 1n;
  return sequence(algorithmIdentifier(OID.rsaEncryption, nullValue()), tlv(0x03, Uint8Array.of(0), sequence(integer(modulus), integer(exponent))));
}

describe('the key policy of the built-in families (§C 45–47)', () => {
  const weak: Array<[string, Uint8Array]> = [
    ['RSA 1024', rsaSpki(1024, 65537n)],
    ['RSA 2047', rsaSpki(2047, 65537n)],
    ['RSA 16384', rsaSpki(16384, 65537n)],
    ['RSA e = 1', rsaSpki(2048, 1n)],
    ['RSA e = 2^32 + 1', rsaSpki(2048, (1n << 32n) + 1n)],
    ['RSA even e', rsaSpki(2048, 65538n)],
    ['RSA 2052 (not whole octets)', rsaSpki(2052, 65537n)],
    ['EC secp256k1', spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)],
    ['EC explicit parameters', sequence(sequence(oid(OID.ecPublicKey), sequence(integer(1))), tlv(0x03, Uint8Array.of(0, 4, 1, 2)))],
  ];
  for (const [label, spki] of weak) {
    it(`weak: ${label}`, () => {
      throwsCode(() => registry.publicKey(spki), 'weak_algorithm');
      // The policy holds wherever a key is used, a signature check included.
      throwsCode(() => checkSignature({ oid: OID.sha256WithRSAEncryption, parameters: derNull }, spki, data, new Uint8Array(256)), 'weak_algorithm');
    });
  }

  it('accepts RSA 2048–8192 with odd e ≥ 3, the three NIST curves and Ed25519, and says what each is', () => {
    for (const bits of [2048, 3072, 4096, 8192]) assert.equal(registry.publicKey(rsaSpki(bits, 65537n)).description, `RSA ${bits}-bit`);
    registry.publicKey(rsaSpki(2048, 3n));
    for (const namedCurve of ['P-256', 'P-384', 'P-521']) {
      assert.equal(registry.publicKey(spkiOf(generateKeyPairSync('ec', { namedCurve }).publicKey)).description, `EC ${namedCurve}`);
    }
    assert.equal(registry.publicKey(spkiOf(ed.publicKey)).description, 'Ed25519');
  });

  it('DSA, Ed448 and unknown key types are unsupported, named in words and by OID', () => {
    const dsa = spkiOf(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey);
    assert.equal(throwsCode(() => registry.publicKey(dsa), 'unsupported_algorithm'), `DSA public key ${OID.dsa} is not supported`);
    const ed448 = spkiOf(generateKeyPairSync('ed448').publicKey);
    assert.equal(throwsCode(() => registry.publicKey(ed448), 'unsupported_algorithm'), `Ed448 ${OID.ed448} is not supported`);
    const unknown = sequence(algorithmIdentifier('1.2.3.4'), tlv(0x03, Uint8Array.of(0, 1)));
    assert.equal(throwsCode(() => registry.publicKey(unknown), 'unsupported_algorithm'), 'public key algorithm (an algorithm this service does not know) 1.2.3.4 is not supported');
  });
});

describe('SIGNATURE_ALGORITHMS: families chosen by name', () => {
  const p256Signature = () => sign('sha256', data, p256.privateKey);

  it('the built-in names and the default are what configuration checks against', () => {
    assert.deepEqual(builtInFamilies.map((family) => family.name), [...builtInFamilyNames]);
    assert.deepEqual(registry.enabled, defaultFamilyNames);
    assert.deepEqual(registry.known, [...builtInFamilyNames]);
  });

  it('a family left out refuses its keys and signatures, naming them and the setting', () => {
    const withoutEcdsa = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['rsa', 'ed25519'] });
    const keyDetail = throwsCode(() => withoutEcdsa.publicKey(spkiOf(p256.publicKey)), 'unsupported_algorithm');
    assert.equal(keyDetail, `EC public key ${OID.ecPublicKey} is not supported (the ecdsa family is not in SIGNATURE_ALGORITHMS)`);
    const schemeDetail = throwsCode(() => withoutEcdsa.check({ oid: OID.ecdsaWithSHA256 }, spkiOf(p256.publicKey), data, p256Signature()), 'unsupported_algorithm');
    assert.equal(schemeDetail, `ECDSA with SHA-256 signature ${OID.ecdsaWithSHA256} is not supported (the ecdsa family is not in SIGNATURE_ALGORITHMS)`);
    throwsCode(() => withoutEcdsa.digest({ oid: '1.2.860.3.15.1.3.2.1.1' }), 'unsupported_algorithm');
    // SHA-2 still serves the families that are on.
    assert.equal(withoutEcdsa.digest({ oid: OID.sha256 }).family, 'rsa');
  });

  it('RSA-PSS is a family of its own over the same RSA keys', () => {
    const pkcs1Only = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['rsa'] });
    const parameters = pssParams(OID.sha256, OID.sha256, 32);
    const pss = sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    throwsCode(() => pkcs1Only.check({ oid: OID.rsassaPss, parameters }, spkiOf(rsa.publicKey), data, pss), 'unsupported_algorithm');
    assert.equal(pkcs1Only.check({ oid: OID.sha256WithRSAEncryption, parameters: derNull }, spkiOf(rsa.publicKey), data, sign('sha256', data, rsa.privateKey)), true);
  });

  it('MD5 and SHA-1 stay weak whatever is enabled', () => {
    const only = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['ed25519'] });
    throwsCode(() => only.signatureScheme({ oid: OID.sha1WithRSAEncryption, parameters: derNull }), 'weak_algorithm');
    throwsCode(() => only.digest({ oid: OID.md5 }), 'weak_algorithm');
  });

  it('an unknown or twice-defined family is a programming error, not a refusal', () => {
    assert.throws(() => createSignatureAlgorithms({ families: builtInFamilies, enabled: ['ecdsa', 'carrier-pigeon'] }), TypeError);
    const clash: SignatureFamily = { ...builtInFamilies[2]!, name: 'ecdsa-copy', keys: [{ ...builtInFamilies[2]!.keys[0]! }] };
    assert.throws(() => createSignatureAlgorithms({ families: [...builtInFamilies, clash], enabled: ['ecdsa', 'ecdsa-copy'] }), /defined differently/);
  });

  it('check with a memo key verifies each pair once; without one, every time', () => {
    let verifications = 0;
    const counting: SignatureFamily = {
      name: 'counting', title: 'counting test family', digests: [],
      keys: [{ oid: '1.3.6.1.4.1.55555.1', title: 'counting key', read: () => ({ algorithm: '1.3.6.1.4.1.55555.1', description: 'counting key', material: null }) }],
      signatures: [{
        oid: '1.3.6.1.4.1.55555.2', title: 'counting signature',
        scheme: () => ({ digest: OID.sha256, keys: ['1.3.6.1.4.1.55555.1'], verify: (_key, _data, signature) => { verifications++; return signature[0] === 1; } }),
      }],
    };
    const memoised = createSignatureAlgorithms({ families: [counting], enabled: ['counting'] });
    const spki = sequence(algorithmIdentifier('1.3.6.1.4.1.55555.1'), tlv(0x03, Uint8Array.of(0, 7)));
    const alg = { oid: '1.3.6.1.4.1.55555.2' };
    for (let i = 0; i < 3; i++) assert.equal(memoised.check(alg, spki, data, Uint8Array.of(1), 'issuer:child'), true);
    for (let i = 0; i < 3; i++) assert.equal(memoised.check(alg, spki, data, Uint8Array.of(0), 'issuer:other'), false);
    assert.equal(verifications, 2);
    memoised.check(alg, spki, data, Uint8Array.of(1));
    memoised.check(alg, spki, data, Uint8Array.of(1));
    assert.equal(verifications, 4);
    // A memo never outlives the registry's own refusals: the same key under a registry without the family is refused.
    const other = createSignatureAlgorithms({ families: [counting, ...builtInFamilies], enabled: ['ecdsa'] });
    throwsCode(() => other.check(alg, spki, data, Uint8Array.of(1), 'issuer:child'), 'unsupported_algorithm');
  });

  it('a plug-in whose verify throws fails closed', () => {
    const throwing: SignatureFamily = {
      name: 'throwing', title: 'throwing test family', digests: [],
      keys: [{ oid: '1.3.6.1.4.1.55555.3', title: 'k', read: () => ({ algorithm: '1.3.6.1.4.1.55555.3', description: 'k', material: null }) }],
      signatures: [{ oid: '1.3.6.1.4.1.55555.4', title: 's', scheme: () => ({ digest: OID.sha256, keys: ['1.3.6.1.4.1.55555.3'], verify: () => { throw new RangeError('bug'); } }) }],
    };
    const withBug = createSignatureAlgorithms({ families: [throwing], enabled: ['throwing'] });
    const spki = sequence(algorithmIdentifier('1.3.6.1.4.1.55555.3'), tlv(0x03, Uint8Array.of(0, 7)));
    assert.equal(withBug.check({ oid: '1.3.6.1.4.1.55555.4' }, spki, data, Uint8Array.of(1)), false);
  });

  it('describe names OIDs in words', () => {
    assert.equal(registry.describe(OID.ecdsaWithSHA384), `ECDSA with SHA-384 signature ${OID.ecdsaWithSHA384}`);
    assert.equal(registry.describe('1.2.860.3.15.1.1.2.1.3'), "an O'zDSt algorithm 1.2.860.3.15.1.1.2.1.3");
    assert.equal(registry.describe('1.2.643.7.1.1.1.1'), 'GOST R 34.10-2012 256-bit public key 1.2.643.7.1.1.1.1');
  });

  it('digest parameters other than absent or NULL are malformed', () => {
    throwsCode(() => registry.digest({ oid: OID.sha256, parameters: octetString(Uint8Array.of(1)) }), 'malformed_signature');
    assert.equal(registry.digest({ oid: OID.sha256, parameters: nullValue() }).title, 'SHA-256');
  });
});
