// One registry of signature algorithms: from the OIDs a certificate, a CRL, an OCSP response
// or a CMS names — public key algorithm and parameter set, signature algorithm, digest — to the
// code that checks the key against the key policy and verifies the signature. The built-in
// families (families/) and the plug-ins of SIGNATURE_PLUGINS register here alike, and
// SIGNATURE_ALGORITHMS says which of them are accepted (docs/configuration.md). An OID that no
// accepted family handles is refused in words and by number (`unsupported_algorithm`), so an
// operator reading "O'zDSt 1092:2009-II parameter set 1.2.860.3.15.1.1.2.1.3 is not supported"
// knows what to ask for.
//
// The types below are the plug-in interface (docs/signature-plugins.md): plain data and
// functions, no library types. Families throw with `refuse`, never a bare Error.
import { createHash } from 'node:crypto';
import { ServiceError } from '../../errors.ts';
import type { AlgorithmIdentifier } from '../x509/model.ts';
import { expectSequence, parseDer, readBitStringBytes, readOid, TAG, type DerNode } from '../asn1/der.ts';
import { familyNamePattern } from './familyNames.ts';

/** A SubjectPublicKeyInfo split into what a key algorithm reads (RFC 5280 §4.1.2.7). */
export interface SubjectPublicKey {
  /** The whole SubjectPublicKeyInfo DER. */
  der: Uint8Array;
  algorithm: AlgorithmIdentifier;
  /** The subjectPublicKey BIT STRING's bytes (a whole number of octets). */
  key: Uint8Array;
}

/** A public key a family decoded and found acceptable under its key policy. */
export interface PublicKey {
  /** The key algorithm OID it was read under (a signature algorithm lists the ones it verifies with). */
  algorithm: string;
  /** In words, for messages: "EC P-256", "RSA 2048-bit", "O'zDSt 1092:2009-II parameter set A". */
  description: string;
  /** Whatever the family's schemes need (a node:crypto KeyObject, a curve point…); opaque here. */
  material: unknown;
}

export interface KeyAlgorithm {
  /** The SubjectPublicKeyInfo algorithm OID. */
  oid: string;
  title: string;
  /**
   * Decodes the key and applies the key policy (sizes, curves, parameter sets). Throws with
   * `refuse`: weak for a key outside the policy, unsupported for parameters it does not know
   * (named), malformed for a bad encoding.
   */
  read(spki: SubjectPublicKey): PublicKey;
}

export interface SignatureScheme {
  /** The digest this scheme hashes with: a CMS SignerInfo's digestAlgorithm must be it (RFC 5652 §5.4). */
  digest: string;
  /** Key algorithm OIDs this scheme verifies with; any other key does not verify (docs/security-cases.md #28). */
  keys: readonly string[];
  /** Whether `signature` over `data` verifies under `key`: false for any bad encoding or value, never a throw. */
  verify(key: PublicKey, data: Uint8Array, signature: Uint8Array): boolean;
}

export interface SignatureAlgorithm {
  oid: string;
  title: string;
  /** Checks the AlgorithmIdentifier parameters (DER, undefined when absent) and returns the scheme, or throws with `refuse`. */
  scheme(parameters: Uint8Array | undefined): SignatureScheme;
}

export interface DigestAlgorithm {
  oid: string;
  title: string;
  hash(data: Uint8Array): Uint8Array;
}

/** What a family brings; a plug-in module exports `families: SignatureFamily[]`. */
export interface SignatureFamily {
  /** The name SIGNATURE_ALGORITHMS lists: lower-case letters, digits and hyphens. */
  name: string;
  /** In words, for messages: "O'zDSt 1092:2009-II with O'zDSt 1106:2009". */
  title: string;
  keys: readonly KeyAlgorithm[];
  signatures: readonly SignatureAlgorithm[];
  /** The digests its signatures use; several families may list the same one. */
  digests: readonly DigestAlgorithm[];
  /** OIDs that must be refused as weak whatever is enabled (MD5, SHA-1), in words. */
  weak?: Readonly<Record<string, string>>;
  /** OIDs it knows but does not accept, in words, so that their refusal names them. */
  names?: Readonly<Record<string, string>>;
  /**
   * In a CMS SignerInfo, a signatureAlgorithm naming the key algorithm means the signature
   * algorithm with the SignerInfo's digest (RFC 3370 §3.2 `rsaEncryption`, RFC 4490 §3.2).
   */
  cmsAliases?: ReadonlyArray<{ oid: string; digest: string; signature: string }>;
}

