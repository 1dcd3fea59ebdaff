// CMS SignedData (RFC 5652 §5) made with node:crypto and the DER writer: the benchmark
// client, the admin `sign-in` command and tests sign challenges with it. `tamper` exists only
// so tests can build the malformed and hostile variants of docs/security-cases.md §A/§B byte-exactly;
// production callers never pass it.
import { createHash, constants, KeyObject, sign } from 'node:crypto';
import { cmsOid } from '../signin/cms.ts';
import { childAt, parseDer, readOctetString, readOid, type DerNode } from '../asn1/der.ts';
import {
  algorithmIdentifier, concat, contextConstructed, integer, nullValue, octetString, oid, retag, sequence,
  setOf, setUnsorted, tlv,
} from '../asn1/derWrite.ts';
import { OID } from '../asn1/oids.ts';
import { digestLength, pssParameters } from '../algorithms/encodings.ts';
import { berSignedData } from './ber.ts';
import { encodeTime } from './issue.ts';
import type { ExternalSigner } from './signer.ts';

export type CmsDigest = 'sha256' | 'sha384' | 'sha512';

export interface CmsTamper {
  /** Value of the content-type attribute instead of eContentType (RFC 5652 §11.1). */
  contentTypeAttribute?: string;
  /** Leave these attributes out of signedAttrs (RFC 5652 §5.3 requires both). */
  omitAttributes?: Array<'contentType' | 'messageDigest'>;
  /** A second messageDigest attribute, or a second value inside the one attribute. */
  duplicateMessageDigest?: 'attribute' | 'value';
  /** The messageDigest value instead of H(content). */
  messageDigest?: Uint8Array;
  /** Extra attributes (encoded Attribute SEQUENCEs) added to signedAttrs. */
  extraAttributes?: Uint8Array[];
  /** Encode signedAttrs in reverse DER order, and sign those exact bytes. */
  unsortedAttributes?: boolean;
  /** eContentType other than id-data (e.g. id-ct-TSTInfo). */
  eContentType?: string;
  /** Flip one bit of the signature value after signing. */
  flipSignatureBit?: boolean;
  /** Append a second SignerInfo (a copy of the first, or the given encoded one). */
  secondSignerInfo?: true | Uint8Array;
  /** RevocationInfoChoice elements for the `crls` [1] field (CRLs or [1] other, e.g. OCSP). */
  revocationInfo?: Uint8Array[];
  signedDataVersion?: number;
  signerInfoVersion?: number;
  /** Encoded AlgorithmIdentifier replacing the SignerInfo digestAlgorithm (and digestAlgorithms). */
  digestAlgorithm?: Uint8Array;
  /** Encoded AlgorithmIdentifier replacing the SignerInfo signatureAlgorithm. */
  signatureAlgorithm?: Uint8Array;
  /** Bytes appended after the ContentInfo. */
  trailingBytes?: Uint8Array;
}

export interface SignCmsOptions {
  content: Uint8Array;
  signerCertDer: Uint8Array;
  extraCertDers?: Uint8Array[];
  /** A node:crypto key, or an external signer (a GOST key), which also names the digest. */
  privateKey: KeyObject | ExternalSigner;
  /** No eContent: the verifier supplies the content (RFC 5652 §5.2). */
  detached?: boolean;
  /** Sign content-type + messageDigest attributes (default) or the content directly. */
  signedAttributes?: boolean;
  /** Ignored for Ed25519, which RFC 8419 §3.1 fixes to SHA-512, and for an external signer. */
  digest?: CmsDigest;
  /** `ber`: the outer structure as E-IMZO writes it (ber.ts berSignedData); default DER. */
  encoding?: 'der' | 'ber';
  /** A signing-time signed attribute (RFC 5652 §11.3), as E-IMZO adds. */
  signingTime?: Date;
  /** RSA keys: RSASSA-PSS (RFC 4056) with salt length = hash length instead of PKCS#1 v1.5. */
  pss?: boolean;
  /** SignerIdentifier choice: issuerAndSerialNumber (v1) or subjectKeyIdentifier (v3). */
  sid?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
  tamper?: CmsTamper;
}

