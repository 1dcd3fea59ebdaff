// The fast verifier against the reference path, on random valid and invalid inputs of every
// curve, and the committed WebAssembly against its source. (signature.test.ts runs every proof
// — RFC examples, OpenSSL's gost engine, real certificates, tampering — on both paths too.)
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { assembleFieldWasm } from '../../../../scripts/gostWasmAssemble.ts';
import { cryptoProA, cryptoProC, gostCurves, tc26Gost512A, tc26Gost512B } from '../../../../src/pki/algorithms/gost/curves.ts';
import { createField } from '../../../../src/pki/algorithms/gost/fast/field.ts';
import { gostVerify } from '../../../../src/pki/algorithms/gost/fast/verify.ts';
import { fieldWasmBase64 } from '../../../../src/pki/algorithms/gost/fast/fieldWasm.ts';
import { gostVerifyReference } from '../../../../src/pki/algorithms/gost/reference.ts';
import { gostKeyPair, gostSign } from '../../../../src/pki/algorithms/gost/sign.ts';

describe('fast GOST R 34.10 verifier', () => {
  for (const curve of [cryptoProA, cryptoProC, tc26Gost512A, tc26Gost512B]) {
    it(`WebAssembly field arithmetic mod ${curve.name}'s p agrees with BigInt, edge values included`, () => {
      const field = createField(curve);
      const [a, b, r] = [field.allocate(1), field.allocate(1), field.allocate(1)];
      const { p } = curve;
      const bits = BigInt(8 * curve.size);
      const random = () => BigInt(`0x${randomBytes(curve.size + 8).toString('hex')}`) % p;
      const edges = [0n, 1n, 2n, p - 1n, p - 2n, (p - 1n) / 2n, 2n ** (bits - 1n) % p, 2n ** 32n - 1n];
      const values = [...edges, ...Array.from({ length: 40 }, random)];
      for (const x of values) {
        for (const y of [...edges, random(), random()]) {
          field.setMontgomery(a, x);
          field.setMontgomery(b, y);
          field.mul(r, a, b);
          assert.equal(field.read(r), ((x * y) << bits) % p, `${x}·${y}`);
          field.add(r, a, b);
          assert.equal(field.read(r), ((x + y) << bits) % p, `${x}+${y}`);
          field.sub(r, a, b);
          assert.equal(field.read(r), ((((x - y) % p) + p) << bits) % p, `${x}−${y}`);
        }
      }
    });
  }

  for (const curve of gostCurves) {
    it(`${curve.name}: agrees with the reference on random signatures, their corruptions and crossed keys`, () => {
      const pairs = [gostKeyPair(curve), gostKeyPair(curve)] as const;
      for (let i = 0; i < 12; i++) {
        const [signer, other] = i % 2 === 0 ? pairs : [pairs[1], pairs[0]];
        const digest = randomBytes(curve.size);
        const signature = gostSign({ curve, privateKey: signer.privateKey, digest });
        const cases = [
          { curve, publicKey: signer.publicKey, digest, signature },
          { curve, publicKey: other.publicKey, digest, signature },
          { curve, publicKey: signer.publicKey, digest: randomBytes(curve.size), signature },
          { curve, publicKey: signer.publicKey, digest, signature: withRandomByte(signature) },
          { curve, publicKey: withRandomByte(signer.publicKey), digest, signature },
        ];
        const expected = [true, false, false, false, false];
        cases.forEach((input, n) => {
          const reference = gostVerifyReference(input);
          assert.equal(gostVerify(input), reference, `case ${n}`);
          assert.equal(reference, expected[n], `case ${n}`);
        });
      }
    });
  }

  it('the committed WebAssembly (fieldWasm.ts) is what scripts/gostWasm.ts builds from fieldWat.ts', async () => {
    assert.equal(Buffer.from(await assembleFieldWasm()).toString('base64'), fieldWasmBase64);
  });
});

function withRandomByte(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[randomInt(copy.length)]! ^= 1 + randomInt(255);
  return copy;
}
