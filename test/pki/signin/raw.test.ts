// verifyRawSignature: JWS algorithm semantics (RFC 7518 §3) over the challenge bytes, with
// signatures from node:crypto and, for independence, from the openssl command line.
import assert from 'node:assert/strict';
import { constants, createHash, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { verifyRawSignature } from '../../../src/pki/signin/raw.ts';
import { createTestPki, type TestCert, type TestPki } from '../../helpers/opensslPki.ts';
import { assertCode } from '../../helpers/assertions.ts';

const challenge = new TextEncoder().encode('Yagona ID sign-in for http://localhost:8080 · nonce kq9Tz1xR0m8PbV2cL5sN7uW3yA6dE4fG');

let pki: TestPki;
const keys = {} as Record<'rsa' | 'p256' | 'p384' | 'p521' | 'ed25519' | 'rsa1024' | 'k256', TestCert>;

before(() => {
  pki = createTestPki();
  keys.rsa = pki.leaf('rsa', 'rsa2048');
  keys.p256 = pki.leaf('p256', 'p256');
  keys.p384 = pki.leaf('p384', 'p384');
  keys.p521 = pki.leaf('p521', 'p521');
  keys.ed25519 = pki.leaf('ed25519', 'ed25519');
  keys.rsa1024 = pki.leaf('rsa1024', 'rsa1024');
  keys.k256 = pki.leaf('k256', 'secp256k1');
});
after(() => pki.cleanup());


const HASH = { '256': 'sha256', '384': 'sha384', '512': 'sha512' } as const;

/** A JWS-style signature over `data` (RFC 7518: r‖s for ECDSA, salt = hash length for PSS). */
function jwsSign(algorithm: string, signer: TestCert, data: Uint8Array = challenge): Uint8Array {
  const key = signer.privateKey;
  if (algorithm === 'EdDSA') return new Uint8Array(sign(null, data, key));
  const hash = HASH[algorithm.slice(2) as keyof typeof HASH];
  if (algorithm.startsWith('ES')) return new Uint8Array(sign(hash, data, { key, dsaEncoding: 'ieee-p1363' }));
  if (algorithm.startsWith('PS')) {
    return new Uint8Array(sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }));
  }
  return new Uint8Array(sign(hash, data, key));
}

