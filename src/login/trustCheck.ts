// `admin trust check` (docs/api.md "Operator command line"): would this certificate or CMS be
// accepted at a time, and if not, why — for an operator answering "why was I refused?". Every
// step calls what the sign-in calls (signIn.ts), in its order: the CMS reading and opening
// (pki/signin/cms.ts), the signature-algorithm registry, the path validator through the
// certificate verifier, the trust policy, the revocation checker. Nothing here verifies
// anything itself; a step says what it found, or the refusal the sign-in would give.
import { type ErrorCode, isServiceError, ServiceError } from '../errors.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import { describe } from '../pki/path/validate.ts';
import { openCms, outlineCms } from '../pki/signin/cms.ts';
import { isSelfIssued, parseCertificate } from '../pki/x509/certificate.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import type { CertificateVerifier, Evidence, RevocationChecker, ValidatedChain } from './signIn.ts';
import type { PolicyVerdict, TrustPolicyChecker } from './trustPolicy.ts';

export type TrustCheckStepName = 'parsing' | 'algorithm' | 'signature' | 'path' | 'validity' | 'policy' | 'revocation';

export interface TrustCheckStep {
  step: TrustCheckStepName;
  status: 'passed' | 'failed' | 'not checked';
  /** What the step found; for a failure, the refusal's detail as the sign-in would give it. */
  found: string;
  /** The error code of a failed step (docs/errors.md). */
  code?: ErrorCode;
}

export interface TrustCheckVerdict {
  /** Every step passed: the sign-in would accept it at `at`. */
  accepted: boolean;
  at: string;
  /** What the file holds; undefined when it could not be read. */
  kind?: 'certificate' | 'cms';
  steps: TrustCheckStep[];
}

export interface TrustCheckDeps {
  algorithms: SignatureAlgorithms;
  /** The sign-in's verifier over the configured anchors and intermediates (createCertificateVerifier). */
  verifier: CertificateVerifier;
  trustPolicy: TrustPolicyChecker;
  /**
   * The configured revocation checker, the sources it asks and what it warned of (a status left
   * unknown under REVOCATION_FAIL_MODE=open), or why none can be asked here.
   */
  revocation: { checker: RevocationChecker; sources: readonly string[]; warnings(): readonly string[] } | { unavailable: string };
  /** The configured CA certificates (anchors and intermediates): a certificate's issuer is looked up among them. */
  cas: readonly ParsedCertificate[];
}

export interface TrustCheckInput {
  /** A file's bytes: certificates (leaf first) or a CMS SignedData, in PEM, DER/BER or base64. */
  bytes: Uint8Array;
  at: Date;
  /** A detached CMS's content (the challenge that was signed); without it its signature is not checked. */
  content?: Uint8Array;
}

type Outcome = { status: 'passed'; found: string } | { status: 'not checked'; found: string };

export async function checkTrust(deps: TrustCheckDeps, input: TrustCheckInput): Promise<TrustCheckVerdict> {
  const steps: TrustCheckStep[] = [];
  const run = async <T>(step: TrustCheckStepName, work: () => T | Promise<T>, found: (value: T) => Outcome): Promise<T | undefined> => {
    try {
      const value = await work();
      steps.push({ step, ...found(value) });
      return value;
    } catch (error) {
      if (!isServiceError(error)) throw error;
      steps.push({ step, status: 'failed', found: error.message, code: error.code });
      return undefined;
    }
  };
  const skip = (step: TrustCheckStepName, why: string) => steps.push({ step, status: 'not checked', found: why });

  const evidence = await run('parsing', () => readEvidence(input), (e) => passed(e.summary));
  if (evidence === undefined) {
    for (const step of ['algorithm', 'signature', 'path', 'validity', 'policy', 'revocation'] as const) skip(step, 'nothing to check: the input was not read');
    return verdict(input, steps, undefined);
  }
  const algorithm = await run('algorithm', () => evidence.algorithms(deps.algorithms), passed);
  if (algorithm === undefined) skip('signature', 'the algorithm is refused');
  else await run('signature', () => evidence.signature(deps), (outcome) => outcome);
  const chain = await checkPath(deps, evidence.evidence, input.at, steps);
  if (chain === undefined) {
    skip('policy', 'no validated path');
    skip('revocation', 'no validated path');
    return verdict(input, steps, evidence.kind);
  }
  const policy = await run('policy', () => deps.trustPolicy.check(chain), (v) => passed(describePolicy(deps.trustPolicy, v)));
  // As in the sign-in, no CA is asked about a certificate outside its CA's policy.
  if (policy === undefined) skip('revocation', 'the trust policy refuses it, so no revocation source is asked');
  else if ('unavailable' in deps.revocation) skip('revocation', deps.revocation.unavailable);
  else {
    const { checker, sources, warnings } = deps.revocation;
    await run('revocation', () => checker.assertNotRevoked(chain, input.at), () => passed(warnings().length > 0
      ? `accepted with its status unknown, as REVOCATION_FAIL_MODE=open allows: ${warnings().join('; ')}`
      : `not revoked: ${chain.path.length} certificate(s) below the anchor asked of ${sources.join(', then ')}`));
  }
  return verdict(input, steps, evidence.kind);
}

