// A citizen's key file opened inside the sign-in page: every private key of the PKCS #12
// file paired with its certificate, a summary of whose certificate it is, and a signer that
// turns a challenge into CMS with a non-extractable WebCrypto key — or, for an O'zDSt key,
// which WebCrypto does not know, with the gost module's verified arithmetic (pure TS).
// Browser-safe (pkijs, WebCrypto and the gost module only); nothing here sends anything anywhere.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { isServiceError } from '../../errors.ts';
import { ecdsaRawToDer } from '../algorithms/encodings.ts';
import { signCmsAsync, type AsyncCmsDigest } from '../issue/cmsSignAsync.ts';
import { type GostKeySigner, gostSignerFromPrivateKeyInfo, knownGostProfiles } from '../issue/gostSigner.ts';
import { bytesEqual, childAt, parseDer } from '../asn1/der.ts';
import { algorithmIdentifier, nullValue } from '../asn1/derWrite.ts';
import { OID } from '../asn1/oids.ts';
import { readPkcs12Bags, toArrayBuffer } from '../pkcs12/open.ts';
import { nationalIdentity } from '../x509/nationalIdentity.ts';

/** Why a key file could not be used; the page has a sentence for each. */
export type KeyFileProblem =
  | 'wrong_password' | 'unsupported_encryption' | 'too_many_iterations' | 'not_a_key_file' | 'no_private_key' | 'no_certificate'
  | 'unsupported_key';

export class KeyFileError extends Error {
  readonly problem: KeyFileProblem;
  constructor(problem: KeyFileProblem, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'KeyFileError';
    this.problem = problem;
  }
}

export interface CertificateSummary {
  commonName?: string;
  surname?: string;
  givenName?: string;
  pinfl?: string;
  /** The person's own TIN. */
  tin?: string;
  /** An employee's organisation (its name, else its TIN); none for a person. */
  organization?: string;
  /** The issuer's common name, else its organisation. */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  serialHex: string;
}

export interface KeyFileIdentity {
  certificate: Uint8Array;
  summary: CertificateSummary;
  /** CMS SignedData (detached, signed attributes) over the UTF-8 bytes of `challenge`. */
  signChallenge(challenge: string): Promise<Uint8Array>;
}

interface KeyAlgorithm {
  importParams: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  signParams: Algorithm | EcdsaParams;
  digest: AsyncCmsDigest;
  signatureAlgorithm: Uint8Array;
  ecdsa: boolean;
  /** JWK members that name the public key. */
  publicMembers: Array<'n' | 'e' | 'x' | 'y' | 'crv'>;
}