function verify(algorithm: string, signer: TestCert, signature: Uint8Array, extra: Uint8Array[] = []) {
  return verifyRawSignature({ certificates: [signer.certDer, ...extra], algorithm, signature }, challenge);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function opensslSign(signer: TestCert, args: string[]): Uint8Array {
  // One-shot algorithms (Ed25519) need a file they can size, not a pipe.
  const input = join(pki.dir, 'challenge.bin');
  writeFileSync(input, challenge);
  return new Uint8Array(execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', signer.keyPath, '-rawin', '-in', input, ...args]));
}

describe('verifyRawSignature accepts every JWS algorithm of docs/api.md', () => {
  const cases: Array<[string, keyof typeof keys, string]> = [
    ['ES256', 'p256', OID.ecdsaWithSHA256], ['ES384', 'p384', OID.ecdsaWithSHA384], ['ES512', 'p521', OID.ecdsaWithSHA512],
    ['RS256', 'rsa', OID.sha256WithRSAEncryption], ['RS384', 'rsa', OID.sha384WithRSAEncryption], ['RS512', 'rsa', OID.sha512WithRSAEncryption],
    ['PS256', 'rsa', OID.rsassaPss], ['PS384', 'rsa', OID.rsassaPss], ['PS512', 'rsa', OID.rsassaPss],
    ['EdDSA', 'ed25519', OID.ed25519],
  ];
  for (const [algorithm, key, signatureAlgorithm] of cases) {
    it(algorithm, () => {
      const evidence = verify(algorithm, keys[key], jwsSign(algorithm, keys[key]), [pki.root.certDer]);
      assert.equal(evidence.signer.sha256, sha256Hex(keys[key].certDer));
      assert.equal(evidence.certificates.length, 2);
      assert.equal(evidence.signatureAlgorithm, signatureAlgorithm);
    });
  }

  it('signatures made by openssl pkeyutl: RS256, PS256, EdDSA', () => {
    assert.ok(verify('RS256', keys.rsa, opensslSign(keys.rsa, ['-digest', 'sha256'])));
    assert.ok(verify('PS256', keys.rsa, opensslSign(keys.rsa, ['-digest', 'sha256',
      '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest'])));
    assert.ok(verify('EdDSA', keys.ed25519, opensslSign(keys.ed25519, [])));
  });

  it('ES256 from openssl (DER) converted to r‖s verifies; the DER form itself does not', () => {
    const der = opensslSign(keys.p256, ['-digest', 'sha256']);
    const rs = derToRaw(der, 32);
    assert.ok(verify('ES256', keys.p256, rs));
    assertCode(() => verify('ES256', keys.p256, der), 'signature_invalid');
  });
});

describe('verifyRawSignature refuses', () => {
  it('algorithms outside the list: none, HS256, ES256K, RSA1_5, lower case', () => {
    for (const algorithm of ['none', 'HS256', 'ES256K', 'RSA1_5', 'es256', 'Ed25519', '']) {
      assertCode(() => verify(algorithm, keys.p256, jwsSign('ES256', keys.p256)), 'unsupported_algorithm');
    }
  });

  it('a bit-flipped signature and a signature over another challenge (§B 15, 22)', () => {
    for (const [algorithm, key] of [['ES256', 'p256'], ['RS256', 'rsa'], ['PS384', 'rsa'], ['EdDSA', 'ed25519']] as const) {
      const flipped = jwsSign(algorithm, keys[key]);
      flipped[5]! ^= 0x10;
      assertCode(() => verify(algorithm, keys[key], flipped), 'signature_invalid');
      const other = jwsSign(algorithm, keys[key], new TextEncoder().encode('an older challenge'));
      assertCode(() => verify(algorithm, keys[key], other), 'signature_invalid');
    }
  });

  it('a key of another family or curve than the algorithm names (§B 28)', () => {
    assertCode(() => verify('ES256', keys.p384, jwsSign('ES384', keys.p384)), 'signature_invalid');
    assertCode(() => verify('ES384', keys.p256, jwsSign('ES256', keys.p256)), 'signature_invalid');
    assertCode(() => verify('ES256', keys.rsa, jwsSign('RS256', keys.rsa)), 'signature_invalid');
    assertCode(() => verify('RS256', keys.p256, jwsSign('ES256', keys.p256)), 'signature_invalid');
    assertCode(() => verify('EdDSA', keys.rsa, jwsSign('RS256', keys.rsa)), 'signature_invalid');
    assertCode(() => verify('ES256', keys.k256, new Uint8Array(sign('sha256', challenge, { key: keys.k256.privateKey, dsaEncoding: 'ieee-p1363' }))), 'signature_invalid');
  });

  it('RS256 and PS256 signatures presented as each other', () => {
    assertCode(() => verify('RS256', keys.rsa, jwsSign('PS256', keys.rsa)), 'signature_invalid');
    assertCode(() => verify('PS256', keys.rsa, jwsSign('RS256', keys.rsa)), 'signature_invalid');
    assertCode(() => verify('RS384', keys.rsa, jwsSign('RS256', keys.rsa)), 'signature_invalid');
  });

  it('ECDSA r or s zero, equal to n, or of the wrong length (§B 30)', () => {
    const n256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const good = jwsSign('ES256', keys.p256);
    const r = good.subarray(0, 32);
    const s = good.subarray(32);
    const zeros = new Uint8Array(32);
    const n = bigToBytes(n256, 32);
    for (const bad of [concat(zeros, zeros), concat(r, zeros), concat(zeros, s), concat(n, s), concat(r, n)]) {
      assertCode(() => verify('ES256', keys.p256, bad), 'signature_invalid');
    }
    assertCode(() => verify('ES256', keys.p256, good.subarray(1)), 'signature_invalid');
    assertCode(() => verify('ES256', keys.p256, concat(good, Uint8Array.of(0))), 'signature_invalid');
    assertCode(() => verify('ES512', keys.p521, jwsSign('ES512', keys.p521).subarray(0, 128)), 'signature_invalid');
  });

  it('the curve orders are right: the malleable twin (r, n − s) is a valid signature for every curve', () => {
    const orders: Array<[string, keyof typeof keys, bigint, number]> = [
      ['ES256', 'p256', 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, 32],
      ['ES384', 'p384', 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n, 48],
      ['ES512', 'p521', 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n, 66],
    ];
    for (const [algorithm, key, order, size] of orders) {
      const good = jwsSign(algorithm, keys[key]);
      const s = BigInt(`0x${Buffer.from(good.subarray(size)).toString('hex')}`);
      const twin = concat(good.subarray(0, size), bigToBytes(order - s, size));
      assert.ok(verify(algorithm, keys[key], twin), `${algorithm} (r, n - s)`);
      assertCode(() => verify(algorithm, keys[key], concat(good.subarray(0, size), bigToBytes(order, size))), 'signature_invalid');
    }
  });

  it('weak keys: RSA 1024', () => {
    assertCode(() => verify('RS256', keys.rsa1024, jwsSign('RS256', keys.rsa1024)), 'weak_algorithm');
  });

  it('no certificate, too many certificates, a certificate that does not parse', () => {
    const signature = jwsSign('ES256', keys.p256);
    assertCode(() => verifyRawSignature({ certificates: [], algorithm: 'ES256', signature }, challenge), 'malformed_signature');
    const nine = Array.from({ length: 9 }, () => keys.p256.certDer);
    assertCode(() => verifyRawSignature({ certificates: nine, algorithm: 'ES256', signature }, challenge), 'malformed_signature');
    const broken = concat(keys.p256.certDer, Uint8Array.of(0));
    assertCode(() => verifyRawSignature({ certificates: [broken], algorithm: 'ES256', signature }, challenge), 'malformed_signature');
  });

  it('the signer is the first certificate, not any certificate that happens to verify', () => {
    const signature = jwsSign('ES256', keys.p256);
    assertCode(() => verifyRawSignature({ certificates: [pki.root.certDer, keys.p256.certDer], algorithm: 'ES256', signature }, challenge), 'signature_invalid');
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function bigToBytes(value: bigint, size: number): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(size * 2, '0'), 'hex'));
}

/** Ecdsa-Sig-Value DER → r‖s, for openssl output (short-form lengths suffice for P-256). */
function derToRaw(der: Uint8Array, size: number): Uint8Array {
  const rLength = der[3]!;
  const r = der.subarray(4, 4 + rLength);
  const s = der.subarray(6 + rLength);
  const pad = (x: Uint8Array): Uint8Array => bigToBytes(BigInt(`0x${Buffer.from(x).toString('hex')}`), size);
  return concat(pad(r), pad(s));
}
