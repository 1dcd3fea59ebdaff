// Signature-algorithm encodings shared by the verifier and the signers: the RSASSA-PSS
// parameters and the two forms of an ECDSA signature. Signers import these from here, never
// the other way round, so the verifier carries no signing code.
import { childAt, parseDer, readInteger } from '../asn1/der.ts';
import { algorithmIdentifier, contextConstructed, integer, sequence } from '../asn1/derWrite.ts';
import { OID } from '../asn1/oids.ts';

export type ShaDigest = 'sha256' | 'sha384' | 'sha512';

export const digestLength: Readonly<Record<ShaDigest, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** RSASSA-PSS-params (RFC 4055 §3.1) with every field explicit; trailerField left at its default. */
export function pssParameters(digest: ShaDigest, saltLength = digestLength[digest]): Uint8Array {
  const hashAlgorithm = algorithmIdentifier(OID[digest]);
  return sequence(
    contextConstructed(0, hashAlgorithm),
    contextConstructed(1, algorithmIdentifier(OID.mgf1, hashAlgorithm)),
    contextConstructed(2, integer(saltLength)),
  );
}

/**
 * An ECDSA signature as r‖s (JWS, WebCrypto, PKCS#11 CKM_ECDSA; each half the size of the
 * curve order) to the DER Ecdsa-Sig-Value SEQUENCE { r INTEGER, s INTEGER } of X.509 and CMS
 * (RFC 5753 §2.1.1). Range checks are the caller's: it knows the curve.
 */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new TypeError(`an r‖s ECDSA signature has an even length, not ${raw.length}`);
  const half = raw.length / 2;
  return sequence(integer(bytesToBigInt(raw.subarray(0, half))), integer(bytesToBigInt(raw.subarray(half))));
}

/** The inverse: DER Ecdsa-Sig-Value to r‖s of `size` bytes each. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array {
  const node = parseDer(der);
  const out = new Uint8Array(size * 2);
  [0, 1].forEach((index) => {
    let n = readInteger(childAt(node, index, index === 0 ? 'r' : 's'));
    for (let at = size * (index + 1) - 1; at >= size * index; at -= 1) {
      out[at] = Number(n & 0xffn);
      n >>= 8n;
    }
  });
  return out;
}

/** Big-endian unsigned bytes as a bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