/** Opens the file and returns one identity per private key whose certificate is in the file. */
export async function openKeyFile(bytes: Uint8Array, password: string): Promise<KeyFileIdentity[]> {
  let bags;
  try {
    bags = await readPkcs12Bags(bytes, password);
  } catch (error) {
    throw classify(error);
  }
  if (bags.keys.length === 0) throw new KeyFileError('no_private_key', 'the key file holds no private key');
  const certificates = bags.certs.map((cert) => ({ ...cert, parsed: parseOrUndefined(cert.der) }));
  const leaves = new Set<Uint8Array>();
  const paired: Array<{ der: Uint8Array; parsed: pkijs.Certificate; sign: (challenge: Uint8Array) => Promise<Uint8Array> }> = [];
  const chainOf = () => certificates.filter((cert) => !leaves.has(cert.der) && cert.parsed !== undefined && !selfIssued(cert.parsed)).map((cert) => cert.der);
  let unsupported: string | undefined;
  for (const key of bags.keys) {
    // The certificate named by localKeyId first, then any whose public key is this key's.
    const candidates = [
      ...certificates.filter((cert) => key.localKeyId !== undefined && cert.localKeyId === key.localKeyId),
      ...certificates.filter((cert) => key.localKeyId === undefined || cert.localKeyId !== key.localKeyId),
    ];
    const gost = gostKey(key.pkcs8);
    if (gost !== undefined) {
      const cert = candidates.find((candidate) => candidate.parsed !== undefined && !leaves.has(candidate.der) && bytesEqual(spkiOf(candidate.der), gost.spki));
      if (cert?.parsed === undefined) continue;
      leaves.add(cert.der);
      // As E-IMZO signs: O'zDSt 1106 digest and O'zDSt 1092 signature, each AlgorithmIdentifier with NULL (gostSigner.ts).
      paired.push({
        der: cert.der, parsed: cert.parsed,
        sign: (content) => signCmsAsync({
          content, signerCertDer: cert.der, extraCertDers: chainOf(), digest: { algorithm: gost.digestAlgorithm, hash: gost.digest },
          signatureAlgorithm: gost.signatureAlgorithm, sign: async (data) => gost.sign(data),
        }),
      });
      continue;
    }
    for (const cert of candidates) {
      if (cert.parsed === undefined || leaves.has(cert.der)) continue;
      const algorithm = keyAlgorithm(cert.parsed);
      if (typeof algorithm === 'string') {
        unsupported ??= algorithm;
        continue;
      }
      if (await sameKey(key.pkcs8, cert.parsed, algorithm)) {
        leaves.add(cert.der);
        const privateKey = await crypto.subtle.importKey('pkcs8', key.pkcs8, algorithm.importParams, false, ['sign']);
        paired.push({
          der: cert.der, parsed: cert.parsed,
          sign: (content) => signCmsAsync({
            content, signerCertDer: cert.der, extraCertDers: chainOf(), digest: algorithm.digest, signatureAlgorithm: algorithm.signatureAlgorithm,
            sign: async (data) => {
              const signature = new Uint8Array(await crypto.subtle.sign(algorithm.signParams, privateKey, data));
              return algorithm.ecdsa ? ecdsaRawToDer(signature) : signature;
            },
          }),
        });
        break;
      }
    }
  }
  const identities: KeyFileIdentity[] = paired.map(({ der, parsed, sign }) => ({
    certificate: der,
    summary: summarize(parsed),
    signChallenge: (challenge) => sign(new TextEncoder().encode(challenge)),
  }));
  if (identities.length === 0) {
    if (unsupported !== undefined) throw new KeyFileError('unsupported_key', `the key type is not supported here: ${unsupported}`);
    throw new KeyFileError('no_certificate', 'the key file holds no certificate for its private key');
  }
  return identities;
}

/**
 * The O'zDSt signer of a GOST PrivateKeyInfo (as OpenSSL's gost engine and the development PKI
 * write them); undefined for any other key. The scalar lives in this page's memory, which
 * WebCrypto's non-extractable keys avoid and no browser API offers for GOST.
 */
function gostKey(pkcs8: Uint8Array): GostKeySigner | undefined {
  try {
    return gostSignerFromPrivateKeyInfo(pkcs8, knownGostProfiles);
  } catch {
    return undefined;
  }
}

