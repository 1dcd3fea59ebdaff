// The sign-in flow as one recipe (web-eid AuthTokenValidatorImpl order, docs/security-cases.md §0.1):
// burn the challenge first, then prove the signature, the path, the issuing CA's trust policy
// and the revocation status, and only then mint a session. Every failure leaves one audit event and no session.
import type { Clock } from '../clock.ts';
import { ServiceError, isServiceError } from '../errors.ts';
import type { Identity, ParsedCertificate } from '../pki/x509/model.ts';
import type { AuditStore, RateLimiter } from '../stores/types.ts';
import { addressKey } from './addressKey.ts';
import { assuranceOf } from './assurance.ts';
import type { TrustPolicyChecker } from './trustPolicy.ts';
import type { Challenges } from './challenges.ts';
import { readIdentity } from './identity.ts';
import { parseSignInRequest, readChallengeId, type SignInRequest, transportError } from './request.ts';
import type { CreatedSession, Sessions } from '../sessions/sessions.ts';

/** What a verified signature proves: who signed, and the certificates they presented. */
export interface Evidence {
  signer: ParsedCertificate;
  certificates: ParsedCertificate[];
  /** The signed content named this service's origin (login/originBinding.ts): relays are excluded. */
  originBound?: boolean;
}

/** A signer's path validated to a trust anchor. */
export interface ValidatedChain {
  /** Leaf first, anchor excluded. */
  path: ParsedCertificate[];
  /** The anchor the path was validated to: the issuer of the path's last certificate. */
  anchor: ParsedCertificate;
  /** The certificate policies the path is valid for (RFC 5280 §6.1.5(g); [] when the policy tree is null). */
  policies: string[];
}

export interface CertificateVerifier {
  /** Verifies the signature over the challenge bytes; throws a ServiceError otherwise. */
  verifySignature(request: SignInRequest, challenge: Uint8Array): Evidence;
  /** Validates the signer's path to a trust anchor; throws a ServiceError saying why not. */
  validatePath(evidence: Evidence, at: Date): ValidatedChain;
}

export interface RevocationChecker {
  /** Every certificate of `chain.path` (the anchor is trusted as configured, never checked). */
  assertNotRevoked(chain: Pick<ValidatedChain, 'path' | 'anchor'>, at: Date): Promise<void>;
}

export interface SignInDeps {
  challenges: Challenges;
  verifier: CertificateVerifier;
  /** The per-CA trust policy (TRUST_POLICY_FILE), or the rules kept without one. */
  trustPolicy: TrustPolicyChecker;
  revocation: RevocationChecker;
  sessions: Sessions;
  audit: AuditStore;
  /** Sign-ins per client address (RATE_LIMIT_PER_MINUTE) and per certificate whose signature verified. */
  limits: { perAddress: RateLimiter; perCertificate: RateLimiter };
  clock: Clock;
  log: { error(object: object, message: string): void };
}

export interface SignInContext {
  requestId: string;
  /** Set by the OIDC interaction; absent for the direct API. The session is then the client's (`aud`). */
  clientId?: string;
  /** The OIDC client's view of the subject (pairwise by default); absent: `subjectOf`. */
  subjectFor?: (directSubject: string) => string;
  /** The client's address (TRUST_PROXY decides whose X-Forwarded-For counts), for the audit row. */
  clientAddress?: string;
  /** The OIDC single sign-on session this sign-in starts: the sid the agency's token shows. */
  opSid?: string;
  /**
   * What the body was posted to (the OIDC interaction and its client), checked once the challenge
   * is consumed, so that a sign-in posted to an interaction that is gone burns its challenge and
   * is audited like any other rejection; what it returns applies to the rest of the sign-in.
   */
  admit?: () => Promise<Pick<SignInContext, 'clientId' | 'subjectFor'>>;
}

export interface SignInResult {
  session: CreatedSession;
  identity: Identity;
}

