// The fast GOST R 34.10 verifier: C = z1·G + z2·Q (RFC 7091 §6.2 step 5) by Straus–Shamir
// interleaving — one shared chain of doublings — with width-w NAF digits, a large table of
// precomputed affine odd multiples of G per curve (built once, lazily) and a small Jacobian one
// of Q per verification, over WebAssembly Montgomery arithmetic (fieldWat.ts). The checks before
// the arithmetic are the reference path's (verifyInput.ts); gostVerifyReference is what this is
// tested against. Service-side: it needs WebAssembly.
import type { GostCurve } from '../curves.ts';
import { pointsOf } from '../points.ts';
import { type GostVerifyInput, verifyScalars } from '../verifyInput.ts';
import { createField } from './field.ts';
import { type JacobianArithmetic, jacobianArithmetic } from './points.ts';

// G's digits: 2^(W_G − 2) = 256 table points (16 KiB per 256-bit curve) cut G's additions to
// about a quarter of a 4-bit window's. Q's table is rebuilt per verification, so it stays small.
const W_G = 10;
const W_Q = 5;

interface CurveContext {
  arithmetic: JacobianArithmetic;
  /** Affine odd multiples G, 3G, … of G (Montgomery form), 2^(W_G − 2) of them. */
  gTable: number;
  qTable: number;
  accumulator: number;
  negated: number;
  /** Scratch for the key, the final comparison and Z². */
  scratch: number;
}

const contexts = new WeakMap<GostCurve, CurveContext>();

export function gostVerify(input: GostVerifyInput): boolean {
  const scalars = verifyScalars(input);
  if (scalars === undefined) return false;
  const { curve } = input;
  const context = contextOf(curve);
  const { field } = context.arithmetic;
  // Q as a Jacobian point with Z = 1.
  field.setMontgomery(context.qTable, scalars.key.x);
  field.setMontgomery(context.qTable + curve.size, scalars.key.y);
  field.copy(context.qTable + 2 * curve.size, context.arithmetic.one, 1);
  const qEntries = buildQTable(context, curve);
  // On a cofactor curve the key must also lie in G's subgroup: q·Q = O (the reference path's check).
  if (curve.h !== 1n && !multiScalar(context, curve, 0n, curve.q, qEntries)) return false;
  if (multiScalar(context, curve, scalars.z1, scalars.z2, qEntries)) return false;
  return xMatches(context, curve, scalars.r);
}

function contextOf(curve: GostCurve): CurveContext {
  let context = contexts.get(curve);
  if (context === undefined) {
    const arithmetic = jacobianArithmetic(curve, createField(curve));
    const gTable = arithmetic.allocatePoints(1 << (W_G - 2), 2);
    // G's odd multiples, computed once with the reference arithmetic and stored affine.
    const Point = pointsOf(curve);
    const twoG = Point.BASE.double();
    for (let i = 0, multiple = Point.BASE; i < 1 << (W_G - 2); i++, multiple = multiple.add(twoG)) {
      const { x, y } = multiple.toAffine();
      arithmetic.field.setMontgomery(gTable + 2 * i * curve.size, x);
      arithmetic.field.setMontgomery(gTable + (2 * i + 1) * curve.size, y);
    }
    context = {
      arithmetic,
      gTable,
      qTable: arithmetic.allocatePoints(1 << (W_Q - 2), 3),
      accumulator: arithmetic.allocatePoints(1, 3),
      negated: arithmetic.allocatePoints(1, 3),
      scratch: arithmetic.field.allocate(3),
    };
    contexts.set(curve, context);
  }
  return context;
}

/** Q, 3Q, 5Q, … in the Q table; which of them are the point at infinity (only for a Q of small order). */
function buildQTable(context: CurveContext, curve: GostCurve): boolean[] {
  const { arithmetic, qTable, accumulator } = context;
  const pointBytes = 3 * curve.size;
  const infinite = [false];
  const twoQInfinite = arithmetic.double(accumulator, qTable);
  for (let i = 1; i < 1 << (W_Q - 2); i++) {
    const previous = qTable + (i - 1) * pointBytes;
    const current = qTable + i * pointBytes;
    if (twoQInfinite || infinite[i - 1]!) {
      arithmetic.field.copy(current, twoQInfinite ? previous : accumulator, 3);
      infinite.push(twoQInfinite ? infinite[i - 1]! : false);
      continue;
    }
    arithmetic.field.copy(current, previous, 3);
    infinite.push(arithmetic.add(current, current, accumulator));
  }
  return infinite;
}