/** What families throw: a ServiceError with the code the contract gives each kind of refusal. */
export const refuse = {
  unsupported: (detail: string) => new ServiceError('unsupported_algorithm', detail),
  weak: (detail: string) => new ServiceError('weak_algorithm', detail),
  malformed: (detail: string) => new ServiceError('malformed_signature', detail),
};

/** AlgorithmIdentifier parameters absent, or NULL (older producers, and E-IMZO everywhere). */
export function isAbsentOrNull(parameters: Uint8Array | undefined): boolean {
  return parameters === undefined || (parameters.length === 2 && parameters[0] === TAG.NULL && parameters[1] === 0);
}

/** A signature AlgorithmIdentifier resolved by an accepted family. */
export interface ResolvedScheme extends SignatureScheme {
  oid: string;
  title: string;
  family: string;
}

export interface ResolvedDigest extends DigestAlgorithm {
  family: string;
}

export interface SignatureAlgorithms {
  /** The accepted families, as SIGNATURE_ALGORITHMS lists them. */
  readonly enabled: readonly string[];
  /** Every family known (built in or plugged in), accepted or not. */
  readonly known: readonly string[];
  /** The key of a SubjectPublicKeyInfo under the key policy; throws unsupported / weak / malformed. */
  publicKey(spki: Uint8Array): PublicKey;
  /** The scheme of a signature AlgorithmIdentifier; throws unsupported / weak / malformed. */
  signatureScheme(algorithm: AlgorithmIdentifier): ResolvedScheme;
  /** As signatureScheme, after resolving a CMS alias (a key algorithm OID in a SignerInfo) with its digest. */
  cmsSignatureScheme(algorithm: AlgorithmIdentifier, digest: string): ResolvedScheme;
  /** A digest AlgorithmIdentifier (parameters absent or NULL); throws unsupported / weak / malformed. */
  digest(algorithm: AlgorithmIdentifier): ResolvedDigest;
  /**
   * Whether `signature` over `data` verifies under the key `spki` with `algorithm`: false on any
   * mismatch (a key the scheme does not take, a bad encoding, a bad value); throws for an
   * algorithm or key the registry refuses. `memo` names the inputs exactly (for a certificate:
   * the SHA-256 of its DER and of its issuer's), and the answer is then computed once.
   */
  check(algorithm: AlgorithmIdentifier, spki: Uint8Array, data: Uint8Array, signature: Uint8Array, memo?: string): boolean;
  /** As check, but a signature that does not verify throws signature_invalid. */
  verify(algorithm: AlgorithmIdentifier, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): true;
  /** An OID in words, for messages ("O'zDSt 1092:2009-II public key 1.2.860.3.15.1.1.2.1"). */
  describe(oid: string): string;
}

export interface RegistryOptions {
  families: readonly SignatureFamily[];
  /** Names of the families to accept; each must be one of `families`. */
  enabled: readonly string[];
}

// OIDs no family here accepts but that certificates in the wild carry: named, so that the
// refusal says what they are (docs/errors.md unsupported_algorithm).
const wellKnownNames: Readonly<Record<string, string>> = {
  '1.2.840.10040.4.1': 'DSA public key',
  '1.2.840.10040.4.3': 'DSA with SHA-1',
  '2.16.840.1.101.3.4.3.2': 'DSA with SHA-256',
  '2.16.840.1.101.3.4.2.4': 'SHA-224',
  '1.2.840.113549.1.1.14': 'SHA-224 with RSA',
  '1.2.840.10045.4.3.1': 'ECDSA with SHA-224',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519 (a key-agreement key)',
  '1.2.643.2.2.19': 'GOST R 34.10-2001 public key (RFC 4491)',
  '1.2.643.2.2.3': 'GOST R 34.11-94 with GOST R 34.10-2001',
  '1.2.643.2.2.9': 'GOST R 34.11-94 hash (RFC 4490)',
};

// Arcs whose algorithms we can at least place, for OIDs nobody named.
const arcNames: ReadonlyArray<[string, string]> = [
  ['1.2.860.3.15.', "an O'zDSt algorithm"],
  ['1.2.643.7.1.', 'a GOST R 34.10-2012 / 34.11-2012 algorithm'],
  ['1.2.643.', 'a Russian GOST algorithm'],
];

