// GOST R 34.10-2001 / -2012 signing and key generation (RFC 7091 §6.1), for the development
// PKI and the sign-in page: pure TS on @noble/curves, no node: imports, no eval.
import { mod } from '@noble/curves/abstract/modular.js';
import { bytesToBigIntLittleEndian } from './bytes.ts';
import type { GostCurve } from './curves.ts';
import { digestToScalar, encodePublicKey, encodeSignature } from './encoding.ts';
import { pointsOf } from './points.ts';

export interface GostKeyPair {
  /** d, 0 < d < q. */
  privateKey: bigint;
  /** Q = d·G as X‖Y little-endian. */
  publicKey: Uint8Array;
}

export interface GostSignInput {
  curve: GostCurve;
  privateKey: bigint;
  /** The hash output (GOST R 34.11-94 or Streebog), `curve.size` bytes. */
  digest: Uint8Array;
}

export function gostKeyPair(curve: GostCurve): GostKeyPair {
  const privateKey = randomScalar(curve);
  return { privateKey, publicKey: gostPublicKey(curve, privateKey) };
}

export function gostPublicKey(curve: GostCurve, privateKey: bigint): Uint8Array {
  assertScalar(curve, privateKey, 'private key');
  return encodePublicKey(curve, pointsOf(curve).BASE.multiply(privateKey).toAffine());
}

/** The signature s‖r over `digest` with a fresh random k. */
export function gostSign({ curve, privateKey, digest }: GostSignInput): Uint8Array {
  for (;;) {
    const signature = gostSignWithNonce({ curve, privateKey, digest }, randomScalar(curve));
    if (signature !== undefined) return signature;
  }
}

/**
 * RFC 7091 §6.1 steps 2–6 with a given k: for the RFC's known-answer examples, never for real
 * keys. Undefined when k gives r = 0 or s = 0 (step 4/5: choose another k).
 */
export function gostSignWithNonce({ curve, privateKey, digest }: GostSignInput, k: bigint): Uint8Array | undefined {
  assertScalar(curve, privateKey, 'private key');
  assertScalar(curve, k, 'k');
  const e = digestToScalar(curve, digest);
  const r = mod(pointsOf(curve).BASE.multiply(k).toAffine().x, curve.q);
  const s = mod(r * privateKey + k * e, curve.q);
  if (r === 0n || s === 0n) return undefined;
  return encodeSignature(curve, { r, s });
}

/** Uniform enough in [1, q−1]: 64 extra random bits make the modulo bias negligible (FIPS 186-5 §A.2.1). */
function randomScalar(curve: GostCurve): bigint {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(curve.size + 8));
  return mod(bytesToBigIntLittleEndian(bytes), curve.q - 1n) + 1n;
}

function assertScalar(curve: GostCurve, value: bigint, what: string): void {
  if (value <= 0n || value >= curve.q) throw new TypeError(`${what} must be in [1, q−1] for ${curve.name}`);
}
