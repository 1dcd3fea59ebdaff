// Certificate issuance for the development PKI and for tests (RFC 5280 §4). The TBS is
// built with the project's DER writer and signed with node:crypto, so tests can also
// make what a validator must refuse: SHA-1 and MD5 signatures, small RSA keys, odd curves,
// missing or unusual extensions.
import { createHash, generateKeyPair, KeyObject, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import { encodeDn } from './dn.ts';
import {
  algorithmIdentifier,
  contextConstructed,
  contextPrimitive,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  tlv,
} from '../asn1/derWrite.ts';
import type { KeyUsageName } from '../x509/model.ts';
import { ekuByName, OID } from '../asn1/oids.ts';
import type { ExternalSigner } from './signer.ts';

export type KeyKind =
  | 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ec-secp256k1'
  | 'rsa-1024' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096'
  | 'ed25519' | 'ed448';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export type SignatureHash = 'sha256' | 'sha384' | 'sha512' | 'sha1' | 'md5';

export interface IssueOptions {
  /** RFC 4514 text, most significant RDN last: `CN=…,PINFL=…,O=…,C=UZ`. */
  subject: string;
  /** The signing CA, its key held by node:crypto or by an external signer (a GOST key); absent means self-signed with `privateKey`. */
  issuer?: { certDer: Uint8Array; privateKey: KeyObject | ExternalSigner };
  /** A node:crypto key, or SubjectPublicKeyInfo DER (a GOST key). */
  publicKey: KeyObject | Uint8Array;
  /** The subject's own private key; needed only for a self-signed certificate. */
  privateKey?: KeyObject | ExternalSigner;
  /** Positive serial number in hex as `openssl x509 -serial` prints it; random 127 bits by default. */
  serialHex?: string;
  notBefore: Date;
  notAfter: Date;
  /** Version 1 certificates carry no extensions at all (every extension option is ignored). */
  version?: 1 | 3;
  ca?: boolean;
  pathLen?: number;
  /** Defaults: keyCertSign+cRLSign for a CA, digitalSignature otherwise; `null` leaves keyUsage out. */
  keyUsage?: KeyUsageName[] | null;
  /** Names of oids.ts `ekuByName` (clientAuth, emailProtection, …) or dotted OIDs; absent leaves it out. */
  extKeyUsage?: string[];
  omitBasicConstraints?: boolean;
  subjectAltName?: Array<{ type: 'email' | 'dns' | 'uri'; value: string }>;
  extraExtensions?: Array<{ oid: string; critical: boolean; valueDer: Uint8Array }>;
  /** Defaults to the issuer key's natural hash: SHA-256 (RSA, P-256), SHA-384 (P-384), SHA-512 (P-521). */
  signatureHash?: SignatureHash;
  crlUrl?: string;
  ocspUrl?: string;
  /** Both key identifiers are included unless set to false (RFC 5280 §4.2.1.1, §4.2.1.2). */
  subjectKeyId?: boolean;
  authorityKeyId?: boolean;
}

export interface IssuedCertificate {
  der: Uint8Array;
  pem: string;
  /** Upper-case hex, as `openssl x509 -serial` prints it. */
  serialHex: string;
}

const rsaBits = { 'rsa-1024': 1024, 'rsa-2048': 2048, 'rsa-3072': 3072, 'rsa-4096': 4096 } as const;
const ecCurves = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521', 'ec-secp256k1': 'secp256k1' } as const;

export function createKeyPair(kind: KeyKind): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: KeyObject, privateKey: KeyObject): void =>
      error ? reject(error) : resolve({ publicKey, privateKey });
    if (kind in rsaBits) {
      generateKeyPair('rsa', { modulusLength: rsaBits[kind as keyof typeof rsaBits] }, done);
    } else if (kind in ecCurves) {
      generateKeyPair('ec', { namedCurve: ecCurves[kind as keyof typeof ecCurves] }, done);
    } else if (kind === 'ed25519') {
      generateKeyPair('ed25519', {}, done);
    } else if (kind === 'ed448') {
      generateKeyPair('ed448', {}, done);
    } else {
      reject(new TypeError(`unknown key kind ${String(kind)}`));
    }
  });
}

// RFC 5280 §4.2.1.3 bit positions.
const keyUsageBits: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

