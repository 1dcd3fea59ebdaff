// What a sign-in is worth to an agency app: `amr` (RFC 8176 method values) and `acr` (one of
// the values discovery lists).
//
// The service cannot see a token: a signature made on a token looks like one made with a key
// file, and the framing an agent adds could be added by anyone. So the claims rest only on
// what we can check: the operator's word that the issuing CA issues keys in secure devices only
// (its trust-policy entry reaching `high`, login/trustPolicy.ts) — or, without a trust policy,
// the certification path being valid for an ETSI qualified-signature-creation-device policy
// (RFC 5280 policy processing, so a CA not trusted for that policy cannot grant it) — and the
// signed content naming our own origin (verifier-impersonation resistance, NIST 800-63B §5.2.5,
// which `high` requires).
import type { Evidence } from './signIn.ts';

/** The levels a sign-in reaches, lowest first: what discovery lists and a trust policy's `acr` names. */
export const acrValues = ['urn:yagona:loa:substantial', 'urn:yagona:loa:high'] as const;
export type Acr = (typeof acrValues)[number];
export const acrLevels: Readonly<Record<Acr, number>> = { 'urn:yagona:loa:substantial': 1, 'urn:yagona:loa:high': 2 };

export interface Assurance {
  amr: string[];
  acr: string;
}

/**
 * ETSI EN 319 411-2 §5.3: QCP-n-qscd and QCP-l-qscd, certificates whose private key lives in a
 * qualified signature creation device, i.e. a smart card or token that requires its PIN. Used
 * only without a trust policy, whose per-CA `acr` replaces it.
 */
export const hardwareKeyPolicies: ReadonlySet<string> = new Set(['0.4.0.194112.1.2', '0.4.0.194112.1.3']);

// A key file (software key held by the citizen): RFC 8176 `swk` + proof of possession.
const keyFile: Assurance = { amr: ['pop', 'swk'], acr: 'urn:yagona:loa:substantial' };
// A hardware key unlocked by its PIN (RFC 8176 `hwk`, `pin`), but signed without naming our
// origin (an older client), so a relay could have carried it: no more than substantial.
const hardwareKeyPlain: Assurance = { amr: ['hwk', 'pin', 'pop'], acr: 'urn:yagona:loa:substantial' };
const hardwareKeyOriginBound: Assurance = { amr: ['hwk', 'pin', 'pop'], acr: 'urn:yagona:loa:high' };

/**
 * `hardwareKey`: whether the key may be taken to live in a secure device — the issuing CA's trust
 * policy entry reaches `high`, or, without a policy, the path is valid for a QSCD policy
 * (login/trustPolicy.ts decides).
 */
export function assuranceOf(evidence: Evidence, hardwareKey: boolean): Assurance {
  const chosen = !hardwareKey ? keyFile : evidence.originBound === true ? hardwareKeyOriginBound : hardwareKeyPlain;
  return { amr: [...chosen.amr], acr: chosen.acr };
}
