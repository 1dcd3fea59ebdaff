// Opening PKCS #12 key files (RFC 7292) with pkijs and WebCrypto only, so the sign-in page
// can bundle it. The MAC is checked first, so a wrong password is named as such; anything
// WebCrypto cannot decrypt (the RC2/3DES of `openssl pkcs12 -legacy`) is named in the error.
// Iteration counts are capped before any key is derived: the file, not its author, decides
// how long the page works, and a hostile one asked for millions.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ServiceError } from '../../errors.ts';
import { pkcs12MacKey, type MacHash } from './macKey.ts';

// RFC 7292 §4.2 bag types and §4.2.1 attributes; RFC 8018 algorithm identifiers.
export const PKCS12_OID = {
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
const pbkdf2Prfs = new Set([
  '1.2.840.113549.2.7', // hmacWithSHA1
  '1.2.840.113549.2.9', // hmacWithSHA256
  '1.2.840.113549.2.10', // hmacWithSHA384
  '1.2.840.113549.2.11', // hmacWithSHA512
]);
const aesCbc = new Set([
  '2.16.840.1.101.3.4.1.2', // aes128-CBC
  '2.16.840.1.101.3.4.1.22', // aes192-CBC
  '2.16.840.1.101.3.4.1.42', // aes256-CBC
]);
const macDigests: Record<string, MacHash> = {
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

/**
 * The most MAC or PBKDF2 iterations a key file may ask for. Writers use far fewer (OpenSSL 3:
 * 2048, Windows: 2000, Java: 10 000); this leaves room above OWASP's 600 000 for PBKDF2 while a
 * file at the cap still opens in about a second per derivation without freezing the page.
 */
export const maxIterations = 1_000_000;

export interface Pkcs12Contents {
  /** PKCS #8 PrivateKeyInfo DER, ready for `subtle.importKey('pkcs8', …)`. */
  privateKeyPkcs8: Uint8Array<ArrayBuffer>;
  /** The certificate whose localKeyId matches the key's, when the file says so. */
  certificate?: Uint8Array;
  /** Every other certificate, in file order (or all of them when no localKeyId matched). */
  others: Uint8Array[];
}

const wrongPassword = (cause?: unknown): ServiceError =>
  new ServiceError('invalid_request', 'wrong password or damaged key file', { cause });
const unsupported = (oid: string): ServiceError =>
  new ServiceError('invalid_request', `key file uses an unsupported encryption: ${knownAlgorithms[oid] ?? oid}`);
const damaged = (what: string, cause?: unknown): ServiceError =>
  new ServiceError('invalid_request', `not a PKCS#12 key file: ${what}`, { cause });

/** An iteration count within 1…maxIterations, else the file is refused before any work. */
function assertIterations(count: number, what: string): void {
  if (!Number.isSafeInteger(count) || count < 1) throw damaged(`${what} iteration count ${count} is invalid`);
  if (count > maxIterations) throw new ServiceError('invalid_request', `key file uses too many iterations: ${what} ${count} (at most ${maxIterations})`);
}

export interface Pkcs12Bags {
  keys: Array<{ pkcs8: Uint8Array<ArrayBuffer>; localKeyId?: string }>;
  certs: Array<{ der: Uint8Array; localKeyId?: string }>;
}

/** Every key and certificate bag of a key file, in file order, after its MAC is checked. */
export async function readPkcs12Bags(bytes: Uint8Array, password: string): Promise<Pkcs12Bags> {
  const passwordBytes = toArrayBuffer(new TextEncoder().encode(password));
  const pfx = orDamaged(() => pkijs.PFX.fromBER(toArrayBuffer(bytes)), 'PFX');
  if (pfx.authSafe.contentType !== pkijs.ContentInfo.DATA || !(pfx.authSafe.content instanceof asn1js.OctetString)) {
    throw new ServiceError('invalid_request', 'key file uses an unsupported integrity mode (public-key signed PFX)');
  }
  const authSafeBytes = pfx.authSafe.content.getValue();
  if (pfx.macData !== undefined) await verifyMac(pfx.macData, authSafeBytes, password);
  const authSafe = orDamaged(() => pkijs.AuthenticatedSafe.fromBER(authSafeBytes), 'AuthenticatedSafe');

  const bags: Pkcs12Bags = { keys: [], certs: [] };
  for (const info of authSafe.safeContents) {
    for (const bag of await readSafeContents(info, passwordBytes)) {
      const localKeyId = attributeHex(bag, PKCS12_OID.localKeyId);
      if (bag.bagId === PKCS12_OID.keyBag && bag.bagValue instanceof pkijs.PrivateKeyInfo) {
        bags.keys.push({ pkcs8: new Uint8Array(bag.bagValue.toSchema().toBER()), localKeyId });
      } else if (bag.bagId === PKCS12_OID.shroudedKeyBag && bag.bagValue instanceof pkijs.PKCS8ShroudedKeyBag) {
        bags.keys.push({ pkcs8: await decryptShroudedKey(bag.bagValue, passwordBytes), localKeyId });
      } else if (bag.bagId === PKCS12_OID.certBag && bag.bagValue instanceof pkijs.CertBag && bag.bagValue.certId === PKCS12_OID.x509Certificate) {
        bags.certs.push({ der: new Uint8Array((bag.bagValue.certValue as asn1js.OctetString).getValue()), localKeyId });
      }
    }
  }
  return bags;
}

/** Opens a key file: the MAC first, then every bag; the leaf is found by localKeyId. */
export async function openPkcs12(bytes: Uint8Array, password: string): Promise<Pkcs12Contents> {
  const { keys, certs } = await readPkcs12Bags(bytes, password);
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

async function verifyMac(macData: pkijs.MacData, content: ArrayBuffer, password: string): Promise<void> {
  const digestOid = macData.mac.digestAlgorithm.algorithmId;
  const hash = macDigests[digestOid];
  if (hash === undefined) throw unsupported(digestOid);
  // An absent count means 1 (RFC 7292 §4).
  const iterations = macData.iterations ?? 1;
  assertIterations(iterations, 'MAC');
  let valid: boolean;
  try {
    const key = await pkcs12MacKey(hash, password, macData.macSalt.valueBlock.valueHexView, iterations);
    const hmac = { name: 'HMAC', hash } as const;
    const cryptoKey = await crypto.subtle.importKey('raw', toArrayBuffer(key), hmac, false, ['verify']);
    valid = await crypto.subtle.verify(hmac, cryptoKey, toArrayBuffer(macData.mac.digest.valueBlock.valueHexView), content);
  } catch (error) {
    throw damaged('MAC cannot be checked', error);
  }
  if (!valid) throw wrongPassword();
}

async function readSafeContents(info: pkijs.ContentInfo, password: ArrayBuffer): Promise<pkijs.SafeBag[]> {
  if (info.contentType === pkijs.ContentInfo.DATA && info.content instanceof asn1js.OctetString) {
    const value = info.content.getValue();
    return orDamaged(() => pkijs.SafeContents.fromBER(value), 'SafeContents').safeBags;
  }
  if (info.contentType === pkijs.ContentInfo.ENCRYPTED_DATA) {
    const encrypted = orDamaged(() => new pkijs.EncryptedData({ schema: info.content }), 'EncryptedData');
    assertSupported(encrypted.encryptedContentInfo.contentEncryptionAlgorithm);
    return (await decrypting(async () => pkijs.SafeContents.fromBER(await encrypted.decrypt({ password })))).safeBags;
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
  return decrypting(async () => {
    const plain = await encrypted.decrypt({ password });
    // Kept byte for byte; parsed only to tell a damaged key from a good one.
    pkijs.PrivateKeyInfo.fromBER(plain);
    return new Uint8Array(plain);
  });
}

// Only PBES2 with a PRF and cipher WebCrypto has; anything else gets its name in the error
// rather than pkijs's internal message.
function assertSupported(algorithm: pkijs.AlgorithmIdentifier): void {
  if (algorithm.algorithmId !== PKCS12_OID.pbes2) throw unsupported(algorithm.algorithmId);
  const params = orDamaged(() => new pkijs.PBES2Params({ schema: algorithm.algorithmParams }), 'PBES2 parameters');
  if (params.keyDerivationFunc.algorithmId !== PKCS12_OID.pbkdf2) throw unsupported(params.keyDerivationFunc.algorithmId);
  const kdf = orDamaged(() => new pkijs.PBKDF2Params({ schema: params.keyDerivationFunc.algorithmParams }), 'PBKDF2 parameters');
  // An absent PRF means hmacWithSHA1 (RFC 8018 Appendix A.2).
  if (kdf.prf !== undefined && !pbkdf2Prfs.has(kdf.prf.algorithmId)) throw unsupported(kdf.prf.algorithmId);
  // WebCrypto's PBKDF2 runs off the page's thread, but a capped count still bounds the wait.
  assertIterations(kdf.iterationCount, 'PBKDF2');
  if (!aesCbc.has(params.encryptionScheme.algorithmId)) throw unsupported(params.encryptionScheme.algorithmId);
}

// Decrypting and reading what came out: a wrong password that got past the MAC (or a file
// without one) shows up as bad padding, or, about once in 256 tries, as valid padding (a last
// octet of 01) around garbage that does not parse — the same wrong password, or a damaged file,
// as the message says (CI once saw "private key is malformed" for a wrong password).
async function decrypting<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw wrongPassword(error);
  }
}

/** Runs one parsing step; its failure becomes `not a PKCS#12 key file: <what> is malformed`. */
export function orDamaged<T>(run: () => T, what: string): T {
  try {
    return run();
  } catch (error) {
    throw damaged(`${what} is malformed`, error);
  }
}

function attributeHex(bag: pkijs.SafeBag, type: string): string | undefined {
  const value = bag.bagAttributes?.find((attribute) => attribute.type === type)?.values[0];
  return value instanceof asn1js.OctetString ? toHex(value.valueBlock.valueHexView) : undefined;
}

const toHex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

/** A copy of exactly the viewed bytes: pkijs and WebCrypto take whole ArrayBuffers. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

