// A signer whose private key node:crypto does not hold: a GOST key of the development PKI, or
// in tests OpenSSL's gost engine. Issuing code takes one wherever it takes a KeyObject.
export interface ExternalSigner {
  /** SubjectPublicKeyInfo DER of the key. */
  spki: Uint8Array;
  /** The signature AlgorithmIdentifier (DER) of what `sign` makes. */
  signatureAlgorithm: Uint8Array;
  /** The digest AlgorithmIdentifier (DER) of the signature's hash, for a CMS SignerInfo. */
  digestAlgorithm: Uint8Array;
  /** That hash (a CMS messageDigest). */
  digest(data: Uint8Array): Uint8Array;
  /** The signature value over `data`, hashing included. */
  sign(data: Uint8Array): Uint8Array;
}