export async function issueCertificate(options: IssueOptions): Promise<IssuedCertificate> {
  const signerKey = options.issuer?.privateKey ?? options.privateKey;
  if (signerKey === undefined) throw new TypeError('a self-signed certificate needs options.privateKey');
  const spki = options.publicKey instanceof Uint8Array ? options.publicKey : new Uint8Array(options.publicKey.export({ type: 'spki', format: 'der' }));
  const subjectName = encodeDn(options.subject);
  const issuerCert = options.issuer ? readIssuer(options.issuer.certDer) : undefined;
  const signer = signingWith(signerKey, options.signatureHash);
  const serial = serialBytes(options.serialHex);
  const version = options.version ?? 3;

  const tbs = sequence(
    ...(version === 3 ? [contextConstructed(0, integer(2))] : []),
    tlv(0x02, serial),
    signer.algorithm,
    issuerCert?.subject ?? subjectName,
    sequence(encodeTime(options.notBefore), encodeTime(options.notAfter)),
    subjectName,
    spki,
    ...(version === 3 ? [contextConstructed(3, sequence(...extensions(options, spki, issuerCert)))] : []),
  );
  const der = sequence(tbs, signer.algorithm, tlv(0x03, Uint8Array.of(0), signer.sign(tbs)));
  return { der, pem: toPem(der, 'CERTIFICATE'), serialHex: opensslSerial(serial) };
}

export function toPem(der: Uint8Array, label: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function extensions(options: IssueOptions, spki: Uint8Array, issuer: IssuerFacts | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ca = options.ca ?? false;
  if (!options.omitBasicConstraints) {
    const pathLen = options.pathLen === undefined ? [] : [integer(options.pathLen)];
    out.push(extension(OID.basicConstraints, true, sequence(...(ca ? [tlv(0x01, Uint8Array.of(0xff))] : []), ...pathLen)));
  }
  const keyUsage = options.keyUsage === undefined ? defaultKeyUsage(ca) : options.keyUsage;
  if (keyUsage !== null) out.push(extension(OID.keyUsage, true, keyUsageBitString(keyUsage)));
  if (options.extKeyUsage !== undefined) {
    const oids = options.extKeyUsage.map((name) => ekuByName[name] ?? name);
    out.push(extension(OID.extKeyUsage, false, sequence(...oids.map(oid))));
  }
  const ownKeyId = keyIdentifier(spki);
  if (options.subjectKeyId !== false) out.push(extension(OID.subjectKeyIdentifier, false, octetString(ownKeyId)));
  if (options.authorityKeyId !== false) {
    out.push(extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, issuer?.keyId ?? ownKeyId))));
  }
  if (options.subjectAltName !== undefined) {
    const tags = { email: 0x81, dns: 0x82, uri: 0x86 } as const;
    const names = options.subjectAltName.map(({ type, value }) => tlv(tags[type], new TextEncoder().encode(value)));
    out.push(extension(OID.subjectAltName, false, sequence(...names)));
  }
  if (options.crlUrl !== undefined) {
    // DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } }
    const uri = contextPrimitive(6, new TextEncoder().encode(options.crlUrl));
    out.push(extension(OID.crlDistributionPoints, false, sequence(sequence(contextConstructed(0, contextConstructed(0, uri))))));
  }
  if (options.ocspUrl !== undefined) {
    const uri = contextPrimitive(6, new TextEncoder().encode(options.ocspUrl));
    out.push(extension(OID.authorityInfoAccess, false, sequence(sequence(oid(OID.accessOcsp), uri))));
  }
  for (const extra of options.extraExtensions ?? []) out.push(extension(extra.oid, extra.critical, extra.valueDer));
  return out;
}