/** The certificate's SubjectPublicKeyInfo exactly as encoded (RFC 5280 §4.1). */
function spkiOf(certDer: Uint8Array): Uint8Array {
  const tbs = childAt(parseDer(certDer), 0, 'tbsCertificate');
  const first = tbs.children[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional
  return childAt(tbs, first + 5, 'subjectPublicKeyInfo').bytes;
}

/** The reason of a pkcs12Open failure, read from its fixed sentences. */
function classify(error: unknown): KeyFileError {
  if (!isServiceError(error)) return new KeyFileError('not_a_key_file', 'the key file cannot be read', { cause: error });
  const { message } = error;
  if (message.startsWith('wrong password')) return new KeyFileError('wrong_password', message, { cause: error });
  if (/unsupported (encryption|integrity mode|privacy mode)/.test(message)) return new KeyFileError('unsupported_encryption', message, { cause: error });
  if (message.includes('too many iterations')) return new KeyFileError('too_many_iterations', message, { cause: error });
  if (message.includes('no private key')) return new KeyFileError('no_private_key', message, { cause: error });
  return new KeyFileError('not_a_key_file', message, { cause: error });
}

function parseOrUndefined(der: Uint8Array): pkijs.Certificate | undefined {
  try {
    return pkijs.Certificate.fromBER(toArrayBuffer(der));
  } catch {
    return undefined;
  }
}

const ecCurves: Record<string, { curve: string; digest: AsyncCmsDigest; signature: string }> = {
  [OID.secp256r1]: { curve: 'P-256', digest: 'sha256', signature: OID.ecdsaWithSHA256 },
  [OID.secp384r1]: { curve: 'P-384', digest: 'sha384', signature: OID.ecdsaWithSHA384 },
  [OID.secp521r1]: { curve: 'P-521', digest: 'sha512', signature: OID.ecdsaWithSHA512 },
};
const webHash: Record<AsyncCmsDigest, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** How WebCrypto signs with the certificate's key type, or the name of a type it cannot use. */
function keyAlgorithm(cert: pkijs.Certificate): KeyAlgorithm | string {
  const { algorithmId, algorithmParams } = cert.subjectPublicKeyInfo.algorithm;
  if (algorithmId === OID.rsaEncryption) {
    return {
      importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signParams: { name: 'RSASSA-PKCS1-v1_5' },
      digest: 'sha256', signatureAlgorithm: algorithmIdentifier(OID.sha256WithRSAEncryption, nullValue()), ecdsa: false,
      publicMembers: ['n', 'e'],
    };
  }
  if (algorithmId === OID.ecPublicKey) {
    const curveOid = algorithmParams instanceof asn1js.ObjectIdentifier ? algorithmParams.getValue() : '';
    const curve = ecCurves[curveOid];
    if (curve === undefined) return `EC curve ${curveOid || 'unnamed'}`;
    return {
      importParams: { name: 'ECDSA', namedCurve: curve.curve }, signParams: { name: 'ECDSA', hash: webHash[curve.digest] },
      digest: curve.digest, signatureAlgorithm: algorithmIdentifier(curve.signature), ecdsa: true, publicMembers: ['crv', 'x', 'y'],
    };
  }
  if (algorithmId === OID.ed25519) {
    // RFC 8419 §3.1: Ed25519 in CMS digests with SHA-512.
    return {
      importParams: { name: 'Ed25519' }, signParams: { name: 'Ed25519' },
      digest: 'sha512', signatureAlgorithm: algorithmIdentifier(OID.ed25519), ecdsa: false, publicMembers: ['crv', 'x'],
    };
  }
  return algorithmId;
}

/** Whether the private key belongs to the certificate: their public JWK members agree. */
async function sameKey(pkcs8: Uint8Array<ArrayBuffer>, cert: pkijs.Certificate, algorithm: KeyAlgorithm): Promise<boolean> {
  try {
    const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, algorithm.importParams, true, ['sign']);
    const spki = cert.subjectPublicKeyInfo.toSchema().toBER();
    const publicKey = await crypto.subtle.importKey('spki', spki, algorithm.importParams, true, ['verify']);
    const [mine, theirs] = await Promise.all([crypto.subtle.exportKey('jwk', privateKey), crypto.subtle.exportKey('jwk', publicKey)]);
    return algorithm.publicMembers.every((member) => mine[member] !== undefined && mine[member] === theirs[member]);
  } catch {
    return false;
  }
}

function selfIssued(cert: pkijs.Certificate): boolean {
  return cert.subject.isEqual(cert.issuer);
}

function summarize(cert: pkijs.Certificate): CertificateSummary {
  const issuer = attributes(cert.issuer);
  const one = (list: Map<string, string[]>, oid: string) => {
    const values = list.get(oid) ?? [];
    return values.length === 1 ? values[0] : undefined;
  };
  // The service's own mapping (person and organisation apart), so the page shows what a sign-in will assert.
  const identity = nationalIdentity(cert.subject.typesAndValues.flatMap(({ type, value }) => {
    const text = (value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    return typeof text === 'string' ? [{ type, value: text }] : [];
  }));
  const summary: CertificateSummary = {
    issuer: one(issuer, OID.commonName) ?? one(issuer, OID.organizationName) ?? '',
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    serialHex: Array.from(cert.serialNumber.valueBlock.valueHexView, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase(),
  };
  const set = <K extends keyof CertificateSummary>(field: K, value: CertificateSummary[K] | undefined) => {
    if (value !== undefined && value !== '') summary[field] = value;
  };
  set('commonName', identity.commonName);
  set('surname', identity.surname);
  set('givenName', identity.givenName);
  set('pinfl', identity.pinfl);
  set('tin', identity.tin);
  set('organization', identity.organization?.name ?? identity.organization?.tin);
  return summary;
}

function attributes(name: pkijs.RelativeDistinguishedNames): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { type, value } of name.typesAndValues) {
    const text = (value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    if (typeof text !== 'string') continue;
    // Control and bidi-formatting characters could disguise a name; such values are not shown.
    if (/[\p{Cc}\p{Cf}]/u.test(text)) continue;
    found.set(type, [...(found.get(type) ?? []), text]);
  }
  return found;
}
