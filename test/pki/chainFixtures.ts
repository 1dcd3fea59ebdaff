// Certificates and CRLs made at test time with @peculiar/x509 over node's WebCrypto, so the
// validator is tested against an encoder that is not our own. Defaults follow a sane
// national profile; every option exists to break one rule.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import type { ParsedCertificate } from '../../src/pki/x509/model.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeyKind = 'p256' | 'p384' | 'rsa2048' | 'rsa1024' | 'ed25519';

export interface Issued {
  name: string;
  der: Uint8Array;
  cert: ParsedCertificate;
  keys: CryptoKeyPair;
  kind: KeyKind;
}

const keyCache = new Map<string, Promise<CryptoKeyPair>>();

function keyParams(kind: KeyKind): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (kind) {
    case 'p256': return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'p384': return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'ed25519': return { name: 'Ed25519' };
    case 'rsa2048': return { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    case 'rsa1024': return { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  }
}

/** A fresh key pair; `slot` lets tests share keys (RSA generation is slow) or force distinct ones. */
export function keyPair(kind: KeyKind, slot = 'default'): Promise<CryptoKeyPair> {
  const id = `${kind}:${slot}`;
  let keys = keyCache.get(id);
  if (keys === undefined) {
    keys = webcrypto.subtle.generateKey(keyParams(kind) as RsaHashedKeyGenParams, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
    keyCache.set(id, keys);
  }
  return keys;
}

function signingAlgorithm(kind: KeyKind, hash: string): Algorithm | EcdsaParams {
  if (kind === 'ed25519') return { name: 'Ed25519' };
  if (kind === 'p256' || kind === 'p384') return { name: 'ECDSA', hash } as EcdsaParams;
  return { name: 'RSASSA-PKCS1-v1_5', hash } as Algorithm;
}

const day = 86_400_000;
export const now = new Date();
let serial = 1;

export interface IssueOptions {
  subject: string;
  /** The issuing CA; absent for a self-signed certificate. */
  issuer?: Issued;
  key?: KeyKind;
  keySlot?: string;
  /** Use this SubjectPublicKeyInfo instead of a generated key (keys the tests cannot sign with). */
  spki?: Uint8Array;
  /** CA certificate (basicConstraints cA, keyCertSign/cRLSign); `pathLen` adds pathLenConstraint. */
  ca?: boolean;
  pathLen?: number;
  keyUsage?: x509.KeyUsageFlags | null;
  eku?: string[] | null;
  notBefore?: Date;
  notAfter?: Date;
  hash?: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  extensions?: x509.Extension[];
  san?: x509.JsonGeneralNames;
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const kind = options.key ?? 'p256';
  const keys = await keyPair(kind, options.keySlot ?? options.subject);
  const issuer = options.issuer;
  const signer = issuer === undefined ? { keys, kind } : issuer;
  const extensions: x509.Extension[] = [];
  const ca = options.ca === true;
  if (ca) extensions.push(new x509.BasicConstraintsExtension(true, options.pathLen, true));
  const usage = options.keyUsage === undefined
    ? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature)
    : options.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const eku = options.eku === undefined ? (ca ? null : ['1.3.6.1.5.5.7.3.2']) : options.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  const publicKey = options.spki === undefined ? keys.publicKey : new Uint8Array(options.spki);
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(options.spki === undefined ? keys.publicKey : new x509.PublicKey(new Uint8Array(options.spki))));
  if (issuer !== undefined) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  if (options.san !== undefined) extensions.push(new x509.SubjectAlternativeNameExtension(options.san, false));
  extensions.push(...(options.extensions ?? []));
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    subject: options.subject,
    issuer: issuer === undefined ? options.subject : new x509.Name(new Uint8Array(issuer.cert.subject.der)),
    notBefore: options.notBefore ?? new Date(now.getTime() - day),
    notAfter: options.notAfter ?? new Date(now.getTime() + 365 * day),
    signingAlgorithm: signingAlgorithm(signer.kind, options.hash ?? 'SHA-256'),
    publicKey: publicKey as x509.PublicKeyType,
    signingKey: signer.keys.privateKey,
    extensions,
  });
  const der = new Uint8Array(generated.rawData);
  return { name: options.subject, der, cert: parseCertificate(der), keys, kind };
}

export interface CrlOptions {
  /** `certificateIssuer` adds that entry extension (indirect CRLs). */
  revoked?: Array<{ cert: Issued; reason?: x509.X509CrlReason; certificateIssuer?: Issued }>;
  thisUpdate?: Date;
  /** null leaves nextUpdate out. */
  nextUpdate?: Date | null;
  /** Sign with these keys instead of the issuer's (a forged CRL, or a separate CRL-signing key). */
  signWith?: Issued;
  /** CRL extensions; default a cRLNumber of 1. */
  extensions?: x509.Extension[];
}

export const crlNumber = (n: number): x509.Extension => new x509.Extension('2.5.29.20', false, Uint8Array.of(0x02, 0x01, n));

export async function crlFor(issuer: Issued, options: CrlOptions = {}): Promise<Uint8Array> {
  const signer = options.signWith ?? issuer;
  const crl = await x509.X509CrlGenerator.create({
    issuer: new x509.Name(new Uint8Array(issuer.cert.subject.der)),
    thisUpdate: options.thisUpdate ?? new Date(now.getTime() - day),
    ...(options.nextUpdate === null ? {} : { nextUpdate: options.nextUpdate ?? new Date(now.getTime() + 7 * day) }),
    signingAlgorithm: signingAlgorithm(signer.kind, 'SHA-256'),
    signingKey: signer.keys.privateKey,
    extensions: options.extensions ?? [crlNumber(1)],
    entries: (options.revoked ?? []).map(({ cert, reason, certificateIssuer }) => ({
      serialNumber: cert.cert.serialHex,
      revocationDate: new Date(now.getTime() - day),
      ...(reason === undefined ? {} : { reason }),
      // Built by hand: @peculiar/x509 writes a bare Name where RFC 5280 §5.3.3 has GeneralNames.
      ...(certificateIssuer === undefined ? {} : {
        extensions: [new x509.Extension('2.5.29.29', true, tlv(0x30, tlv(0xa4, certificateIssuer.cert.subject.der)))],
      }),
    })),
  });
  return new Uint8Array(crl.rawData);
}

/** DER TLV with a definite, minimal length: for building hand-made extension values. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...length, ...body]);
}

export const ascii = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(Buffer.from(text, 'latin1'));

/** A standard three-level national hierarchy: root → citizen CA → citizen. */
export async function hierarchy(prefix = 'Test'): Promise<{ root: Issued; ca: Issued; leaf: Issued }> {
  const root = await issue({ subject: `CN=${prefix} Root CA,O=Yagona Test,C=UZ`, ca: true, key: 'p384' });
  const ca = await issue({ subject: `CN=${prefix} Citizen CA,O=Yagona Test,C=UZ`, issuer: root, ca: true, pathLen: 0 });
  const leaf = await issue({ subject: `CN=${prefix} Citizen,O=Yagona Test,C=UZ`, issuer: ca });
  return { root, ca, leaf };
}
