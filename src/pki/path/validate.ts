// Certification path building and validation (RFC 5280 §6.1, revocation by §6.3): the one
// entry point that sign-in and the conformance runner share. Issuers are found by name and
// bound by signature, never by name alone (docs/security-cases.md §C 49); alternatives are tried
// with a depth limit, cycle protection and a work budget (§C 48).
import { ServiceError } from '../../errors.ts';
import type { KeyUsageName, ParsedCertificate } from '../x509/model.ts';
import { isSelfIssued, parseCertificate } from '../x509/certificate.ts';
import { type ParsedCrl, parseCrl, spkiKey } from '../x509/crl.ts';
import { addNameConstraints, emptyNameConstraints, nameConstraintViolation, type NameConstraintState, unsupportedNameConstraint } from './nameConstraints.ts';
import { OID } from '../asn1/oids.ts';
import {
  initPolicyState, type PolicyInputs, policySatisfied, processCertificatePolicies, processPolicyMappings,
  updatePolicyCounters, wrapUpPolicies,
} from './policy.ts';
import { assertProfile, type ProfileOptions } from './profile.ts';
import { checkRevocation } from './crlStatus.ts';
import type { SignatureAlgorithms } from '../algorithms/registry.ts';
import { defaultSignatureAlgorithms } from '../algorithms/families/index.ts';
import { certificateExtensionDecoders } from '../x509/extensions.ts';

export type { PolicyInputs } from './policy.ts';

// Policy choices where RFC 5280 leaves room (x509-limbo `policy-choice`, scripts/conformance):
// - a CA certificate (basicConstraints cA) is never accepted as the leaf: it is not a citizen;
// - a leaf without extendedKeyUsage is accepted (docs/path-validation.md: "if it has an extendedKeyUsage");
// - name constraints are enforced whether or not the extension is marked critical;
// - unsupported: DSA (not in the algorithm list of docs/path-validation.md), so such paths are rejected.

/** Sign-in accepts a leaf whose EKU, when present, names one of these (docs/path-validation.md). */
export const signInEku: readonly string[] = [OID.clientAuth, OID.emailProtection];
/** Sign-in needs a leaf keyUsage with one of these (docs/security-cases.md §C 40). */
export const signInKeyUsage: readonly KeyUsageName[] = ['digitalSignature', 'nonRepudiation'];

export interface ValidateInput {
  leaf: ParsedCertificate;
  /** An unordered pool of candidate intermediates (from the request and the configuration). */
  intermediates?: readonly ParsedCertificate[];
  anchors: readonly ParsedCertificate[];
  at: Date;
  /**
   * Leaf EKU requirement: when the leaf has extendedKeyUsage it must list one of these.
   * anyExtendedKeyUsage does not count: a sign-in certificate names its purpose
   * (RFC 5280 §4.2.1.12 lets applications reject it). 'any' skips the check. Default signInEku.
   */
  requiredEku?: readonly string[] | 'any';
  /** Leaf keyUsage requirement: present and with one of these; 'any' skips it. Default signInKeyUsage. */
  requiredKeyUsage?: readonly KeyUsageName[] | 'any';
  /** CRLs to decide revocation by (DER or parsed). When any are given, every certificate below the anchor needs a status. */
  crls?: ReadonlyArray<Uint8Array | ParsedCrl>;
  /**
   * SHA-256 fingerprints of the certificates whose status `crls` must decide; the others are
   * left to another revocation source (src/revocation/sources.ts). Default: all below the anchor.
   * Paths of CRL signers are always checked in full.
   */
  crlScope?: ReadonlySet<string>;
  /** Most intermediate CA certificates between leaf and anchor, self-issued ones (key rollover) not counted. Default 8. */
  maxDepth?: number;
  policy?: PolicyInputs;
  /** The accepted signature families and their key policy; default: SIGNATURE_ALGORITHMS' default. */
  algorithms?: SignatureAlgorithms;
  profile?: ProfileOptions;
}

