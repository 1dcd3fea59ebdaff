// Plain data that src/pki/ hands to the rest of the service and between its own modules.
// Nothing here is a pkijs or asn1js type. Byte fields are Uint8Array views, never copies
// callers may mutate.
import type { NationalIdentity } from './nationalIdentity.ts';

/** One attribute of a relative distinguished name. `type` is a dotted OID. */
export interface NameAttribute {
  type: string;
  /** Decoded string value (UTF-8 / Printable / IA5 / BMP / Teletex as Latin-1). */
  value: string;
  /** The ASN.1 universal tag of the value (12 UTF8String, 19 PrintableString, …). */
  tag: number;
}

export interface Name {
  /** The DER of the Name SEQUENCE, exactly as it appears in the certificate. */
  der: Uint8Array;
  /** RDNSequence in encoded order; each RDN is a SET of attributes. */
  rdns: NameAttribute[][];
  /** RFC 4514 text (most significant RDN last, as `openssl -nameopt RFC2253` prints). */
  text: string;
  /** Canonical RFC 4514 text for comparison (RFC 5280 §7.1): see name.ts `canonicalDn`. */
  canonical: string;
}

export interface AlgorithmIdentifier {
  oid: string;
  /** DER of the parameters field when present (NULL included), else undefined. */
  parameters?: Uint8Array;
}

export type PublicKeyInfo =
  | { kind: 'rsa'; bits: number; exponent: bigint }
  | { kind: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' | 'other'; curveOid?: string }
  | { kind: 'ed25519' }
  | { kind: 'other'; oid: string };

export interface Extension {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (the DER inside the OCTET STRING). */
  value: Uint8Array;
}

/** GeneralName (RFC 5280 §4.2.1.6), reduced to what validation and identity use. */
export type GeneralName =
  | { type: 'dns'; value: string }
  | { type: 'email'; value: string }
  | { type: 'uri'; value: string }
  | { type: 'ip'; value: Uint8Array }
  | { type: 'dn'; value: Name }
  | { type: 'other'; tag: number; der: Uint8Array };

export interface GeneralSubtree {
  base: GeneralName;
  minimum: number;
  maximum?: number;
}

export interface PolicyInformation {
  oid: string;
  /** DER of policyQualifiers when present. */
  qualifiers?: Uint8Array;
}

export interface DistributionPoint {
  fullName?: GeneralName[];
  nameRelativeToCrlIssuer?: NameAttribute[];
  reasons?: number; // bit mask, bit 0 = unused … RFC 5280 ReasonFlags
  crlIssuer?: GeneralName[];
}

export type KeyUsageName =
  | 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment'
  | 'keyAgreement' | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly';

/** An X.509 v1/v3 certificate, strictly DER-parsed, with the extensions validation needs decoded. */
export interface ParsedCertificate {
  der: Uint8Array;
  /** Lower-case hex SHA-256 of `der`. */
  sha256: string;
  /** DER of tbsCertificate: what the issuer's signature covers. */
  tbs: Uint8Array;
  version: 1 | 2 | 3;
  /** Upper-case hex, as `openssl x509 -serial` prints it (no sign byte stripping beyond DER's). */
  serialHex: string;
  signatureAlgorithm: AlgorithmIdentifier;
  /** The algorithm inside tbsCertificate; must equal signatureAlgorithm (RFC 5280 §4.1.1.2). */
  tbsSignatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  issuer: Name;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  /** DER of SubjectPublicKeyInfo, ready for crypto.createPublicKey({format:'der',type:'spki'}). */
  spki: Uint8Array;
  publicKey: PublicKeyInfo;
  extensions: Extension[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: Set<KeyUsageName>;
  /** OIDs of extendedKeyUsage. */
  extKeyUsage?: string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: { keyId?: Uint8Array; issuer?: GeneralName[]; serialHex?: string };
  subjectAltName?: GeneralName[];
  nameConstraints?: { permitted?: GeneralSubtree[]; excluded?: GeneralSubtree[] };
  certificatePolicies?: PolicyInformation[];
  policyMappings?: Array<{ issuerDomainPolicy: string; subjectDomainPolicy: string }>;
  policyConstraints?: { requireExplicitPolicy?: number; inhibitPolicyMapping?: number };
  inhibitAnyPolicy?: number;
  crlDistributionPoints?: DistributionPoint[];
  authorityInfoAccess?: { ocsp: string[]; caIssuers: string[] };
}

/**
 * Who a certificate names, read only from the certificate whose key verified the signature:
 * the person and, for an employee, the organisation (nationalIdentity.ts says which attribute
 * feeds which claim), the e-mail address and the certificate's facts.
 */
export interface Identity extends NationalIdentity {
  email?: string;
  certificate: {
    serialNumber: string;
    issuer: string;
    subject: string;
    notBefore: string;
    notAfter: string;
    sha256: string;
  };
}
