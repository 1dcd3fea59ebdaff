// PKCS #12 key files (RFC 7292), written the way OpenSSL 3 writes them by default: PBES2
// (PBKDF2-HMAC-SHA256, AES-256-CBC, RFC 8018) for both the shrouded key bag and the
// encrypted certificate bag, and an HMAC-SHA256 MAC keyed by the RFC 7292 Appendix B KDF.
// `openPkcs12` uses only pkijs and WebCrypto so the sign-in page can bundle it; the
// node:crypto KeyObject wrappers sit at the bottom.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ServiceError } from '../errors.ts';

// RFC 7292 §4.2 bag types and §4.2.1 attributes; RFC 8018 algorithm identifiers.
const OID = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
} as const;

// What WebCrypto can do: PBKDF2 with these PRFs, AES-CBC with these key sizes.
const pbkdf2Prfs: Record<string, string> = {
  '1.2.840.113549.2.7': 'SHA-1',
  '1.2.840.113549.2.9': 'SHA-256',
  '1.2.840.113549.2.10': 'SHA-384',
  '1.2.840.113549.2.11': 'SHA-512',
};
const aesCbc: Record<string, number> = {
  '2.16.840.1.101.3.4.1.2': 128,
  '2.16.840.1.101.3.4.1.22': 192,
  '2.16.840.1.101.3.4.1.42': 256,
};
const macDigests: Record<string, string> = {
  '1.3.14.3.2.26': 'SHA-1',
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};
// Names for the error message when a file uses something WebCrypto lacks (`-legacy` files).
const knownAlgorithms: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.12.1.3': 'pbeWithSHAAnd3-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.4': 'pbeWithSHAAnd2-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
  '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
  '1.2.840.113549.3.7': 'DES-EDE3-CBC',
  '1.2.840.113549.1.5.14': 'PBMAC1',
  '1.2.840.113549.2.8': 'hmacWithSHA224',
};

// OpenSSL 3's PKCS12_DEFAULT_ITER; the same count for PBKDF2 and the MAC.
const iterations = 2048;

export interface WritePkcs12Options {
  privateKey: KeyObject;
  certDer: Uint8Array;
  /** Issuing CA certificates, nearest first; they go in the file without attributes. */
  chainDers?: Uint8Array[];
  password: string;
  friendlyName?: string;
}

export interface Pkcs12Contents {
  /** PKCS #8 PrivateKeyInfo DER, ready for `subtle.importKey('pkcs8', …)`. */
  privateKeyPkcs8: Uint8Array<ArrayBuffer>;
  /** The certificate whose localKeyId matches the key's, when the file says so. */
  certificate?: Uint8Array;
  /** Every other certificate, in file order (or all of them when no localKeyId matched). */
  others: Uint8Array[];
}

export interface Pkcs12 {
  privateKey: KeyObject;
  certificate: Uint8Array;
  chain: Uint8Array[];
}

const wrongPassword = (cause?: unknown): ServiceError =>
  new ServiceError('invalid_request', 'wrong password or damaged key file', { cause });
const unsupported = (oid: string): ServiceError =>
  new ServiceError('invalid_request', `key file uses an unsupported encryption: ${knownAlgorithms[oid] ?? oid}`);
const damaged = (what: string, cause?: unknown): ServiceError =>
  new ServiceError('invalid_request', `not a PKCS#12 key file: ${what}`, { cause });