export interface ValidatedPath {
  leaf: ParsedCertificate;
  /** Intermediates from the leaf's issuer up, anchor excluded. */
  intermediates: ParsedCertificate[];
  anchor: ParsedCertificate;
  /** Policies the path is valid for (RFC 5280 §6.1.6 authorities-constrained set); [] when none were required. */
  policies: string[];
}

const defaultMaxDepth = 8;
const hardMaxIntermediates = 16;
// Candidate issuers examined per validation; real paths need a handful (docs/security-cases.md §C 48).
const maxBuildSteps = 64;
// A CRL signed by another key of the issuer needs its own path, whose CRLs may need one more.
const maxCrlSignerNesting = 2;

type Purpose = { kind: 'leaf'; eku: readonly string[] | 'any'; keyUsage: readonly KeyUsageName[] | 'any' } | { kind: 'crlSigner' };

interface Pool {
  anchors: Map<string, ParsedCertificate[]>;
  intermediates: Map<string, ParsedCertificate[]>;
  anchorHashes: Set<string>;
}

interface Context {
  pool: Pool;
  at: Date;
  maxDepth: number;
  policy: PolicyInputs;
  algorithms: SignatureAlgorithms;
  profile: ProfileOptions;
  crls: ParsedCrl[] | undefined;
  crlScope: ReadonlySet<string> | undefined;
  crlNesting: number;
  /** CRL signers whose own paths enclosing validations are checking (an indirect CRL may cover its signer). */
  crlSignersInProgress: ReadonlySet<string>;
  steps: number;
}

/** Validates `leaf` to one of `anchors`; returns the path or throws a ServiceError saying why not. */
export function validate(input: ValidateInput): ValidatedPath {
  const pool = buildPool(input.anchors, input.intermediates ?? []);
  return validateInPool(pool, input);
}

function validateInPool(pool: Pool, input: Omit<ValidateInput, 'anchors'>): ValidatedPath {
  const crls = input.crls === undefined || input.crls.length === 0 ? undefined : input.crls.flatMap(usableCrl);
  const context: Context = {
    pool,
    at: input.at,
    maxDepth: input.maxDepth ?? defaultMaxDepth,
    policy: input.policy ?? {},
    algorithms: input.algorithms ?? defaultSignatureAlgorithms,
    profile: input.profile ?? {},
    crls,
    crlScope: input.crlScope,
    crlNesting: 0,
    crlSignersInProgress: new Set(),
    steps: 0,
  };
  const purpose: Purpose = { kind: 'leaf', eku: input.requiredEku ?? signInEku, keyUsage: input.requiredKeyUsage ?? signInKeyUsage };
  return buildAndValidate(context, input.leaf, purpose, undefined);
}

// A CRL that does not parse proves nothing; dropping it leaves the status open (revocation_unknown).
function usableCrl(crl: Uint8Array | ParsedCrl): ParsedCrl[] {
  if (!(crl instanceof Uint8Array)) return [crl];
  try {
    return [parseCrl(crl)];
  } catch (err) {
    if (err instanceof ServiceError) return [];
    throw err;
  }
}

function buildPool(anchors: readonly ParsedCertificate[], intermediates: readonly ParsedCertificate[]): Pool {
  const pool: Pool = { anchors: new Map(), intermediates: new Map(), anchorHashes: new Set() };
  for (const anchor of anchors) addTo(pool.anchors, anchor);
  for (const anchor of anchors) pool.anchorHashes.add(anchor.sha256);
  for (const cert of intermediates) if (!pool.anchorHashes.has(cert.sha256)) addTo(pool.intermediates, cert);
  return pool;
}

function addTo(index: Map<string, ParsedCertificate[]>, cert: ParsedCertificate): void {
  const list = index.get(cert.subject.canonical) ?? [];
  if (!list.some((c) => c.sha256 === cert.sha256)) list.push(cert);
  index.set(cert.subject.canonical, list);
}

/** Outcome of trying candidate paths: the first path-level failure explains best. */
interface Attempts {
  pathError: ServiceError | undefined;
  buildError: ServiceError | undefined;
  notes: string[];
}

