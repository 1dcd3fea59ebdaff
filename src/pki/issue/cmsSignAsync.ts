// CMS SignedData (RFC 5652 §5) with the signature made by an async function, so the sign-in
// page can sign with a WebCrypto key. Browser-safe: the DER writer, the strict DER reader
// and WebCrypto digests only (no Buffer, no node:crypto). cmsSign.ts remains the node
// signer with the tamper knobs tests need; this one only ever builds the canonical form.
import { childAt, parseDer } from '../asn1/der.ts';
import { algorithmIdentifier, contextConstructed, integer, octetString, oid, retag, sequence, setOf } from '../asn1/derWrite.ts';
import { OID } from '../asn1/oids.ts';

export type AsyncCmsDigest = 'sha256' | 'sha384' | 'sha512';

/** A hash WebCrypto lacks (O'zDSt 1106), computed by the caller: its AlgorithmIdentifier and the function. */
export interface CmsHash {
  algorithm: Uint8Array;
  hash(data: Uint8Array): Uint8Array;
}

export interface SignCmsAsyncOptions {
  content: Uint8Array;
  signerCertDer: Uint8Array;
  extraCertDers?: Uint8Array[];
  digest: AsyncCmsDigest | CmsHash;
  /** Encoded AlgorithmIdentifier of the signature (RFC 5754 §3 for RSA and ECDSA, RFC 8419 §2.3 for Ed25519). */
  signatureAlgorithm: Uint8Array;
  /** Signs the DER of the signed attributes; ECDSA results as a DER Ecdsa-Sig-Value. */
  sign: (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>;
  /** No eContent: the verifier supplies the content (RFC 5652 §5.2). Default true. */
  detached?: boolean;
}

// RFC 5652 §4, §5 and §11; the same values as cms.ts `cmsOid`, which imports node:crypto.
const cmsOid = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
} as const;

const webDigest: Record<AsyncCmsDigest, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** Encoded SignedData ContentInfo over `content`, with contentType and messageDigest signed attributes. */
export async function signCmsAsync(options: SignCmsAsyncOptions): Promise<Uint8Array> {
  const { digest } = options;
  const digestAlgorithm = typeof digest === 'string' ? algorithmIdentifier(OID[digest]) : digest.algorithm;
  const contentDigest = typeof digest === 'string'
    ? new Uint8Array(await crypto.subtle.digest(webDigest[digest], copy(options.content)))
    : digest.hash(options.content);
  const signedAttrs = setOf(
    sequence(oid(cmsOid.contentType), setOf(oid(cmsOid.data))),
    sequence(oid(cmsOid.messageDigest), setOf(octetString(contentDigest))),
  );
  // RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag 0x31.
  const signature = await options.sign(copy(signedAttrs));
  const signerInfo = sequence(
    integer(1),
    issuerAndSerialNumber(options.signerCertDer),
    digestAlgorithm,
    retag(signedAttrs, 0xa0),
    options.signatureAlgorithm,
    octetString(signature),
  );
  const signedData = sequence(
    integer(1),
    setOf(digestAlgorithm),
    sequence(oid(cmsOid.data), ...(options.detached === false ? [contextConstructed(0, octetString(options.content))] : [])),
    retag(setOf(options.signerCertDer, ...(options.extraCertDers ?? [])), 0xa0),
    setOf(signerInfo),
  );
  return sequence(oid(cmsOid.signedData), contextConstructed(0, signedData));
}

/** IssuerAndSerialNumber (RFC 5652 §10.2.4) copied from the certificate's own encoding. */
function issuerAndSerialNumber(certDer: Uint8Array): Uint8Array {
  const tbs = childAt(parseDer(certDer), 0, 'tbsCertificate');
  const first = tbs.children[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional
  return sequence(childAt(tbs, first + 2, 'issuer').bytes, childAt(tbs, first, 'serialNumber').bytes);
}

const copy = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);
