// The wire forms of GOST R 34.10 keys and signatures, and the digest-to-scalar rule, checked
// against OpenSSL's gost engine for 2001 and for 2012-256 and -512 alike:
// - public key: X‖Y, each `size` bytes little-endian (RFC 4491 §2.3.2, RFC 9215 §4.3);
// - signature: s‖r, each `size` bytes big-endian (RFC 4491 §2.2.2, RFC 9215 §4.2);
// - e: the digest read little-endian, mod q, and 1 if that is 0 (RFC 7091 §6.1 step 2, with the
//   hash vector's byte order of the implementations; RFC 5832 §6.1 likewise).
// Pure TS: the sign-in page signs with these.
import {
  bigIntToBytesBigEndian, bigIntToBytesLittleEndian, bytesToBigIntBigEndian, bytesToBigIntLittleEndian,
} from './bytes.ts';
import type { GostCurve } from './curves.ts';

export interface AffinePoint {
  x: bigint;
  y: bigint;
}

export interface GostSignatureValue {
  r: bigint;
  s: bigint;
}

/** X‖Y little-endian → the point, or undefined when the length is wrong or it is not on the curve. */
export function decodePublicKey(curve: GostCurve, raw: Uint8Array): AffinePoint | undefined {
  if (raw.length !== 2 * curve.size) return undefined;
  const point = {
    x: bytesToBigIntLittleEndian(raw.subarray(0, curve.size)),
    y: bytesToBigIntLittleEndian(raw.subarray(curve.size)),
  };
  return isOnCurve(curve, point) ? point : undefined;
}

export function encodePublicKey(curve: GostCurve, point: AffinePoint): Uint8Array {
  const raw = new Uint8Array(2 * curve.size);
  raw.set(bigIntToBytesLittleEndian(point.x, curve.size), 0);
  raw.set(bigIntToBytesLittleEndian(point.y, curve.size), curve.size);
  return raw;
}

/** s‖r big-endian → r and s, or undefined unless the length is right and 0 < r, s < q (RFC 7091 §6.2 step 1). */
export function decodeSignature(curve: GostCurve, signature: Uint8Array): GostSignatureValue | undefined {
  if (signature.length !== 2 * curve.size) return undefined;
  const s = bytesToBigIntBigEndian(signature.subarray(0, curve.size));
  const r = bytesToBigIntBigEndian(signature.subarray(curve.size));
  const inRange = (v: bigint) => v > 0n && v < curve.q;
  return inRange(r) && inRange(s) ? { r, s } : undefined;
}

export function encodeSignature(curve: GostCurve, { r, s }: GostSignatureValue): Uint8Array {
  const signature = new Uint8Array(2 * curve.size);
  signature.set(bigIntToBytesBigEndian(s, curve.size), 0);
  signature.set(bigIntToBytesBigEndian(r, curve.size), curve.size);
  return signature;
}

/**
 * e of RFC 7091 §6.1 step 2 from the hash output. The digest must be the curve's size (Streebog-256
 * or GOST R 34.11-94 for 32-byte curves, Streebog-512 for 64-byte ones): anything else is a
 * caller's mistake, a TypeError.
 */
export function digestToScalar(curve: GostCurve, digest: Uint8Array): bigint {
  if (digest.length !== curve.size) throw new TypeError(`a ${curve.name} digest is ${curve.size} bytes, not ${digest.length}`);
  const e = bytesToBigIntLittleEndian(digest) % curve.q;
  return e === 0n ? 1n : e;
}

/** Both coordinates reduced and y² = x³ + ax + b (mod p). */
export function isOnCurve(curve: GostCurve, { x, y }: AffinePoint): boolean {
  const { p, a, b } = curve;
  if (x >= p || y >= p) return false;
  return (y * y - (x * x * x + a * x + b)) % p === 0n;
}