function buildAndValidate(context: Context, leaf: ParsedCertificate, purpose: Purpose, onlyAnchor: ParsedCertificate | undefined): ValidatedPath {
  const attempts: Attempts = { pathError: undefined, buildError: undefined, notes: [] };
  const found = extend(context, [leaf], purpose, onlyAnchor, attempts);
  if (found !== undefined) return found;
  if (attempts.pathError !== undefined) throw attempts.pathError;
  if (attempts.buildError !== undefined) throw attempts.buildError;
  const notes = attempts.notes.length > 0 ? `: ${[...new Set(attempts.notes)].slice(0, 5).join('; ')}` : '';
  throw untrusted(`no path from ${describe(leaf)} to a trusted anchor${notes}`);
}

/** Depth-first search over candidate issuers of the last certificate of `chain` (leaf first). */
function extend(context: Context, chain: ParsedCertificate[], purpose: Purpose, onlyAnchor: ParsedCertificate | undefined, attempts: Attempts): ValidatedPath | undefined {
  const current = chain[chain.length - 1]!;
  for (const candidate of candidatesFor(context.pool, current, onlyAnchor)) {
    if (++context.steps > maxBuildSteps) {
      attempts.buildError ??= untrusted(`path building for ${describe(chain[0]!)} gave up after ${maxBuildSteps} candidate issuers`);
      return undefined;
    }
    if (chain.some((c) => c.sha256 === candidate.sha256)) continue; // a cycle: A signs B signs A
    const isAnchor = context.pool.anchorHashes.has(candidate.sha256);
    if (!isAnchor && tooDeep(context, chain, candidate)) {
      attempts.notes.push(`the path would exceed ${context.maxDepth} intermediate certificates`);
      continue;
    }
    // Key policy before the signature check, so oversized keys cost nothing (docs/security-cases.md §C 47).
    if (!keyAcceptable(context, candidate, attempts) || !issuerSigned(context, current, candidate, attempts)) continue;
    if (isAnchor) {
      try {
        return processPath(context, chain, candidate, purpose);
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        attempts.pathError ??= err;
        continue;
      }
    }
    const result = extend(context, [...chain, candidate], purpose, onlyAnchor, attempts);
    if (result !== undefined) return result;
  }
  if (chain.length === 1 || attempts.notes.length === 0) {
    attempts.notes.push(`no trusted or supplied CA certificate named "${current.issuer.text}" signed ${describe(current)}`);
  }
  return undefined;
}

// Self-issued certificates (key rollover) do not count towards the depth, as they do not
// towards pathLenConstraint (§6.1.4(l)); a hard cap still bounds the whole chain.
function tooDeep(context: Context, chain: ParsedCertificate[], candidate: ParsedCertificate): boolean {
  if (chain.length > hardMaxIntermediates) return true;
  const logical = chain.slice(1).filter((c) => !isSelfIssued(c)).length + (isSelfIssued(candidate) ? 0 : 1);
  return logical > context.maxDepth;
}

/** Anchors first (shortest paths), then intermediates; among them, a matching key identifier first. */
function candidatesFor(pool: Pool, cert: ParsedCertificate, onlyAnchor: ParsedCertificate | undefined): ParsedCertificate[] {
  const key = cert.issuer.canonical;
  const anchors = (pool.anchors.get(key) ?? []).filter((a) => onlyAnchor === undefined || a.sha256 === onlyAnchor.sha256);
  const intermediates = [...(pool.intermediates.get(key) ?? [])];
  const keyId = cert.authorityKeyId?.keyId;
  const rank = (c: ParsedCertificate): number =>
    keyId !== undefined && c.subjectKeyId !== undefined && Buffer.compare(keyId, c.subjectKeyId) === 0 ? 0 : 1;
  return [...anchors.sort((a, b) => rank(a) - rank(b)), ...intermediates.sort((a, b) => rank(a) - rank(b))];
}