const keyCacheLimit = 2000;
const memoLimit = 10_000;

export function createSignatureAlgorithms(options: RegistryOptions): SignatureAlgorithms {
  const byName = new Map<string, SignatureFamily>();
  for (const family of options.families) {
    if (!familyNamePattern.test(family.name)) throw new TypeError(`signature family name "${family.name}" is not lower-case letters, digits and hyphens`);
    if (byName.has(family.name)) throw new TypeError(`signature family "${family.name}" is registered twice`);
    byName.set(family.name, family);
  }
  for (const name of options.enabled) {
    if (!byName.has(name)) throw new TypeError(`unknown signature family "${name}" (known: ${[...byName.keys()].join(', ')})`);
  }
  const enabled = [...new Set(options.enabled)];
  const accepted = enabled.map((name) => byName.get(name)!);

  // What each OID means to the accepted families; an OID two families define must be the same object.
  const keys = indexBy(accepted, (family) => family.keys);
  const signatures = indexBy(accepted, (family) => family.signatures);
  const digests = indexBy(accepted, (family) => family.digests);
  const aliases = new Map<string, string>();
  for (const family of accepted) for (const alias of family.cmsAliases ?? []) aliases.set(`${alias.oid} ${alias.digest}`, alias.signature);
  const weak = new Map<string, string>();
  for (const family of options.families) for (const [oid, words] of Object.entries(family.weak ?? {})) weak.set(oid, words);
  const names = catalogue(options.families);

  const keyCache = new Map<string, PublicKey>();
  const memo = new Map<string, boolean>();

  function refusalFor(oid: string, kind: OidKind): ServiceError {
    if (weak.has(oid)) return refuse.weak(`${weak.get(oid)!} (${oid}) is not accepted: MD5 and SHA-1 are broken`);
    const known = names[kind].get(oid) ?? names.other.get(oid);
    if (known?.family !== undefined) {
      return refuse.unsupported(`${known.words} ${oid} is not supported (the ${known.family} family is not in SIGNATURE_ALGORITHMS)`);
    }
    return refuse.unsupported(`${known?.words ?? `${kindWords[kind]} (${arcName(oid)})`} ${oid} is not supported`);
  }

  function publicKey(spki: Uint8Array): PublicKey {
    const id = createHash('sha256').update(spki).digest('base64');
    const hit = keyCache.get(id);
    if (hit !== undefined) return hit;
    const parts = splitSpki(spki);
    const definition = keys.get(parts.algorithm.oid);
    if (definition === undefined) throw refusalFor(parts.algorithm.oid, 'key');
    const key = definition.entry.read(parts);
    keyCache.set(id, key);
    if (keyCache.size > keyCacheLimit) keyCache.delete(keyCache.keys().next().value!);
    return key;
  }

  function signatureScheme(algorithm: AlgorithmIdentifier): ResolvedScheme {
    if (weak.has(algorithm.oid)) throw refusalFor(algorithm.oid, 'signature');
    const definition = signatures.get(algorithm.oid);
    if (definition === undefined) throw refusalFor(algorithm.oid, 'signature');
    const scheme = definition.entry.scheme(algorithm.parameters);
    return { ...scheme, oid: algorithm.oid, title: definition.entry.title, family: definition.family };
  }

  function check(algorithm: AlgorithmIdentifier, spki: Uint8Array, data: Uint8Array, signature: Uint8Array, memoKey?: string): boolean {
    const scheme = signatureScheme(algorithm);
    const key = publicKey(spki);
    if (memoKey !== undefined) {
      const known = memo.get(memoKey);
      if (known !== undefined) return known;
    }
    const result = scheme.keys.includes(key.algorithm) && safely(() => scheme.verify(key, data, signature));
    if (memoKey !== undefined) {
      memo.set(memoKey, result);
      if (memo.size > memoLimit) memo.delete(memo.keys().next().value!);
    }
    return result;
  }

  return {
    enabled,
    known: [...byName.keys()],
    publicKey,
    signatureScheme,
    cmsSignatureScheme(algorithm, digest) {
      const signature = aliases.get(`${algorithm.oid} ${digest}`);
      return signatureScheme(signature === undefined ? algorithm : { ...algorithm, oid: signature });
    },
    digest(algorithm) {
      // RFC 5754 §2 (SHA-2) and RFC 4490 §2 (GOST): parameters absent; NULL from older
      // producers and from E-IMZO, which writes NULL in every AlgorithmIdentifier.
      if (!isAbsentOrNull(algorithm.parameters)) throw refuse.malformed(`digest algorithm ${algorithm.oid} has parameters other than NULL`);
      if (weak.has(algorithm.oid)) throw refusalFor(algorithm.oid, 'digest');
      const definition = digests.get(algorithm.oid);
      if (definition === undefined) throw refusalFor(algorithm.oid, 'digest');
      return { ...definition.entry, family: definition.family };
    },
    check,
    verify(algorithm, spki, data, signature) {
      if (!check(algorithm, spki, data, signature)) throw new ServiceError('signature_invalid', 'the signature does not verify with the certificate key');
      return true;
    },
    describe(oid) {
      const known = names.key.get(oid) ?? names.signature.get(oid) ?? names.digest.get(oid) ?? names.other.get(oid);
      return known === undefined ? `${arcName(oid)} ${oid}` : `${known.words} ${oid}`;
    },
  };
}

