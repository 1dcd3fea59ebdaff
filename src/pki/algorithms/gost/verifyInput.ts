// What every GOST R 34.10 verification checks before any point arithmetic (RFC 7091 §6.2),
// shared by the reference path and the fast path so that both refuse exactly the same inputs.
import { invert } from '@noble/curves/abstract/modular.js';
import type { GostCurve } from './curves.ts';
import { type AffinePoint, decodePublicKey, decodeSignature, digestToScalar } from './encoding.ts';

export interface GostVerifyInput {
  curve: GostCurve;
  /** X‖Y, each `curve.size` bytes little-endian, as the SubjectPublicKeyInfo carries it. */
  publicKey: Uint8Array;
  /** The hash output (GOST R 34.11-94 or Streebog), `curve.size` bytes. */
  digest: Uint8Array;
  /** s‖r, each `curve.size` bytes big-endian. */
  signature: Uint8Array;
}

export interface VerifyScalars {
  key: AffinePoint;
  r: bigint;
  /** z1 = s·v and z2 = −r·v mod q, v = e⁻¹ (step 4): C = z1·G + z2·Q must have x ≡ r (mod q). */
  z1: bigint;
  z2: bigint;
}

/** The key on the curve, 0 < r, s < q and the scalars of step 4; undefined when the signature must be refused. */
export function verifyScalars({ curve, publicKey, digest, signature }: GostVerifyInput): VerifyScalars | undefined {
  const e = digestToScalar(curve, digest);
  const key = decodePublicKey(curve, publicKey);
  const rs = decodeSignature(curve, signature);
  if (key === undefined || rs === undefined) return undefined;
  const v = invert(e, curve.q);
  return { key, r: rs.r, z1: (rs.s * v) % curve.q, z2: ((curve.q - rs.r) * v) % curve.q };
}