function keyAcceptable(context: Context, issuer: ParsedCertificate, attempts: Attempts): boolean {
  try {
    assertStrength(context, issuer);
    return true;
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    attempts.buildError ??= err;
    return false;
  }
}

/**
 * Whether `issuer`'s key made `cert`'s signature, computed once per process for each pair: the
 * answer is remembered under the SHA-256 of both certificates' exact DER, which fixes the key,
 * the algorithm, the signed bytes and the signature. Weak or unknown algorithms are recorded.
 */
function issuerSigned(context: Context, cert: ParsedCertificate, issuer: ParsedCertificate, attempts: Attempts): boolean {
  try {
    const ok = context.algorithms.check(cert.signatureAlgorithm, issuer.spki, cert.tbs, cert.signature, `${issuer.sha256}:${cert.sha256}`);
    if (!ok) attempts.notes.push(`the signature on ${describe(cert)} does not verify with the key of ${describe(issuer)}`);
    return ok;
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    attempts.buildError ??= new ServiceError(err.code, `${describe(cert)}: ${err.message}`);
    return false;
  }
}

/**
 * RFC 5280 §6.1.2–§6.1.5 over anchor → … → leaf, where `chainLeafFirst` is leaf first and
 * every signature is already verified. Throws the first rule a certificate breaks.
 */
function processPath(context: Context, chainLeafFirst: ParsedCertificate[], anchor: ParsedCertificate, purpose: Purpose): ValidatedPath {
  const path = [...chainLeafFirst].reverse();
  const n = path.length;
  assertAnchor(context, anchor);
  let nameConstraints: NameConstraintState = addNameConstraints(emptyNameConstraints(), anchor);
  let maxPathLength = anchor.basicConstraints?.pathLen ?? n;
  const policy = initPolicyState(n, context.policy);
  for (let i = 1; i <= n; i++) {
    const cert = path[i - 1]!;
    const issuer = i === 1 ? anchor : path[i - 2]!;
    const last = i === n;
    const selfIssued = isSelfIssued(cert);
    assertValidity(cert, context.at);
    assertStrength(context, cert);
    assertProfile(cert, last ? 'leaf' : 'intermediate', context.profile, describe);
    if (context.crls !== undefined && (context.crlScope === undefined || context.crlScope.has(cert.sha256))) assertNotRevoked(context, cert, issuer, anchor);
    if (!(selfIssued && !last)) {
      const violation = nameConstraintViolation(nameConstraints, cert);
      if (violation !== undefined) throw untrusted(`${describe(cert)} breaks name constraints: ${violation}`);
    }
    processCertificatePolicies(policy, cert, i, n, selfIssued);
    if (!policySatisfied(policy)) throw untrusted(`${describe(cert)} leaves no acceptable certificate policy (RFC 5280 §6.1.3(f))`);
    assertNoUnknownCriticalExtension(cert);
    if (last) break;
    const mappingProblem = processPolicyMappings(policy, cert, i);
    if (mappingProblem !== undefined) throw untrusted(`${describe(cert)}: ${mappingProblem}`);
    assertCa(cert);
    const ncProblem = unsupportedNameConstraint(cert);
    if (ncProblem !== undefined) throw untrusted(`${describe(cert)}: ${ncProblem}`);
    nameConstraints = addNameConstraints(nameConstraints, cert);
    updatePolicyCounters(policy, cert, selfIssued);
    if (!selfIssued) {
      // §6.1.4(l): each non-self-issued CA uses up one step of the allowed path length.
      if (maxPathLength <= 0) throw untrusted(`${describe(cert)} exceeds the pathLenConstraint of a CA above it`);
      maxPathLength--;
    }
    const pathLen = cert.basicConstraints?.pathLen;
    if (pathLen !== undefined && pathLen < maxPathLength) maxPathLength = pathLen;
  }
  const leaf = path[n - 1]!;
  const policies = wrapUpPolicies(policy, leaf, n, context.policy);
  if (policies === undefined) throw untrusted(`the path of ${describe(leaf)} is not valid for any acceptable certificate policy (RFC 5280 §6.1.5)`);
  assertPurpose(leaf, purpose);
  return { leaf, intermediates: chainLeafFirst.slice(1), anchor, policies };
}