const RSA_PKCS1: Record<CmsDigest, string> = {
  sha256: OID.sha256WithRSAEncryption,
  sha384: OID.sha384WithRSAEncryption,
  sha512: OID.sha512WithRSAEncryption,
};
const ECDSA: Record<CmsDigest, string> = {
  sha256: OID.ecdsaWithSHA256,
  sha384: OID.ecdsaWithSHA384,
  sha512: OID.ecdsaWithSHA512,
};

/** Encoded SignedData ContentInfo over `content`, signed by `privateKey`. */
export function signCms(options: SignCmsOptions): Uint8Array {
  const tamper = options.tamper ?? {};
  const signer = signerOf(options);
  const eContentType = tamper.eContentType ?? cmsOid.data;
  const sid = options.sid ?? 'issuerAndSerialNumber';
  const digestAlgorithm = tamper.digestAlgorithm ?? signer.digestAlgorithm;

  const signedAttrs = options.signedAttributes === false
    ? undefined
    : buildSignedAttributes(eContentType, signer.digest(options.content), options.signingTime, tamper);
  // RFC 5652 §5.4: with signedAttrs the signature covers their DER with the SET OF tag 0x31.
  const signedBytes = signedAttrs ?? options.content;
  const signature = signer.sign(signedBytes);
  if (tamper.flipSignatureBit) signature[signature.length - 1]! ^= 0x01;

  const signerInfo = sequence(
    integer(tamper.signerInfoVersion ?? (sid === 'subjectKeyIdentifier' ? 3 : 1)),
    signerIdentifier(options.signerCertDer, sid),
    digestAlgorithm,
    ...(signedAttrs === undefined ? [] : [retag(signedAttrs, 0xa0)]),
    tamper.signatureAlgorithm ?? signer.signatureAlgorithm,
    octetString(signature),
  );
  const signerInfos = tamper.secondSignerInfo === undefined
    ? [signerInfo]
    : [signerInfo, tamper.secondSignerInfo === true ? signerInfo : tamper.secondSignerInfo];

  const signedData = sequence(
    integer(tamper.signedDataVersion ?? (sid === 'subjectKeyIdentifier' || eContentType !== cmsOid.data ? 3 : 1)),
    setOf(digestAlgorithm),
    sequence(oid(eContentType), ...(options.detached ? [] : [contextConstructed(0, octetString(options.content))])),
    retag(setOf(options.signerCertDer, ...(options.extraCertDers ?? [])), 0xa0),
    ...(tamper.revocationInfo === undefined ? [] : [tlv(0xa1, ...tamper.revocationInfo)]),
    // Two identical SignerInfos cannot form a DER SET OF; the hostile input is built as given.
    setUnsorted(...signerInfos),
  );
  const contentInfo = sequence(oid(cmsOid.signedData), contextConstructed(0, signedData));
  const encoded = options.encoding === 'ber' ? berSignedData(contentInfo) : contentInfo;
  return tamper.trailingBytes === undefined ? encoded : concat(encoded, tamper.trailingBytes);
}

/** What signs: the external signer as it is, or a node:crypto key with its algorithm chosen here. */
function signerOf(options: SignCmsOptions): Omit<ExternalSigner, 'spki'> {
  const key = options.privateKey;
  if (!(key instanceof KeyObject)) return key;
  const keyType = key.asymmetricKeyType;
  const digest: CmsDigest = keyType === 'ed25519' ? 'sha512' : options.digest ?? 'sha256';
  const pss = options.pss === true;
  return {
    digestAlgorithm: algorithmIdentifier(OID[digest]),
    digest: (data) => hash(digest, data),
    signatureAlgorithm: signatureAlgorithm(keyType, digest, pss),
    sign: (data) => signWithKey(key, digest, data, pss),
  };
}