/** Opens a key file with WebCrypto only: the MAC first (so a wrong password is named as such), then every bag. */
export async function openPkcs12(bytes: Uint8Array, password: string): Promise<Pkcs12Contents> {
  const passwordBytes = toArrayBuffer(new TextEncoder().encode(password));
  const pfx = parse(() => pkijs.PFX.fromBER(toArrayBuffer(bytes)), 'PFX');
  if (pfx.authSafe.contentType !== pkijs.ContentInfo.DATA || !(pfx.authSafe.content instanceof asn1js.OctetString)) {
    throw new ServiceError('invalid_request', 'key file uses an unsupported integrity mode (public-key signed PFX)');
  }
  const authSafeBytes = pfx.authSafe.content.getValue();
  if (pfx.macData !== undefined) await verifyMac(pfx.macData, authSafeBytes, passwordBytes);
  const authSafe = parse(() => pkijs.AuthenticatedSafe.fromBER(authSafeBytes), 'AuthenticatedSafe');

  const keys: Array<{ pkcs8: Uint8Array<ArrayBuffer>; localKeyId?: string }> = [];
  const certs: Array<{ der: Uint8Array; localKeyId?: string }> = [];
  for (const info of authSafe.safeContents) {
    for (const bag of await readSafeContents(info, passwordBytes)) {
      const localKeyId = attributeHex(bag, OID.localKeyId);
      if (bag.bagId === OID.keyBag && bag.bagValue instanceof pkijs.PrivateKeyInfo) {
        keys.push({ pkcs8: new Uint8Array(bag.bagValue.toSchema().toBER()), localKeyId });
      } else if (bag.bagId === OID.shroudedKeyBag && bag.bagValue instanceof pkijs.PKCS8ShroudedKeyBag) {
        keys.push({ pkcs8: await decryptShroudedKey(bag.bagValue, passwordBytes), localKeyId });
      } else if (bag.bagId === OID.certBag && bag.bagValue instanceof pkijs.CertBag && bag.bagValue.certId === OID.x509Certificate) {
        certs.push({ der: new Uint8Array((bag.bagValue.certValue as asn1js.OctetString).getValue()), localKeyId });
      }
    }
  }
  const [key, ...moreKeys] = keys;
  if (key === undefined) throw new ServiceError('invalid_request', 'key file holds no private key');
  if (moreKeys.length > 0) throw new ServiceError('invalid_request', 'key file holds more than one private key');
  const leaf = key.localKeyId === undefined ? undefined : certs.find((cert) => cert.localKeyId === key.localKeyId);
  return {
    privateKeyPkcs8: key.pkcs8,
    ...(leaf === undefined ? {} : { certificate: leaf.der }),
    others: certs.filter((cert) => cert !== leaf).map((cert) => cert.der),
  };
}

async function verifyMac(macData: pkijs.MacData, content: ArrayBuffer, password: ArrayBuffer): Promise<void> {
  const digestOid = macData.mac.digestAlgorithm.algorithmId;
  const hash = macDigests[digestOid];
  if (hash === undefined) throw unsupported(digestOid);
  let valid: boolean;
  try {
    valid = await pkijs.getCrypto(true).verifyDataStampedWithPassword({
      password,
      hashAlgorithm: hash,
      salt: toArrayBuffer(macData.macSalt.valueBlock.valueHexView),
      iterationCount: macData.iterations ?? 1,
      contentToVerify: content,
      signatureToVerify: toArrayBuffer(macData.mac.digest.valueBlock.valueHexView),
    });
  } catch (error) {
    throw damaged('MAC cannot be checked', error);
  }
  if (!valid) throw wrongPassword();
}

async function readSafeContents(info: pkijs.ContentInfo, password: ArrayBuffer): Promise<pkijs.SafeBag[]> {
  if (info.contentType === pkijs.ContentInfo.DATA && info.content instanceof asn1js.OctetString) {
    const value = info.content.getValue();
    return parse(() => pkijs.SafeContents.fromBER(value), 'SafeContents').safeBags;
  }
  if (info.contentType === pkijs.ContentInfo.ENCRYPTED_DATA) {
    const encrypted = parse(() => new pkijs.EncryptedData({ schema: info.content }), 'EncryptedData');
    assertSupported(encrypted.encryptedContentInfo.contentEncryptionAlgorithm);
    const plain = await decrypting(() => encrypted.decrypt({ password }));
    return parse(() => pkijs.SafeContents.fromBER(plain), 'SafeContents').safeBags;
  }
  throw new ServiceError('invalid_request', `key file uses an unsupported privacy mode (${info.contentType})`);
}

async function decryptShroudedKey(bag: pkijs.PKCS8ShroudedKeyBag, password: ArrayBuffer): Promise<Uint8Array<ArrayBuffer>> {
  assertSupported(bag.encryptionAlgorithm);
  const encrypted = new pkijs.EncryptedData({
    encryptedContentInfo: new pkijs.EncryptedContentInfo({
      contentEncryptionAlgorithm: bag.encryptionAlgorithm,
      encryptedContent: bag.encryptedData,
    }),
  });
  const plain = await decrypting(() => encrypted.decrypt({ password }));
  // Kept byte for byte; parsed only to tell a damaged key from a good one.
  parse(() => pkijs.PrivateKeyInfo.fromBER(plain), 'private key');
  return new Uint8Array(plain);
}

// Only PBES2 with a PRF and cipher WebCrypto has; anything else gets its name in the error
// rather than pkijs's internal message.
function assertSupported(algorithm: pkijs.AlgorithmIdentifier): void {
  if (algorithm.algorithmId !== OID.pbes2) throw unsupported(algorithm.algorithmId);
  const params = parse(() => new pkijs.PBES2Params({ schema: algorithm.algorithmParams }), 'PBES2 parameters');
  if (params.keyDerivationFunc.algorithmId !== OID.pbkdf2) throw unsupported(params.keyDerivationFunc.algorithmId);
  const kdf = parse(() => new pkijs.PBKDF2Params({ schema: params.keyDerivationFunc.algorithmParams }), 'PBKDF2 parameters');
  // An absent PRF means hmacWithSHA1 (RFC 8018 Appendix A.2).
  if (kdf.prf !== undefined && pbkdf2Prfs[kdf.prf.algorithmId] === undefined) throw unsupported(kdf.prf.algorithmId);
  if (aesCbc[params.encryptionScheme.algorithmId] === undefined) throw unsupported(params.encryptionScheme.algorithmId);
}