function assertAnchor(context: Context, anchor: ParsedCertificate): void {
  assertValidity(anchor, context.at);
  assertStrength(context, anchor);
  assertProfile(anchor, 'anchor', context.profile, describe);
  const problem = unsupportedNameConstraint(anchor);
  if (problem !== undefined) throw untrusted(`trust anchor ${describe(anchor)}: ${problem}`);
}

// Validity is encoded to the second (RFC 5280 §4.1.2.5), so `at` is compared at that granularity.
function assertValidity(cert: ParsedCertificate, at: Date): void {
  const t = Math.floor(at.getTime() / 1000) * 1000;
  if (t < cert.notBefore.getTime()) {
    throw new ServiceError('certificate_not_yet_valid', `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`);
  }
  if (t > cert.notAfter.getTime()) {
    throw new ServiceError('certificate_expired', `${describe(cert)} expired at ${cert.notAfter.toISOString()}`);
  }
}

/** Key strength on every certificate, anchor included (weak signature hashes fail in issuerSigned). */
function assertStrength(context: Context, cert: ParsedCertificate): void {
  try {
    context.algorithms.publicKey(cert.spki);
  } catch (err) {
    if (err instanceof ServiceError) throw new ServiceError(err.code, `${describe(cert)}: ${err.message}`);
    throw err;
  }
}

// §6.1.4(k),(n): an intermediate must be a v3 CA certificate allowed to sign certificates.
function assertCa(cert: ParsedCertificate): void {
  if (cert.version !== 3 || cert.basicConstraints?.ca !== true) {
    throw untrusted(`${describe(cert)} issued another certificate but is not a CA (basicConstraints cA is not TRUE)`);
  }
  if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) {
    throw untrusted(`${describe(cert)} is a CA whose keyUsage does not allow keyCertSign`);
  }
}

// §6.1.4(o), §6.1.5(f): a critical extension we do not process makes the certificate unusable (§4.2).
function assertNoUnknownCriticalExtension(cert: ParsedCertificate): void {
  const unknown = cert.extensions.find((e) => e.critical && !certificateExtensionDecoders.has(e.oid));
  if (unknown !== undefined) throw untrusted(`${describe(cert)} has an unknown critical extension ${unknown.oid}`);
}

function assertPurpose(leaf: ParsedCertificate, purpose: Purpose): void {
  if (purpose.kind === 'crlSigner') {
    // §6.3.3(f): the CRL issuer's keyUsage, when present, must allow cRLSign.
    if (leaf.keyUsage !== undefined && !leaf.keyUsage.has('cRLSign')) throw untrusted(`${describe(leaf)} may not sign CRLs`);
    return;
  }
  // A CA certificate is not a citizen's credential, whatever its key usages say.
  if (leaf.basicConstraints?.ca === true) throw usage(`${describe(leaf)} is a CA certificate, not an end-entity certificate`);
  if (purpose.keyUsage !== 'any') {
    const allowed = purpose.keyUsage;
    if (leaf.keyUsage === undefined) throw usage(`${describe(leaf)} has no keyUsage; it needs ${allowed.join(' or ')}`);
    if (!allowed.some((u) => leaf.keyUsage!.has(u))) throw usage(`${describe(leaf)} keyUsage allows neither ${allowed.join(' nor ')}`);
  }
  if (purpose.eku !== 'any' && leaf.extKeyUsage !== undefined) {
    const wanted = purpose.eku;
    if (!leaf.extKeyUsage.some((e) => wanted.includes(e))) {
      throw usage(`${describe(leaf)} extendedKeyUsage does not include ${wanted.join(' or ')}`);
    }
  }
}

function assertNotRevoked(context: Context, cert: ParsedCertificate, issuer: ParsedCertificate, anchor: ParsedCertificate): void {
  checkRevocation({
    cert,
    crls: context.crls!,
    at: context.at,
    describe,
    crlSignerProblem: (crl) => crlSignerProblem(context, crl, issuer, anchor),
  });
}

