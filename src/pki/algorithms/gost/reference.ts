// GOST R 34.10 verification on @noble/curves (RFC 7091 §6.2): the plain, obviously-correct
// path that the fast verifier is tested against. Pure TS.
import type { GostVerifyInput } from './verifyInput.ts';
import { verifyScalars } from './verifyInput.ts';
import { toCurvePoint, pointsOf } from './points.ts';

export function gostVerifyReference(input: GostVerifyInput): boolean {
  const scalars = verifyScalars(input);
  if (scalars === undefined) return false;
  const key = toCurvePoint(input.curve, scalars.key);
  if (key === undefined) return false;
  const c = pointsOf(input.curve).BASE.multiplyUnsafe(scalars.z1).add(key.multiplyUnsafe(scalars.z2));
  if (c.is0()) return false;
  return c.toAffine().x % input.curve.q === scalars.r;
}
