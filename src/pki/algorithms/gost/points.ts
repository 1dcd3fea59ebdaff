// GOST curves on @noble/curves' Weierstrass arithmetic: the reference path and the signer.
// noble's types stay in this folder; callers see bigint and Uint8Array only. Pure TS, no
// eval or WebAssembly: the sign-in page (CSP without 'unsafe-eval') bundles this.
import { weierstrass, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import type { GostCurve } from './curves.ts';
import type { AffinePoint } from './encoding.ts';

export type Point = WeierstrassPoint<bigint>;

const constructors = new WeakMap<GostCurve, WeierstrassPointCons<bigint>>();

/** noble's point type for `curve`, built once per curve object (tests pass RFC test curves too). */
export function pointsOf(curve: GostCurve): WeierstrassPointCons<bigint> {
  let Point = constructors.get(curve);
  if (Point === undefined) {
    Point = weierstrass({ p: curve.p, n: curve.q, h: curve.h, a: curve.a, b: curve.b, Gx: curve.gx, Gy: curve.gy });
    constructors.set(curve, Point);
  }
  return Point;
}

/** The point, if it is on the curve and (cofactor curves) in the base point's subgroup; else undefined. */
export function toCurvePoint(curve: GostCurve, affine: AffinePoint): Point | undefined {
  try {
    const point = pointsOf(curve).fromAffine(affine);
    point.assertValidity();
    return point;
  } catch {
    return undefined;
  }
}