const passed = (found: string): Outcome => ({ status: 'passed', found });

function verdict(input: TrustCheckInput, steps: TrustCheckStep[], kind: TrustCheckVerdict['kind']): TrustCheckVerdict {
  return { accepted: steps.every((step) => step.status === 'passed'), at: input.at.toISOString(), ...(kind === undefined ? {} : { kind }), steps };
}

/** What the parsing step read, and the two steps that depend on what it is. */
interface ReadEvidence {
  kind: 'certificate' | 'cms';
  summary: string;
  evidence: Evidence;
  algorithms(algorithms: SignatureAlgorithms): string;
  signature(deps: TrustCheckDeps): Outcome;
}

function readEvidence(input: TrustCheckInput): ReadEvidence {
  const { kind, der } = decode(input.bytes);
  return kind === 'cms' ? readCms(der[0]!, input.content) : readCertificates(der);
}

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g;

/** PEM (CERTIFICATE blocks, or one CMS / PKCS7 block), base64, or the binary itself; which one the DER's first field tells. */
function decode(bytes: Uint8Array): { kind: 'certificate' | 'cms'; der: Uint8Array[] } {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    // Other blocks (a private key beside the certificate) are passed over, as the trust folders do.
    const blocks = [...text.matchAll(pemBlock)].map(([, label, body]) => ({ label: label!, body: body! }));
    const certificates = blocks.filter((block) => block.label === 'CERTIFICATE');
    const cms = blocks.filter((block) => block.label === 'CMS' || block.label === 'PKCS7');
    if (certificates.length > 0 && cms.length === 0) return { kind: 'certificate', der: certificates.map((block) => fromBase64(block.body)) };
    if (cms.length === 1 && certificates.length === 0) return { kind: 'cms', der: [fromBase64(cms[0]!.body)] };
    throw unreadable(`PEM blocks ${blocks.map((block) => block.label).join(', ') || '(none complete)'}: expected CERTIFICATE blocks or one CMS / PKCS7 block`);
  }
  const binary = /^[A-Za-z0-9+/=\s]+$/.test(text) ? fromBase64(text) : bytes;
  return { kind: kindOf(binary), der: [binary] };
}

