// PKCS #12 key files (RFC 7292) for node: written the way OpenSSL 3 writes them by default
// — PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC, RFC 8018) for both the shrouded key bag and the
// encrypted certificate bag, and an HMAC-SHA256 MAC keyed by the RFC 7292 Appendix B KDF —
// and read into node:crypto keys through the browser-safe openPkcs12.
import { createHash, createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ServiceError } from '../../errors.ts';
import { openPkcs12, orDamaged, PKCS12_OID as OID, toArrayBuffer } from './open.ts';
import { type GostKeySigner, gostPrivateKeyInfo, gostSignerFromPrivateKeyInfo, knownGostProfiles } from '../issue/gostSigner.ts';
import { parseCertificate } from '../x509/certificate.ts';
import { bytesEqual } from '../asn1/der.ts';

export { openPkcs12, type Pkcs12Contents } from './open.ts';

// OpenSSL 3's PKCS12_DEFAULT_ITER; the same count for PBKDF2 and the MAC.
const iterations = 2048;

export interface WritePkcs12Options {
  /** A node:crypto key, or a GOST key (O'zDSt), written as OpenSSL's gost engine writes its PKCS #8. */
  privateKey: KeyObject | GostKeySigner;
  certDer: Uint8Array;
  /** Issuing CA certificates, nearest first; they go in the file without attributes. */
  chainDers?: Uint8Array[];
  password: string;
  friendlyName?: string;
}

export interface Pkcs12 {
  /** A node:crypto key, or the signer of an O'zDSt key (node:crypto has no GOST). */
  privateKey: KeyObject | GostKeySigner;
  certificate: Uint8Array;
  chain: Uint8Array[];
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

  const pkcs8 = options.privateKey instanceof KeyObject
    ? new Uint8Array(options.privateKey.export({ type: 'pkcs8', format: 'der' }))
    : gostPrivateKeyInfo(options.privateKey);
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

/** Opens a key file into a node:crypto key (or an O'zDSt key's signer), its certificate and the rest of the chain. */
export async function readPkcs12(bytes: Uint8Array, password: string): Promise<Pkcs12> {
  const contents = await openPkcs12(bytes, password);
  const gost = orDamaged(() => gostSignerFromPrivateKeyInfo(contents.privateKeyPkcs8, knownGostProfiles), 'private key');
  const privateKey = gost ?? orDamaged(
    () => createPrivateKey({ key: Buffer.from(contents.privateKeyPkcs8), format: 'der', type: 'pkcs8' }),
    'private key',
  );
  // Without a matching localKeyId, the certificate is the one whose public key pairs with the key.
  const pairs = (der: Uint8Array): boolean => (privateKey instanceof KeyObject
    ? orDamaged(() => new X509Certificate(der), 'certificate').checkPrivateKey(privateKey)
    : bytesEqual(orDamaged(() => parseCertificate(der), 'certificate').spki, privateKey.spki));
  const certificate = contents.certificate ?? contents.others.find(pairs);
  if (certificate === undefined) throw new ServiceError('invalid_request', 'key file holds no certificate for its private key');
  return { privateKey, certificate, chain: contents.others.filter((der) => der !== certificate) };
}
