// GOST R 34.10-2001 / -2012 signatures: the RFC worked examples, keys and signatures of
// OpenSSL's gost engine both ways, the real national root and E-IMZO CA certificates, and
// every kind of tampering refused — for each verifier the module offers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { bigIntToBytesLittleEndian } from '../../../../src/pki/algorithms/gost/bytes.ts';
import {
  cryptoProA, cryptoProB, cryptoProC, type GostCurve, gostCurves, tc26Gost256A, tc26Gost512A, tc26Gost512B, tc26Gost512C,
} from '../../../../src/pki/algorithms/gost/curves.ts';
import { encodePublicKey } from '../../../../src/pki/algorithms/gost/encoding.ts';
import { gostVerify } from '../../../../src/pki/algorithms/gost/fast/verify.ts';
import { gostR341194 } from '../../../../src/pki/algorithms/gost/gost94.ts';
import { gostVerifyReference } from '../../../../src/pki/algorithms/gost/reference.ts';
import { gostKeyPair, gostPublicKey, gostSign, gostSignWithNonce } from '../../../../src/pki/algorithms/gost/sign.ts';
import type { GostVerifyInput } from '../../../../src/pki/algorithms/gost/verifyInput.ts';
import { type EngineKeyKind, openGostEngine, readVector } from './gostEngine.ts';

const engine = openGostEngine();
after(() => engine.cleanup());

const verifiers: Array<[string, (input: GostVerifyInput) => boolean]> = [
  ['reference (noble)', gostVerifyReference],
  ['fast (WebAssembly)', gostVerify],
];

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (digits: string) => new Uint8Array(Buffer.from(digits, 'hex'));

// RFC 7091 §A.1 (the same example as RFC 5832 §7.1) and §A.2: test curves, not for use.
const example1Curve: GostCurve = {
  name: 'RFC 7091 A.1 test curve', oid: '1.2.643.2.2.35.0', size: 32, h: 1n, a: 7n, gx: 2n,
  p: 0x8000000000000000000000000000000000000000000000000000000000000431n,
  b: 0x5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7En,
  q: 0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3n,
  gy: 0x08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8n,
};
const example2Curve: GostCurve = {
  name: 'RFC 7091 A.2 test curve', oid: '1.2.643.7.1.2.1.2.0', size: 64, h: 1n, a: 7n,
  p: 0x4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373n,
  b: 0x1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADCn,
  q: 0x4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DFn,
  gx: 0x24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9An,
  gy: 0x2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371En,
};
const examples = [
  {
    name: 'RFC 7091 §A.1 / RFC 5832 §7.1 (256-bit)', curve: example1Curve,
    d: 0x7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28n,
    e: 0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5n,
    k: 0x77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3n,
    qx: 0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80Bn,
    qy: 0x26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DAn,
    r: 0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493n,
    s: 0x01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40n,
  },
  {
    name: 'RFC 7091 §A.2 (512-bit)', curve: example2Curve,
    d: 0x0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4n,
    e: 0x3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8Cn,
    k: 0x0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1n,
    qx: 0x115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1n,
    qy: 0x37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEECn,
    r: 0x2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36n,
    s: 0x1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4An,
  },
];

// Each engine key kind and paramset, with the curve it names.
const engineCases: Array<[EngineKeyKind, string, GostCurve]> = [
  ['gost2001', 'A', cryptoProA], ['gost2001', 'B', cryptoProB], ['gost2001', 'C', cryptoProC],
  ['gost2012_256', 'A', cryptoProA], ['gost2012_256', 'TCA', tc26Gost256A],
  ['gost2012_512', 'A', tc26Gost512A], ['gost2012_512', 'B', tc26Gost512B], ['gost2012_512', 'C', tc26Gost512C],
];