interface Indexed<T> {
  entry: T;
  family: string;
}

function indexBy<T extends { oid: string }>(families: readonly SignatureFamily[], entries: (family: SignatureFamily) => readonly T[]): Map<string, Indexed<T>> {
  const index = new Map<string, Indexed<T>>();
  for (const family of families) {
    for (const entry of entries(family)) {
      const existing = index.get(entry.oid);
      if (existing !== undefined && existing.entry !== entry) {
        throw new TypeError(`OID ${entry.oid} is defined differently by the ${existing.family} and ${family.name} families`);
      }
      if (existing === undefined) index.set(entry.oid, { entry, family: family.name });
    }
  }
  return index;
}

type OidKind = 'key' | 'signature' | 'digest';

const kindWords: Readonly<Record<OidKind, string>> = { key: 'public key algorithm', signature: 'signature algorithm', digest: 'digest algorithm' };

interface Named {
  words: string;
  /** The family that defines it, when one does. */
  family?: string;
}

/**
 * Every OID the known families and the well-known table name, by what it names (Ed25519's one
 * OID is a key and a signature algorithm), with the family that defines it.
 */
function catalogue(families: readonly SignatureFamily[]): Record<OidKind | 'other', Map<string, Named>> {
  const names = { key: new Map<string, Named>(), signature: new Map<string, Named>(), digest: new Map<string, Named>(), other: new Map<string, Named>() };
  for (const [oid, words] of Object.entries(wellKnownNames)) names.other.set(oid, { words });
  for (const family of families) {
    for (const [oid, words] of Object.entries(family.names ?? {})) names.other.set(oid, { words });
    for (const entry of family.keys) names.key.set(entry.oid, { words: `${entry.title} public key`, family: family.name });
    for (const entry of family.signatures) names.signature.set(entry.oid, { words: `${entry.title} signature`, family: family.name });
    for (const entry of family.digests) if (!names.digest.has(entry.oid)) names.digest.set(entry.oid, { words: `${entry.title} hash`, family: family.name });
  }
  return names;
}

function arcName(oid: string): string {
  return arcNames.find(([prefix]) => oid.startsWith(prefix))?.[1] ?? 'an algorithm this service does not know';
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }. */
function splitSpki(der: Uint8Array): SubjectPublicKey {
  const [algorithmNode, keyNode] = expectSequence(parseDer(der), 2, 2, 'SubjectPublicKeyInfo') as [DerNode, DerNode];
  const [oidNode, parameters] = expectSequence(algorithmNode, 1, 2, 'SubjectPublicKeyInfo algorithm') as [DerNode, DerNode | undefined];
  const algorithm: AlgorithmIdentifier = parameters === undefined ? { oid: readOid(oidNode) } : { oid: readOid(oidNode), parameters: parameters.bytes };
  return { der, algorithm, key: readBitStringBytes(keyNode, 'subjectPublicKey') };
}

// node:crypto (OpenSSL) reports some malformed signatures as errors rather than as "no", and a
// plug-in's bug must not turn into an acceptance: anything but `true` is a signature that failed.
function safely(verify: () => boolean): boolean {
  try {
    return verify() === true;
  } catch {
    return false;
  }
}