/**
 * §6.3.3(f)–(g): the CRL must be signed by the certificate's issuer or by another key of the
 * same CA name whose own path reaches the same trust anchor and may sign CRLs.
 */
function crlSignerProblem(context: Context, crl: ParsedCrl, issuer: ParsedCertificate, anchor: ParsedCertificate): string | undefined {
  const verifies = (signer: ParsedCertificate): boolean => {
    // Checked where the CRL was read (a worker thread): a multi-megabyte list is not hashed again here.
    const known = crl.signatureChecks?.get(spkiKey(signer.spki));
    if (known !== undefined) return known;
    try {
      return context.algorithms.check(crl.signatureAlgorithm, signer.spki, crl.tbs, crl.signature, `${signer.sha256}:crl:${crl.sha256}`);
    } catch {
      return false;
    }
  };
  const mayCrlSign = (c: ParsedCertificate): boolean => c.keyUsage === undefined || c.keyUsage.has('cRLSign');
  if (issuer.subject.canonical === crl.issuer.canonical && verifies(issuer)) {
    return mayCrlSign(issuer) ? undefined : `${describe(issuer)} signed a CRL but its keyUsage does not allow cRLSign`;
  }
  const others = [...(context.pool.anchors.get(crl.issuer.canonical) ?? []), ...(context.pool.intermediates.get(crl.issuer.canonical) ?? [])]
    .filter((c) => c.sha256 !== issuer.sha256 && mayCrlSign(c) && verifies(c));
  // The anchor needs no path; a signer already being validated further up needs no second one
  // (its indirect CRL covering itself, as in PKITS 4.14.30): that enclosing validation decides.
  if (others.some((c) => c.sha256 === anchor.sha256 || context.crlSignersInProgress.has(c.sha256))) return undefined;
  if (context.crlNesting < maxCrlSignerNesting) {
    for (const signer of others) {
      const nested: Context = {
        ...context, crlScope: undefined, crlNesting: context.crlNesting + 1, crlSignersInProgress: new Set([...context.crlSignersInProgress, signer.sha256]), steps: 0,
      };
      try {
        buildAndValidate(nested, signer, { kind: 'crlSigner' }, anchor);
        return undefined;
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
      }
    }
  }
  return `the CRL of "${crl.issuer.text}" is not signed by a key entitled to sign it`;
}

function untrusted(detail: string): ServiceError {
  return new ServiceError('certificate_untrusted', detail);
}

function usage(detail: string): ServiceError {
  return new ServiceError('certificate_usage_invalid', detail);
}

/** How rejections name a certificate: its subject and serial, as an operator would look it up. */
export function describe(cert: ParsedCertificate): string {
  const subject = cert.subject.text === '' ? '(empty subject)' : `"${cert.subject.text}"`;
  return `certificate ${subject} (serial ${cert.serialHex})`;
}

export interface TrustStore {
  anchors: readonly ParsedCertificate[];
  intermediates: readonly ParsedCertificate[];
  /** validate() against the configured anchors, adding the configured intermediates to the pool. */
  validate(input: Omit<ValidateInput, 'anchors'>): ValidatedPath;
}

/** Parses the configured certificates once and indexes them by subject; throws on a bad file. */
export function createTrustStore(config: { anchors: Uint8Array[]; intermediates: Uint8Array[] }): TrustStore {
  const anchors = config.anchors.map(parseCertificate);
  const intermediates = config.intermediates.map(parseCertificate);
  if (anchors.length === 0) throw new TypeError('a trust store needs at least one trust anchor');
  const base = buildPool(anchors, intermediates);
  return {
    anchors,
    intermediates,
    validate(input) {
      const extra = input.intermediates ?? [];
      const pool = extra.length === 0 ? base : buildPool(anchors, [...intermediates, ...extra]);
      return validateInPool(pool, input);
    },
  };
}