const defaultKeyUsage = (ca: boolean): KeyUsageName[] => (ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']);

function extension(extnId: string, critical: boolean, value: Uint8Array): Uint8Array {
  // DER leaves out `critical` when it has its DEFAULT value FALSE (X.690 §11.5).
  return sequence(oid(extnId), ...(critical ? [tlv(0x01, Uint8Array.of(0xff))] : []), octetString(value));
}

// Named bits in DER drop trailing zero bits and count them as unused (X.690 §11.2.2).
function keyUsageBitString(names: KeyUsageName[]): Uint8Array {
  const positions = names.map((name) => keyUsageBits[name]);
  if (positions.length === 0) return tlv(0x03, Uint8Array.of(0));
  const bitCount = Math.max(...positions) + 1;
  const bytes = new Uint8Array(Math.ceil(bitCount / 8));
  for (const bit of positions) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  return tlv(0x03, Uint8Array.of(bytes.length * 8 - bitCount), bytes);
}

// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
function keyIdentifier(spki: Uint8Array): Uint8Array {
  const parsed = asn1js.fromBER(spki);
  const bits = (parsed.result as asn1js.Sequence).valueBlock.value[1];
  if (!(bits instanceof asn1js.BitString)) throw new TypeError('SubjectPublicKeyInfo without a BIT STRING');
  return new Uint8Array(createHash('sha1').update(bits.valueBlock.valueHexView).digest());
}

interface IssuerFacts {
  subject: Uint8Array;
  keyId: Uint8Array;
}

// The issuer's subject is copied byte for byte so name chaining (RFC 5280 §7.1) holds for
// any CA, including ones made by OpenSSL; its keyId feeds authorityKeyIdentifier.
function readIssuer(certDer: Uint8Array): IssuerFacts {
  const parsed = asn1js.fromBER(certDer);
  if (parsed.offset === -1) throw new TypeError('issuer certificate is not DER');
  const tbs = (parsed.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const fields = tbs.valueBlock.value;
  const shift = fields[0]?.idBlock.tagClass === 3 ? 1 : 0; // [0] version present
  const subject = fields[4 + shift];
  const spki = fields[5 + shift];
  if (subject === undefined || spki === undefined) throw new TypeError('issuer certificate is truncated');
  const spkiDer = new Uint8Array(spki.toBER());
  const skiExtension = fields
    .filter((field) => field.idBlock.tagClass === 3 && field.idBlock.tagNumber === 3)
    .flatMap((field) => ((field as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence).valueBlock.value)
    .map((ext) => (ext as asn1js.Sequence).valueBlock.value)
    .find((parts) => (parts[0] as asn1js.ObjectIdentifier).valueBlock.toString() === OID.subjectKeyIdentifier);
  const skiValue = skiExtension?.at(-1);
  const keyId = skiValue instanceof asn1js.OctetString
    ? new Uint8Array((asn1js.fromBER(skiValue.valueBlock.valueHexView).result as asn1js.OctetString).valueBlock.valueHexView)
    : keyIdentifier(spkiDer);
  return { subject: new Uint8Array(subject.toBER()), keyId };
}

function signingWith(key: KeyObject | ExternalSigner, requested: SignatureHash | undefined): { algorithm: Uint8Array; sign(tbs: Uint8Array): Uint8Array } {
  if (!(key instanceof KeyObject)) {
    if (requested !== undefined) throw new TypeError('an external signer chooses its own hash');
    return { algorithm: key.signatureAlgorithm, sign: (tbs) => key.sign(tbs) };
  }
  const { hash, algorithm } = signatureAlgorithm(key, requested);
  return { algorithm, sign: (tbs) => new Uint8Array(sign(hash, tbs, key)) };
}

function signatureAlgorithm(key: KeyObject, requested: SignatureHash | undefined): { hash: string | null; algorithm: Uint8Array } {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519' || type === 'ed448') {
    if (requested !== undefined) throw new TypeError(`${type} signs without a separate hash`);
    return { hash: null, algorithm: algorithmIdentifier(type === 'ed25519' ? OID.ed25519 : OID.ed448) };
  }
  if (type === 'rsa') {
    const hash = requested ?? 'sha256';
    const oids = {
      md5: OID.md5WithRSAEncryption,
      sha1: OID.sha1WithRSAEncryption,
      sha256: OID.sha256WithRSAEncryption,
      sha384: OID.sha384WithRSAEncryption,
      sha512: OID.sha512WithRSAEncryption,
    } as const;
    // PKCS #1 signature algorithms carry an explicit NULL (RFC 4055 §5).
    return { hash, algorithm: algorithmIdentifier(oids[hash], nullValue()) };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const hash = requested ?? (curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256');
    const oids = {
      sha1: OID.ecdsaWithSHA1,
      sha256: OID.ecdsaWithSHA256,
      sha384: OID.ecdsaWithSHA384,
      sha512: OID.ecdsaWithSHA512,
    } as const;
    if (hash === 'md5') throw new TypeError('there is no ECDSA with MD5');
    return { hash, algorithm: algorithmIdentifier(oids[hash]) };
  }
  throw new TypeError(`cannot sign certificates with a ${String(type)} key`);
}

function serialBytes(serialHex: string | undefined): Uint8Array {
  const hex = serialHex === undefined ? randomSerialHex() : serialHex.replace(/^0x/i, '').replace(/:/g, '');
  if (!/^[0-9A-Fa-f]+$/.test(hex)) throw new TypeError(`serial "${serialHex}" is not hexadecimal`);
  // A positive INTEGER (RFC 5280 §4.1.2.2): minimal two's complement, a 00 before a high bit.
  let minimal = BigInt(`0x${hex}`).toString(16);
  if (minimal.length % 2 === 1) minimal = `0${minimal}`;
  if (parseInt(minimal.slice(0, 2), 16) >= 0x80) minimal = `00${minimal}`;
  return Uint8Array.from(Buffer.from(minimal, 'hex'));
}

// OpenSSL prints the magnitude: no 00 sign octet.
const opensslSerial = (serial: Uint8Array): string =>
  Buffer.from(serial.length > 1 && serial[0] === 0 ? serial.subarray(1) : serial).toString('hex').toUpperCase();

// 127 random bits: positive, and well over the 64 bits CA/B Forum asks for.
function randomSerialHex(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

// UTCTime through 2049, GeneralizedTime from 2050, whole seconds (RFC 5280 §4.1.2.5, RFC 5652 §11.3).
export function encodeTime(date: Date): Uint8Array {
  const iso = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
  const digits = iso.replace(/\.\d{3}Z$/, '').replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, new TextEncoder().encode(`${digits.slice(2)}Z`));
  return tlv(0x18, new TextEncoder().encode(`${digits}Z`));
}
