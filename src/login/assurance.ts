// What a sign-in is worth to an agency app: `amr` (RFC 8176 method values) and `acr` (one of
// the values discovery lists, oidc/authorize.ts supportedAcrValues).
//
// The service cannot see a token: a signature made on a token looks like one made with a key
// file, and the framing an agent adds could be added by anyone. So the claims rest only on
// what we can check: the certification path vouches that the key was generated in a secure
// device (an ETSI qualified-signature-creation-device policy, which CAs assert only for keys
// made on a token, and which counts only when the path is valid for it: RFC 5280 policy
// processing, so a CA not trusted for that policy cannot grant it), and the signed content
// names our own origin (verifier-impersonation resistance, NIST 800-63B §5.2.5, which `high`
// requires).
import type { Evidence } from './signIn.ts';

export interface Assurance {
  amr: string[];
  acr: string;
}

/**
 * ETSI EN 319 411-2 §5.3: QCP-n-qscd and QCP-l-qscd, certificates whose private key lives in a
 * qualified signature creation device, i.e. a smart card or token that requires its PIN.
 */
export const hardwareKeyPolicies: ReadonlySet<string> = new Set(['0.4.0.194112.1.2', '0.4.0.194112.1.3']);

// A key file (software key held by the citizen): RFC 8176 `swk` + proof of possession.
const keyFile: Assurance = { amr: ['pop', 'swk'], acr: 'urn:yagona:loa:substantial' };
// A hardware key unlocked by its PIN (RFC 8176 `hwk`, `pin`), but signed without naming our
// origin (an older client), so a relay could have carried it: no more than substantial.
const hardwareKey: Assurance = { amr: ['hwk', 'pin', 'pop'], acr: 'urn:yagona:loa:substantial' };
const hardwareKeyOriginBound: Assurance = { amr: ['hwk', 'pin', 'pop'], acr: 'urn:yagona:loa:high' };

/** `pathPolicies`: the policies the validated path is valid for (CertificateVerifier.validatePath). */
export function assuranceOf(evidence: Evidence, pathPolicies: readonly string[]): Assurance {
  const onHardware = pathPolicies.some((policy) => hardwareKeyPolicies.has(policy));
  const chosen = !onHardware ? keyFile : evidence.originBound === true ? hardwareKeyOriginBound : hardwareKey;
  return { amr: [...chosen.amr], acr: chosen.acr };
}
