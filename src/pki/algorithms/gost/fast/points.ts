// Jacobian point arithmetic (X/Z², Y/Z³) over the WebAssembly field, on memory offsets. The
// formulas are the Explicit-Formulas Database's: dbl-2001-b (in fieldWat.ts, with α = 3X² + aZ⁴,
// which is 3(X − Z²)(X + Z²) when a = −3, as on every GOST curve but TC26 256-A and 512-C),
// madd-2007-bl and add-2007-bl. Their exceptional cases (equal or opposite inputs, points of order 2) are handled
// here, since a verifier's inputs are the attacker's. Each operation returns true when its result
// is the point at infinity, whose coordinates are then meaningless.
import type { GostCurve } from '../curves.ts';
import type { Field } from './field.ts';

export interface JacobianArithmetic {
  readonly field: Field;
  /** Offset of the field element 1 (R mod p). */
  readonly one: number;
  /** A point: three consecutive elements X, Y, Z (two, X and Y, for an affine point). */
  allocatePoints(count: number, coordinates: 2 | 3): number;
  /** out := 2·P; out may be P. */
  double(out: number, p: number): boolean;
  /** out := P + A for affine A (Z = 1); out may be P. */
  addAffine(out: number, p: number, a: number): boolean;
  /** out := P + Q; out may be P. */
  add(out: number, p: number, q: number): boolean;
  /** out := −P (Jacobian, or affine with `coordinates` 2). */
  negate(out: number, p: number, coordinates: 2 | 3): void;
}

export function jacobianArithmetic(curve: GostCurve, field: Field): JacobianArithmetic {
  const { mul, add, sub } = field;
  const size = field.bytes;
  const X = (p: number) => p;
  const Y = (p: number) => p + size;
  const Z = (p: number) => p + 2 * size;
  const aIsMinus3 = curve.a === curve.p - 3n;
  const constants = field.allocate(3);
  const [zero, one, a] = [constants, constants + size, constants + 2 * size];
  field.setMontgomery(one, 1n);
  field.setMontgomery(a, curve.a);
  // Ten consecutive scratch elements (the doubling uses the first eight).
  const t0 = field.allocate(10);
  const [t1, t2, t3, t4, t5, t6, t7, t8, t9] = Array.from({ length: 9 }, (_, i) => t0 + (i + 1) * size) as [number, number, number, number, number, number, number, number, number];
  const times2 = (r: number, x: number) => add(r, x, x);

  /** out := 2·P (dbl-2001-b, in WebAssembly: fieldWat.ts). */
  function double(out: number, p: number): boolean {
    if (field.isZero(Y(p))) return true; // a point of order 2
    field.double(out, p, t0, a, aIsMinus3);
    return false;
  }

  /** The common tail of madd-2007-bl and add-2007-bl from H (t4), r (t5), U1 (t6) and S1 (t7). */
  function finishAddition(out: number, writeZ: () => void): boolean {
    mul(t8, t4, t4); // HH
    times2(t9, t8);
    times2(t9, t9); // I = 4·HH
    mul(t0, t4, t9); // J = H·I
    mul(t9, t6, t9); // V = U1·I
    writeZ(); // Z3, from HH (t8) and H (t4); before X3 and Y3, which may overwrite P
    mul(t1, t5, t5);
    sub(t1, t1, t0);
    sub(t1, t1, t9);
    sub(X(out), t1, t9); // X3 = r² − J − 2V
    sub(t9, t9, X(out));
    mul(t9, t5, t9);
    mul(t0, t7, t0);
    times2(t0, t0);
    sub(Y(out), t9, t0); // Y3 = r·(V − X3) − 2·S1·J
    return false;
  }

  /** H = 0 means equal x: the same point (double it) or opposite points (infinity). */
  function exceptional(out: number, p: number): boolean {
    return field.isZero(t5) ? double(out, p) : true;
  }

  function addAffine(out: number, p: number, q: number): boolean {
    mul(t0, Z(p), Z(p)); // Z1Z1
    mul(t1, X(q), t0); // U2
    mul(t2, Y(q), Z(p));
    mul(t2, t2, t0); // S2
    sub(t4, t1, X(p)); // H
    sub(t5, t2, Y(p));
    times2(t5, t5); // r
    if (field.isZero(t4)) return exceptional(out, p);
    field.copy(t6, X(p), 1); // U1 = X1
    field.copy(t7, Y(p), 1); // S1 = Y1
    field.copy(t3, t0, 1);
    return finishAddition(out, () => {
      add(Z(out), Z(p), t4);
      mul(Z(out), Z(out), Z(out));
      sub(Z(out), Z(out), t3);
      sub(Z(out), Z(out), t8); // Z3 = (Z1 + H)² − Z1Z1 − HH
    });
  }

  function addJacobian(out: number, p: number, q: number): boolean {
    mul(t0, Z(p), Z(p)); // Z1Z1
    mul(t1, Z(q), Z(q)); // Z2Z2
    mul(t6, X(p), t1); // U1
    mul(t2, X(q), t0); // U2
    mul(t7, Y(p), Z(q));
    mul(t7, t7, t1); // S1
    mul(t3, Y(q), Z(p));
    mul(t3, t3, t0); // S2
    sub(t4, t2, t6); // H
    sub(t5, t3, t7);
    times2(t5, t5); // r
    if (field.isZero(t4)) return exceptional(out, p);
    add(t3, Z(p), Z(q));
    mul(t3, t3, t3);
    sub(t3, t3, t0);
    sub(t3, t3, t1); // (Z1 + Z2)² − Z1Z1 − Z2Z2
    // add-2007-bl's I = (2H)² is madd-2007-bl's 4·HH: the same tail, with Z3 = that · H.
    return finishAddition(out, () => mul(Z(out), t3, t4));
  }

  return {
    field,
    one,
    allocatePoints: (count, coordinates) => field.allocate(count * coordinates),
    double,
    addAffine,
    add: addJacobian,
    negate(out, p, coordinates) {
      field.copy(out, p, coordinates);
      sub(Y(out), zero, Y(p));
    },
  };
}