// A wrong password that got past the MAC (or a file without one) shows up as bad padding.
async function decrypting<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw wrongPassword(error);
  }
}

function parse<T>(run: () => T, what: string): T {
  try {
    return run();
  } catch (error) {
    throw damaged(`${what} is malformed`, error);
  }
}

function attributeHex(bag: pkijs.SafeBag, type: string): string | undefined {
  const value = bag.bagAttributes?.find((attribute) => attribute.type === type)?.values[0];
  return value instanceof asn1js.OctetString ? Buffer.from(value.valueBlock.valueHexView).toString('hex') : undefined;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** A key file OpenSSL 3 opens with its defaults: AES-256-CBC/PBKDF2-SHA256 bags, HMAC-SHA256 MAC. */
export async function writePkcs12(options: WritePkcs12Options): Promise<Uint8Array> {
  const password = toArrayBuffer(new TextEncoder().encode(options.password));
  const encryption: pkijs.EncryptedDataEncryptParams = {
    contentToEncrypt: new ArrayBuffer(0), // filled in by pkijs for each bag
    password,
    // pkijs draws the IV itself, so the AesCbcParams `iv` its type asks for is not given.
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as pkijs.ContentEncryptionAlgorithm,
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: iterations,
  };
  // OpenSSL uses the SHA-1 of the certificate as the localKeyId tying key and certificate.
  const localKeyId = new asn1js.OctetString({ valueHex: toArrayBuffer(createHash('sha1').update(options.certDer).digest()) });
  const leafAttributes = [
    ...(options.friendlyName === undefined
      ? []
      : [new pkijs.Attribute({ type: OID.friendlyName, values: [new asn1js.BmpString({ value: options.friendlyName })] })]),
    new pkijs.Attribute({ type: OID.localKeyId, values: [localKeyId] }),
  ];

  const pkcs8 = new Uint8Array(options.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const shrouded = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(toArrayBuffer(pkcs8)) });
  await shrouded.makeInternalValues(encryption);

  const certBag = (der: Uint8Array, attributes?: pkijs.Attribute[]): pkijs.SafeBag =>
    new pkijs.SafeBag({
      bagId: OID.certBag,
      // certValue carries the certificate bytes as given, never a re-encoding.
      bagValue: new pkijs.CertBag({ certId: OID.x509Certificate, certValue: new asn1js.OctetString({ valueHex: toArrayBuffer(der) }) }),
      ...(attributes === undefined ? {} : { bagAttributes: attributes }),
    });
  const certContents = new pkijs.SafeContents({
    safeBags: [certBag(options.certDer, leafAttributes), ...(options.chainDers ?? []).map((der) => certBag(der))],
  });
  const keyContents = new pkijs.SafeContents({
    safeBags: [new pkijs.SafeBag({ bagId: OID.shroudedKeyBag, bagValue: shrouded, bagAttributes: leafAttributes })],
  });

  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: { safeContents: [{ privacyMode: 1, value: certContents }, { privacyMode: 0, value: keyContents }] },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [encryption, {}] });
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues({
    password,
    iterations,
    pbkdf2HashAlgorithm: 'SHA-256',
    hmacHashAlgorithm: 'SHA-256',
  });
  return new Uint8Array(pfx.toSchema().toBER());
}

/** Opens a key file into a node:crypto key, its certificate and the rest of the chain. */
export async function readPkcs12(bytes: Uint8Array, password: string): Promise<Pkcs12> {
  const contents = await openPkcs12(bytes, password);
  const privateKey = parse(
    () => createPrivateKey({ key: Buffer.from(contents.privateKeyPkcs8), format: 'der', type: 'pkcs8' }),
    'private key',
  );
  // Without a matching localKeyId, the certificate is the one whose public key pairs with the key.
  const certificate = contents.certificate
    ?? contents.others.find((der) => parse(() => new X509Certificate(der), 'certificate').checkPrivateKey(privateKey));
  if (certificate === undefined) throw new ServiceError('invalid_request', 'key file holds no certificate for its private key');
  return { privateKey, certificate, chain: contents.others.filter((der) => der !== certificate) };
}