/** An Attribute SEQUENCE { attrType, attrValues SET OF } (RFC 5652 §5.3). */
export function attribute(type: string, ...values: Uint8Array[]): Uint8Array {
  return sequence(oid(type), setOf(...values));
}

function buildSignedAttributes(eContentType: string, contentDigest: Uint8Array, signingTime: Date | undefined, tamper: CmsTamper): Uint8Array {
  const omit = new Set(tamper.omitAttributes ?? []);
  const digestValue = octetString(tamper.messageDigest ?? contentDigest);
  const attributes = [
    ...(omit.has('contentType') ? [] : [attribute(cmsOid.contentType, oid(tamper.contentTypeAttribute ?? eContentType))]),
    ...(omit.has('messageDigest') ? [] : [tamper.duplicateMessageDigest === 'value'
      ? attribute(cmsOid.messageDigest, digestValue, octetString(new Uint8Array(contentDigest.length)))
      : attribute(cmsOid.messageDigest, digestValue)]),
    ...(tamper.duplicateMessageDigest === 'attribute'
      ? [attribute(cmsOid.messageDigest, octetString(new Uint8Array(contentDigest.length)))]
      : []),
    ...(signingTime === undefined ? [] : [attribute(cmsOid.signingTime, encodeTime(signingTime))]),
    ...(tamper.extraAttributes ?? []),
  ];
  if (!tamper.unsortedAttributes) return setOf(...attributes);
  return setUnsorted(...[...attributes].sort((a, b) => -Buffer.compare(a, b)));
}

function hash(digest: CmsDigest, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(digest).update(data).digest());
}

function signWithKey(key: KeyObject, digest: CmsDigest, data: Uint8Array, pss: boolean): Uint8Array {
  if (key.asymmetricKeyType === 'ed25519') return new Uint8Array(sign(null, data, key));
  if (pss) {
    return new Uint8Array(sign(digest, data, {
      key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestLength[digest],
    }));
  }
  // ECDSA signatures come out DER-encoded (Ecdsa-Sig-Value, RFC 5753 §2.1.1) by default.
  return new Uint8Array(sign(digest, data, key));
}

function signatureAlgorithm(keyType: string | undefined, digest: CmsDigest, pss: boolean): Uint8Array {
  switch (keyType) {
    case 'rsa':
      return pss ? algorithmIdentifier(OID.rsassaPss, pssParameters(digest)) : algorithmIdentifier(RSA_PKCS1[digest], nullValue());
    case 'ec':
      return algorithmIdentifier(ECDSA[digest]);
    case 'ed25519':
      return algorithmIdentifier(OID.ed25519);
    default:
      throw new TypeError(`signCms does not sign with ${keyType ?? 'unknown'} keys`);
  }
}

/** SignerIdentifier (RFC 5652 §5.3) taken from the signer certificate's own encoding. */
function signerIdentifier(certDer: Uint8Array, sid: 'issuerAndSerialNumber' | 'subjectKeyIdentifier'): Uint8Array {
  const tbs = childAt(parseDer(certDer), 0, 'tbsCertificate');
  const first = tbs.children[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional
  if (sid === 'issuerAndSerialNumber') {
    const serial = childAt(tbs, first, 'serialNumber');
    const issuer = childAt(tbs, first + 2, 'issuer');
    return sequence(issuer.bytes, serial.bytes);
  }
  return tlv(0x80, subjectKeyIdentifier(tbs));
}

function subjectKeyIdentifier(tbs: DerNode): Uint8Array {
  const extensions = tbs.children.find((child) => child.tag === 0xa3)?.children[0]?.children ?? [];
  for (const extension of extensions) {
    if (readOid(childAt(extension, 0, 'extnID')) !== OID.subjectKeyIdentifier) continue;
    const value = readOctetString(childAt(extension, extension.children.length - 1, 'extnValue'));
    return readOctetString(parseDer(value));
  }
  throw new TypeError('the signer certificate has no subjectKeyIdentifier to name it by');
}