function fromBase64(text: string): Uint8Array {
  const body = text.replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw unreadable('bad base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, … }; ContentInfo ::= SEQUENCE { contentType OID, … } (RFC 5652 §3). */
function kindOf(der: Uint8Array): 'certificate' | 'cms' {
  const lengthByte = der[1] ?? 0;
  const first = der[lengthByte <= 0x80 ? 2 : 2 + (lengthByte & 0x7f)];
  if (der[0] === 0x30 && first === 0x30) return 'certificate';
  if (der[0] === 0x30 && first === 0x06) return 'cms';
  throw unreadable('neither a certificate nor a CMS ContentInfo in PEM, DER/BER or base64');
}

const unreadable = (detail: string) => new ServiceError('malformed_signature', detail);

function readCms(der: Uint8Array, detachedContent: Uint8Array | undefined): ReadEvidence {
  const outline = outlineCms(der);
  const { signer, certificates } = outline;
  const content = outline.content === undefined ? 'detached content' : `attached content of ${outline.content.length} bytes`;
  return {
    kind: 'cms',
    summary: `CMS SignedData in ${outline.encoding}, ${content}, ${certificates.length} certificate(s); the signer is ${describeIssued(signer)}`,
    evidence: { signer, certificates },
    algorithms(algorithms) {
      const digest = algorithms.digest(outline.digestAlgorithm);
      const scheme = algorithms.cmsSignatureScheme(outline.signatureAlgorithm, digest.oid);
      const key = algorithms.publicKey(signer.spki);
      return `signature ${scheme.title} (${scheme.oid}) over the digest ${digest.title} (${digest.oid}); the signer's key is ${key.description} (family ${scheme.family})`;
    },
    signature({ algorithms }) {
      const signed = outline.content ?? detachedContent;
      if (signed === undefined) return { status: 'not checked', found: 'the content is detached: pass --content FILE, the bytes that were signed (the challenge)' };
      openCms(der, () => signed, algorithms);
      return passed(outline.signedAttributes
        ? `the signer's key verifies the signed attributes, and their messageDigest is the digest of the ${signed.length} content bytes`
        : `the signer's key verifies the signature over the ${signed.length} content bytes`);
    },
  };
}

function readCertificates(ders: Uint8Array[]): ReadEvidence {
  const certificates = ders.map(parseCertificate);
  const leaf = certificates[0]!;
  const more = certificates.length > 1 ? `, with ${certificates.length - 1} more certificate(s) presented as intermediates` : '';
  return {
    kind: 'certificate',
    summary: `${describeIssued(leaf)}${more}`,
    evidence: { signer: leaf, certificates },
    algorithms(algorithms) {
      const key = algorithms.publicKey(leaf.spki);
      const scheme = algorithms.signatureScheme(leaf.signatureAlgorithm);
      return `its key is ${key.description}; its issuer signed it with ${scheme.title} (${scheme.oid}, family ${scheme.family})`;
    },
    signature({ algorithms, cas }) {
      // The certificate's own signature, by the CA its issuer field names (the path step then
      // builds the whole path; this one tells "no such CA" from "another key signed it").
      const named = [...certificates.slice(1), ...cas, ...(isSelfIssued(leaf) ? [leaf] : [])].filter((ca) => ca.subject.canonical === leaf.issuer.canonical);
      if (named.length === 0) throw new ServiceError('certificate_untrusted', `no configured or presented CA certificate is named "${leaf.issuer.text}", the issuer`);
      const signer = named.find((ca) => algorithms.check(leaf.signatureAlgorithm, ca.spki, leaf.tbs, leaf.signature));
      if (signer === undefined) throw new ServiceError('signature_invalid', `the signature does not verify with the key of any CA certificate named "${leaf.issuer.text}"`);
      return passed(`its signature verifies with the key of ${signer.sha256 === leaf.sha256 ? 'itself (self-signed)' : describe(signer)}`);
    },
  };
}

/**
 * One path validation, as the sign-in does it, told as two steps: validity at the time is
 * checked as the path is built, so an expired certificate stops the path there.
 */
async function checkPath(deps: TrustCheckDeps, evidence: Evidence, at: Date, steps: TrustCheckStep[]): Promise<ValidatedChain | undefined> {
  try {
    const chain = deps.verifier.validatePath(evidence, at);
    const path = [...chain.path, chain.anchor];
    steps.push({ step: 'path', status: 'passed', found: `${path.map((cert) => `"${cert.subject.text}"`).join(' → ')} (trust anchor sha256 ${chain.anchor.sha256})` });
    steps.push({ step: 'validity', status: 'passed', found: `every certificate is valid at ${at.toISOString()}: ${path.map(validityOf).join('; ')}` });
    return chain;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    const failed = { status: 'failed' as const, found: error.message, code: error.code };
    if (error.code === 'certificate_expired' || error.code === 'certificate_not_yet_valid') {
      steps.push({ step: 'path', status: 'not checked', found: 'path building stopped at a certificate outside its validity (below)' }, { step: 'validity', ...failed });
    } else {
      steps.push({ step: 'path', ...failed }, { step: 'validity', status: 'not checked', found: 'no validated path' });
    }
    return undefined;
  }
}

function describeIssued(cert: ParsedCertificate): string {
  return `${describe(cert)} issued by "${cert.issuer.text}", valid ${cert.notBefore.toISOString()} … ${cert.notAfter.toISOString()}`;
}

const validityOf = (cert: ParsedCertificate) => `"${cert.subject.text}" ${cert.notBefore.toISOString()} … ${cert.notAfter.toISOString()}`;

function describePolicy(policy: TrustPolicyChecker, verdict: PolicyVerdict): string {
  if (!policy.enforced || verdict.issuer === undefined) {
    return 'no trust policy is in force (TRUST_POLICY_FILE unset, outside production): any CA under the anchors may sign anyone in';
  }
  const { name, acr } = verdict.issuer;
  return `the issuing CA's entry "${name}" admits it (eku, policies, identifiers)${acr === undefined ? '' : `; its leaves reach ${acr}`}`;
}