/** accumulator := zG·G + zQ·Q; true when that is the point at infinity. */
function multiScalar(context: CurveContext, curve: GostCurve, zG: bigint, zQ: bigint, qInfinite: boolean[]): boolean {
  const { arithmetic, gTable, qTable, accumulator, negated } = context;
  const gDigits = wnaf(zG, W_G, curve.size);
  const qDigits = wnaf(zQ, W_Q, curve.size);
  let infinite = true;
  /** accumulator += ±(the digit's odd multiple) from an affine (2) or Jacobian (3) table. */
  const addDigit = (digit: number, table: number, coordinates: 2 | 3) => {
    let entry = table + (Math.abs(digit) >> 1) * coordinates * curve.size;
    if (digit < 0) {
      arithmetic.negate(negated, entry, coordinates);
      entry = negated;
    }
    if (infinite) {
      arithmetic.field.copy(accumulator, entry, coordinates);
      if (coordinates === 2) arithmetic.field.copy(accumulator + 2 * curve.size, arithmetic.one, 1);
      infinite = false;
    } else {
      infinite = coordinates === 2 ? arithmetic.addAffine(accumulator, accumulator, entry) : arithmetic.add(accumulator, accumulator, entry);
    }
  };
  for (let bit = Math.max(gDigits.length, qDigits.length) - 1; bit >= 0; bit--) {
    if (!infinite) infinite = arithmetic.double(accumulator, accumulator);
    const g = gDigits[bit] ?? 0;
    if (g !== 0) addDigit(g, gTable, 2);
    const q = qDigits[bit] ?? 0;
    if (q !== 0 && !qInfinite[Math.abs(q) >> 1]) addDigit(q, qTable, 3);
  }
  return infinite;
}

/**
 * x(C) mod q = r, without leaving Jacobian coordinates: x = X/Z², and x ≡ r (mod q) with x < p
 * means x = r + k·q for some k ≥ 0 with r + k·q < p; so compare X with (r + k·q)·Z².
 */
function xMatches(context: CurveContext, curve: GostCurve, r: bigint): boolean {
  const { field } = context.arithmetic;
  const { accumulator, scratch } = context;
  const zz = scratch;
  const candidate = scratch + curve.size;
  field.mul(zz, accumulator + 2 * curve.size, accumulator + 2 * curve.size);
  for (let x = r; x < curve.p; x += curve.q) {
    field.setMontgomery(candidate, x);
    field.mul(candidate, candidate, zz);
    if (field.equal(candidate, accumulator)) return true;
  }
  return false;
}

/**
 * Width-w NAF of k, least significant digit first: odd digits in (−2^(w−1), 2^(w−1)) with at
 * least w − 1 zeros after each (the recoding of libsecp256k1's ecmult_wnaf, on 32-bit limbs).
 */
function wnaf(k: bigint, w: number, bytes: number): Int16Array {
  const limbs = new Uint32Array(bytes / 4 + 1); // a spare zero limb absorbs the final carry
  const hex = k.toString(16).padStart(2 * bytes, '0');
  for (let i = 0; i < bytes / 4; i++) limbs[i] = parseInt(hex.slice(hex.length - 8 * (i + 1), hex.length - 8 * i), 16);
  const length = 32 * limbs.length;
  const digits = new Int16Array(length);
  let carry = 0;
  let last = -1;
  for (let bit = 0; bit < length;) {
    if (((limbs[bit >>> 5]! >>> (bit & 31)) & 1) === carry) {
      bit++;
      continue;
    }
    const now = Math.min(w, length - bit);
    let word = bitsAt(limbs, bit, now) + carry;
    carry = (word >> (w - 1)) & 1;
    word -= carry << w;
    digits[bit] = word;
    last = bit;
    bit += now;
  }
  return digits.subarray(0, last + 1);
}

function bitsAt(limbs: Uint32Array, bit: number, count: number): number {
  const index = bit >>> 5;
  const shift = bit & 31;
  let value = limbs[index]! >>> shift;
  if (shift + count > 32) value |= limbs[index + 1]! << (32 - shift);
  return value & ((1 << count) - 1);
}