/** A tiny DER walk, enough to take a certificate apart: [tag, content start, end] of each child. */
function derChildren(der: Uint8Array, start = 0, end = der.length): Array<{ tag: number; bytes: Uint8Array; content: Uint8Array }> {
  const children = [];
  for (let at = start; at < end;) {
    const tag = der[at]!;
    let length = der[at + 1]!;
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + der[at + 2 + i]!;
      header += count;
    }
    children.push({ tag, bytes: der.subarray(at, at + header + length), content: der.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return children;
}

/** TBSCertificate bytes, the signature value and the subject's raw GOST key (RFC 4491 §2.2.2, §2.3.2). */
function certificateParts(der: Uint8Array) {
  const [certificate] = derChildren(der);
  const [tbs, , signatureValue] = derChildren(certificate!.content);
  const fields = derChildren(tbs!.content);
  const spki = fields[6]!; // after [0] version, serial, signature, issuer, validity, subject
  const [, keyBits] = derChildren(spki.content);
  const [keyOctets] = derChildren(keyBits!.content.subarray(1));
  assert.equal(keyOctets!.tag, 0x04);
  assert.equal(signatureValue!.content[0], 0, 'no unused bits');
  return { tbs: tbs!.bytes, signature: signatureValue!.content.subarray(1), publicKey: keyOctets!.content };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('the GOST curves', () => {
  for (const curve of gostCurves) {
    it(`${curve.name}: G lies on the curve and has order q`, () => {
      const { p, a, b, gx, gy, q } = curve;
      assert.equal((gy * gy - (gx ** 3n + a * gx + b)) % p, 0n);
      const pair = gostKeyPair(curve);
      assert.equal(pair.publicKey.length, 2 * curve.size);
      // (q − 1)·G = −G: same x, y negated.
      const minusG = gostPublicKey(curve, q - 1n);
      assert.equal(hex(minusG), hex(encodePublicKey(curve, { x: gx, y: p - gy })));
    });
  }
});

for (const [verifierName, verify] of verifiers) {
  describe(`GOST R 34.10 verification: ${verifierName}`, () => {
    it('RFC 7091 worked examples: public key, signature with the given k, and verification', () => {
      for (const x of examples) {
        const digest = bigIntToBytesLittleEndian(x.e, x.curve.size);
        const publicKey = gostPublicKey(x.curve, x.d);
        assert.equal(hex(publicKey), hex(encodePublicKey(x.curve, { x: x.qx, y: x.qy })), x.name);
        const signature = gostSignWithNonce({ curve: x.curve, privateKey: x.d, digest }, x.k)!;
        const size = x.curve.size;
        assert.equal(hex(signature), x.s.toString(16).padStart(2 * size, '0') + x.r.toString(16).padStart(2 * size, '0'), x.name);
        assert.equal(verify({ curve: x.curve, publicKey, digest, signature }), true, x.name);
        assert.equal(verify({ curve: x.curve, publicKey, digest: flipBit(digest, 0), signature }), false, x.name);
      }
    });

    it('the real national root: its self-signature, and its signature on the E-IMZO CA (CryptoPro-A, O\'zDSt 1106 hash)', () => {
      const root = certificateParts(readVector('national-root.der'));
      const ca = certificateParts(readVector('eimzo-ca-2018.der'));
      const self = { curve: cryptoProA, publicKey: root.publicKey, digest: gostR341194(root.tbs), signature: root.signature };
      assert.equal(verify(self), true);
      const issued = { curve: cryptoProA, publicKey: root.publicKey, digest: gostR341194(ca.tbs), signature: ca.signature };
      assert.equal(verify(issued), true);
      // The CA's own key did not sign its certificate.
      assert.equal(verify({ ...issued, publicKey: ca.publicKey }), false);
      assert.equal(verify({ ...issued, digest: gostR341194(ca.tbs.subarray(1)) }), false);
    });

    for (const [kind, paramset, curve] of engineCases) {
      it(`OpenSSL gost engine ${kind} paramset ${paramset} (${curve.name}): its signatures verify here, ours verify there`, () => {
        const key = engine.generateKey(kind, paramset);
        assert.equal(hex(gostPublicKey(curve, key.privateKey)), hex(key.rawPublicKey), 'same public key from its d');
        for (let i = 0; i < 3; i++) {
          const digest = randomBytes(curve.size);
          const theirs = engine.sign(key, digest);
          assert.equal(verify({ curve, publicKey: key.rawPublicKey, digest, signature: theirs }), true, 'engine signature');
          // The conventions are pinned: the reversed digest (e read big-endian) does not verify.
          assert.equal(verify({ curve, publicKey: key.rawPublicKey, digest: new Uint8Array(digest).reverse(), signature: theirs }), false);
          const ours = gostSign({ curve, privateKey: key.privateKey, digest });
          assert.equal(engine.verify(key, digest, ours), true, 'our signature, engine verifies');
          assert.equal(engine.verify(key, flipBit(digest, 3), ours), false, 'engine refuses it over another digest');
        }
      });
    }

    it('every single-bit change of signature, key or digest is refused (CryptoPro-A)', () => {
      const { privateKey, publicKey } = gostKeyPair(cryptoProA);
      const digest = randomBytes(32);
      const signature = gostSign({ curve: cryptoProA, privateKey, digest });
      const input = { curve: cryptoProA, publicKey, digest, signature };
      assert.equal(verify(input), true);
      const refused = (field: 'publicKey' | 'digest' | 'signature') => {
        for (let bit = 0; bit < 8 * input[field].length; bit++) {
          assert.equal(verify({ ...input, [field]: flipBit(input[field], bit) }), false, `${field} bit ${bit}`);
        }
      };
      refused('signature');
      refused('publicKey');
      refused('digest');
    });

    it('refuses r or s of 0, q or more, wrong lengths, and keys off the curve or unreduced', () => {
      const curve = cryptoProA;
      const { privateKey, publicKey } = gostKeyPair(curve);
      const digest = randomBytes(32);
      const signature = gostSign({ curve, privateKey, digest });
      const input = { curve, publicKey, digest, signature };
      const s = signature.subarray(0, 32);
      const r = signature.subarray(32);
      const be = (v: bigint) => fromHex(v.toString(16).padStart(64, '0'));
      const join = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);
      for (const bad of [0n, curve.q, curve.q + 1n, 2n ** 256n - 1n]) {
        assert.equal(verify({ ...input, signature: join(s, be(bad)) }), false, `r = ${bad}`);
        assert.equal(verify({ ...input, signature: join(be(bad), r) }), false, `s = ${bad}`);
      }
      // r + q still fits in 32 bytes and is ≡ r: an unreduced r is not the same signature.
      const rValue = BigInt(`0x${hex(r)}`);
      if (rValue + curve.q < 2n ** 256n) assert.equal(verify({ ...input, signature: join(s, be(rValue + curve.q)) }), false);
      assert.equal(verify({ ...input, signature: signature.subarray(1) }), false);
      assert.equal(verify({ ...input, signature: join(signature, Uint8Array.of(0)) }), false);
      assert.equal(verify({ ...input, publicKey: publicKey.subarray(1) }), false);
      assert.equal(verify({ ...input, publicKey: new Uint8Array(64) }), false, 'the all-zero key (no point: b ≠ 0)');
      // G itself as the key, with x = 1 written unreduced as 1 + p.
      const unreducedG = encodePublicKey(curve, { x: 1n, y: curve.gy });
      unreducedG.set(bigIntToBytesLittleEndian(1n + curve.p, 32), 0);
      assert.equal(verify({ ...input, publicKey: unreducedG }), false);
      assert.throws(() => verify({ ...input, digest: digest.subarray(1) }), TypeError);
    });

    it('refuses, on a cofactor-4 curve, a key on the curve but outside the base point\'s subgroup', () => {
      const curve = tc26Gost256A;
      const { privateKey, publicKey } = gostKeyPair(curve);
      const digest = randomBytes(32);
      const signature = gostSign({ curve, privateKey, digest });
      assert.equal(verify({ curve, publicKey, digest, signature }), true);
      const { key: outside, torsion } = pointOutsideSubgroup(curve);
      assert.equal(verify({ curve, publicKey: encodePublicKey(curve, outside), digest, signature }), false);
      assert.equal(verify({ curve, publicKey: encodePublicKey(curve, torsion), digest, signature }), false, 'a point of order 2 or 4');
    });
  });
}

type Affine = { x: bigint; y: bigint } | undefined;

/** Affine arithmetic written out plainly, independent of both verifiers, to build fixtures. */
function affineAdd(curve: GostCurve, P: Affine, Q: Affine): Affine {
  const { p, a } = curve;
  if (P === undefined) return Q;
  if (Q === undefined) return P;
  const inv = (v: bigint) => power(((v % p) + p) % p, p - 2n, p);
  let slope: bigint;
  if (P.x === Q.x) {
    if ((P.y + Q.y) % p === 0n) return undefined;
    slope = (3n * P.x * P.x + a) * inv(2n * P.y);
  } else {
    slope = (Q.y - P.y) * inv(Q.x - P.x);
  }
  slope %= p;
  const x = (((slope * slope - P.x - Q.x) % p) + p) % p;
  return { x, y: (((slope * (P.x - x) - P.y) % p) + p) % p };
}

function affineMultiply(curve: GostCurve, P: Affine, k: bigint): Affine {
  let result: Affine;
  for (let addend = P; k > 0n; k >>= 1n, addend = affineAdd(curve, addend, addend)) if (k & 1n) result = affineAdd(curve, result, addend);
  return result;
}

function power(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n, base = (base * base) % modulus) if (exponent & 1n) result = (result * base) % modulus;
  return result;
}

/**
 * G + T with T a torsion point (q·R for a random R, when that is not O): on the curve, looks
 * like any key, but its order is 2q or 4q; and T itself, of order 2 or 4. Needs p ≡ 3 (mod 4)
 * for the square root.
 */
function pointOutsideSubgroup(curve: GostCurve): { key: { x: bigint; y: bigint }; torsion: { x: bigint; y: bigint } } {
  const { p, a, b, q } = curve;
  for (let x = 2n; ; x++) {
    const rhs = (x ** 3n + a * x + b) % p;
    const y = power(rhs, (p + 1n) / 4n, p);
    if ((y * y) % p !== rhs) continue;
    const torsion = affineMultiply(curve, { x, y }, q);
    if (torsion === undefined) continue;
    const key = affineAdd(curve, { x: curve.gx, y: curve.gy }, torsion);
    if (key !== undefined) return { key, torsion };
  }
}