export async function signIn(deps: SignInDeps, body: unknown, context: SignInContext): Promise<SignInResult> {
  const at = deps.clock.now();
  let signer: ParsedCertificate | undefined;
  let scope = context;
  try {
    // The challenge is burnt and the attempt counted against its address at once (one round
    // trip to the store, not two); a challenge that is gone is the answer before the limit.
    const [taken, withinLimit] = await Promise.allSettled([
      deps.challenges.consume(readChallengeId(body)),
      assertWithinLimit(deps.limits.perAddress, addressKey(context.clientAddress), 'from this address'),
    ]);
    if (taken.status === 'rejected') {
      const error: unknown = taken.reason;
      // A body the transport could not read (too large, not JSON) is that, whatever its id named.
      throw (error instanceof ServiceError && error.code === 'challenge_invalid' && transportError(body)) || error;
    }
    if (withinLimit.status === 'rejected') throw withinLimit.reason;
    const challenge = taken.value;
    if (context.admit !== undefined) scope = { ...context, ...(await context.admit()) };
    const request = parseSignInRequest(body);
    const evidence = deps.verifier.verifySignature(request, challenge);
    signer = evidence.signer;
    // Counted only once the signature has verified, so nobody can spend a citizen's budget by
    // sending their (public) certificate with a bad signature; failed and successful sign-ins count.
    await assertWithinLimit(deps.limits.perCertificate, signer.sha256, 'with this certificate');
    const chain = deps.verifier.validatePath(evidence, at);
    const verdict = deps.trustPolicy.check(chain);
    await deps.revocation.assertNotRevoked(chain, at);
    const { path } = chain;
    const identity = readIdentity(signer);
    const sub = scope.subjectFor?.(subjectOf(identity)) ?? subjectOf(identity);
    // The path goes into the session so a later revocation of any certificate on it ends it.
    const certificatePath = path.map((cert) => ({ issuer: cert.issuer.canonical, serialHex: cert.serialHex }));
    const session = await deps.sessions.create({ sub, identity, ...assuranceOf(evidence, verdict.hardwareKey), certificatePath, ...(scope.clientId ? { audience: scope.clientId } : {}), ...(context.opSid ? { opSid: context.opSid } : {}) });
    await deps.audit.append({
      at, type: 'sign_in', outcome: 'success', requestId: context.requestId,
      certificateSha256: signer.sha256, subject: session.record.sub,
      // acr tells key-file from hardware-token sign-ins in the audit trail (login/assurance.ts).
      // trustPolicy names the issuing CA's entry (login/trustPolicy.ts) that let this sign-in in.
      details: {
        sid: session.record.sid, format: request.format, acr: session.record.acr,
        ...(verdict.issuer === undefined ? {} : { trustPolicy: verdict.issuer.name }), ...requestDetails(scope),
      },
    }).catch(async (error: unknown) => {
      // A sign-in nobody can account for must not stand: end the session, then fail.
      await deps.sessions.end(session.record.sid);
      throw error;
    });
    return { session, identity };
  } catch (error) {
    await deps.audit.append({
      at, type: 'sign_in', outcome: 'failure', requestId: context.requestId,
      code: isServiceError(error) ? error.code : 'internal_error',
      ...(signer ? { certificateSha256: signer.sha256 } : {}),
      ...(scope.clientId || scope.clientAddress ? { details: requestDetails(scope) } : {}),
    }).catch((auditError: unknown) => deps.log.error({ err: auditError }, 'audit write failed for a rejected sign-in'));
    throw error;
  }
}

/** A limit refused inside the recipe is a rejected sign-in like any other: challenge gone, one audit row. */
async function assertWithinLimit(limit: RateLimiter, key: string, what: string): Promise<void> {
  const verdict = await limit.hit(key);
  if (!verdict.allowed) throw new ServiceError('rate_limited', `too many sign-ins ${what}; try again later`, { retryAfterSeconds: verdict.retryAfterSeconds });
}

const requestDetails = (context: SignInContext) => ({
  ...(context.clientId ? { clientId: context.clientId } : {}),
  ...(context.clientAddress ? { clientAddress: context.clientAddress } : {}),
});

/**
 * A stable subject for the direct API: the national identifier when the certificate carries
 * one (it survives certificate renewal), else the certificate itself. OIDC clients get
 * pairwise identifiers derived from it instead.
 */
export function subjectOf(identity: Identity): string {
  if (identity.pinfl !== undefined) return `pinfl:${identity.pinfl}`;
  if (identity.tin !== undefined) return `tin:${identity.tin}`;
  return `cert:${identity.certificate.sha256}`;
}
