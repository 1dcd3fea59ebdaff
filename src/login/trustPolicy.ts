// The per-CA trust policy (TRUST_POLICY_FILE, docs/configuration.md "Trust policy"): which
// issuing CAs may sign citizens in, with which extended key usages and certificate policies,
// which national identifiers each may assert, and the highest level its leaves reach. Checked
// after the path validated and before revocation (docs/security-cases.md §0.1 step 7), so a
// certificate outside its CA's policy never reaches the network; every refusal is
// certificate_usage_invalid and names the rule.
//
// The identifiers rule is what keeps a CA from minting another's citizens: the direct API's
// `sub` is `pinfl:<PINFL>`, so a CA allowed no PINFLs must not get one through.
import { ServiceError } from '../errors.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import { describe } from '../pki/path/validate.ts';
import type { IdentifierName } from '../pki/x509/nationalIdentity.ts';
import { type Acr, acrLevels, hardwareKeyPolicies } from './assurance.ts';
import { identifiersOf } from './identity.ts';
import type { ValidatedChain } from './signIn.ts';

export interface TrustPolicyIssuer {
  /** Shown in the audit log and by `admin trust check`. */
  name: string;
  /** Lower-case hex SHA-256 of the issuing CA certificate's DER. */
  sha256: string;
  /** Extended key usage OIDs the leaf must all carry; undefined: none required. */
  eku?: readonly string[];
  /** Certificate policy OIDs of which the leaf must assert one; undefined: any. */
  policies?: readonly string[];
  /** The national identifiers its leaves may carry; [] when the entry names none. */
  identifiers: readonly IdentifierName[];
  /** The highest level its leaves reach; undefined: substantial (a key file's). */
  acr?: Acr;
}

export interface TrustPolicy {
  /** The file it was read from. */
  file: string;
  issuers: readonly TrustPolicyIssuer[];
}

/** What the policy says about a validated chain it admits. */
export interface PolicyVerdict {
  /** The entry of the issuing CA; undefined without a policy. */
  issuer?: TrustPolicyIssuer;
  /** Whether the leaf's key may be taken to live in a secure device (amr hwk): the entry's acr is high, or, without a policy, a QSCD path policy. */
  hardwareKey: boolean;
}

export interface TrustPolicyChecker {
  /** SHA-256 of every CA the policy pins, for path validation (path/profile.ts `pinned`). */
  readonly pinned: ReadonlySet<string>;
  /** Whether a policy is in force (false: every CA under the anchors may sign anyone in). */
  readonly enforced: boolean;
  /** The verdict for a validated chain; throws certificate_usage_invalid saying which rule it breaks. */
  check(chain: Pick<ValidatedChain, 'path' | 'anchor' | 'policies'>): PolicyVerdict;
}

export function createTrustPolicyChecker(policy: TrustPolicy | undefined): TrustPolicyChecker {
  if (policy === undefined) {
    return {
      pinned: new Set(),
      enforced: false,
      // Without a policy (outside production only) the service keeps its first rules: any CA
      // under the anchors, and a hardware key when the path is valid for an ETSI QSCD policy.
      check: (chain) => ({ hardwareKey: chain.policies.some((oid) => hardwareKeyPolicies.has(oid)) }),
    };
  }
  const bySha256 = new Map(policy.issuers.map((issuer) => [issuer.sha256, issuer]));
  return {
    pinned: new Set(bySha256.keys()),
    enforced: true,
    check(chain) {
      const leaf = chain.path[0]!;
      const issuingCa = chain.path[1] ?? chain.anchor;
      const issuer = bySha256.get(issuingCa.sha256);
      if (issuer === undefined) {
        throw refused(`the issuing CA ${describe(issuingCa)} (sha256 ${issuingCa.sha256}) has no entry in the trust policy`);
      }
      assertExtendedKeyUsages(leaf, issuer);
      assertCertificatePolicies(leaf, issuer);
      assertIdentifiers(leaf, issuer);
      return { issuer, hardwareKey: issuer.acr !== undefined && acrLevels[issuer.acr] >= acrLevels['urn:yagona:loa:high'] };
    },
  };
}

function refused(detail: string): ServiceError {
  return new ServiceError('certificate_usage_invalid', detail);
}

/** eku: every listed usage on the leaf (RFC 5280 §4.2.1.12); a leaf without the extension has none. */
function assertExtendedKeyUsages(leaf: ParsedCertificate, issuer: TrustPolicyIssuer): void {
  const missing = (issuer.eku ?? []).filter((oid) => !(leaf.extKeyUsage ?? []).includes(oid));
  if (missing.length > 0) {
    throw refused(`${describe(leaf)} lacks the extended key usage ${missing.join(', ')} that the trust policy requires of "${issuer.name}"`);
  }
}

/**
 * policies: one of them asserted by the leaf itself (its certificatePolicies, RFC 5280 §4.2.1.4).
 * The leaf's own assertion, not the path's policy set: national CAs such as the E-IMZO CA carry
 * no certificatePolicies, which §6.1 processing would turn into an empty set.
 */
function assertCertificatePolicies(leaf: ParsedCertificate, issuer: TrustPolicyIssuer): void {
  if (issuer.policies === undefined) return;
  const asserted = (leaf.certificatePolicies ?? []).map((policy) => policy.oid);
  if (!issuer.policies.some((oid) => asserted.includes(oid))) {
    throw refused(`${describe(leaf)} asserts none of the certificate policies ${issuer.policies.join(', ')} that the trust policy requires of "${issuer.name}"`);
  }
}

/** identifiers: a leaf may carry only the national identifiers its CA may assert, well formed or not. */
function assertIdentifiers(leaf: ParsedCertificate, issuer: TrustPolicyIssuer): void {
  const forbidden = identifiersOf(leaf).filter((name) => !issuer.identifiers.includes(name));
  if (forbidden.length > 0) {
    throw refused(`${describe(leaf)} asserts ${forbidden.map((name) => name.toUpperCase()).join(' and ')}, which the trust policy does not let "${issuer.name}" assert`);
  }
}
