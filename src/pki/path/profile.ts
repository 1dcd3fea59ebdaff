// RFC 5280 §4 profile rules that §6.1 does not spell out but that a certificate must meet to
// be relied on: a CA that breaks them is misissuing, and x509-limbo's core suite expects the
// rejection. Each rule names its section; the first broken one is reported.
import { ServiceError } from '../../errors.ts';
import type { ParsedCertificate } from '../x509/model.ts';
import { certificateExtensionDecoders } from '../x509/extensions.ts';
import { OID } from '../asn1/oids.ts';

export type Position = 'anchor' | 'intermediate' | 'leaf';

export interface ProfileOptions {
  /**
   * §4.2.1.11 makes CAs mark policyConstraints critical, while the §6.1 algorithm processes it
   * either way. Default false: a non-critical one is refused. NIST PKITS (2011) marks it
   * non-critical in 27 CA certificates, so its run sets this to exercise the policy algorithm.
   */
  allowNonCriticalPolicyConstraints?: boolean;
  /**
   * SHA-256 fingerprints of CA certificates an operator pinned (TRUST_POLICY_FILE). Such a CA
   * may lack authorityKeyIdentifier, which §4.2.1.1 wants "to facilitate certification path
   * construction": a certificate pinned byte for byte leaves path building nothing to choose.
   * The national PKI needs it: the real E-IMZO CA certificate (2018) has none.
   */
  pinned?: ReadonlySet<string>;
}

export function profileViolation(cert: ParsedCertificate, position: Position, options: ProfileOptions = {}): string | undefined {
  const critical = (oid: string): boolean | undefined => cert.extensions.find((e) => e.oid === oid)?.critical;
  const isCa = cert.basicConstraints?.ca === true;
  // Some long-lived roots predate the rule (Starfield G2 has serial 0), so anchors are exempt.
  if (position !== 'anchor' && (cert.serialHex === '00' || /^[89A-F]/.test(cert.serialHex))) {
    return 'serialNumber is not a positive integer (RFC 5280 §4.1.2.2)';
  }
  if (critical(OID.authorityKeyIdentifier) === true) return 'authorityKeyIdentifier is marked critical (RFC 5280 §4.2.1.1)';
  if (critical(OID.subjectKeyIdentifier) === true) return 'subjectKeyIdentifier is marked critical (RFC 5280 §4.2.1.2)';
  if (critical(OID.authorityInfoAccess) === true) return 'authorityInfoAccess is marked critical (RFC 5280 §4.2.2.1)';
  if (critical(OID.policyConstraints) === false && options.allowNonCriticalPolicyConstraints !== true) return 'policyConstraints is not marked critical (RFC 5280 §4.2.1.11)';
  if (cert.subject.rdns.length === 0 && critical(OID.subjectAltName) !== true) {
    return 'the subject is empty and subjectAltName is absent or not critical (RFC 5280 §4.2.1.6)';
  }
  if (cert.keyUsage?.has('keyCertSign') === true && !isCa) return 'keyUsage asserts keyCertSign without basicConstraints cA (RFC 5280 §4.2.1.3)';
  if (cert.nameConstraints !== undefined && !isCa) return 'nameConstraints in a certificate that is not a CA (RFC 5280 §4.2.1.10)';
  const pinned = options.pinned?.has(cert.sha256) === true;
  if (position !== 'anchor' && cert.authorityKeyId?.keyId === undefined && !isSelfIssuedSameKey(cert) && !pinned) {
    return 'authorityKeyIdentifier with a keyIdentifier is missing (RFC 5280 §4.2.1.1)';
  }
  if (position === 'leaf') return undefined;
  if (cert.subject.rdns.length === 0) return 'a CA certificate has an empty subject (RFC 5280 §4.1.2.6)';
  if (cert.subjectKeyId === undefined) return 'a CA certificate lacks subjectKeyIdentifier (RFC 5280 §4.2.1.2)';
  if (position === 'anchor') return anchorViolation(cert, critical);
  return undefined;
}

// A trust anchor taken from a certificate must itself be a well-formed CA certificate.
function anchorViolation(cert: ParsedCertificate, critical: (oid: string) => boolean | undefined): string | undefined {
  if (cert.basicConstraints?.ca !== true) return 'the trust anchor is not a CA certificate (basicConstraints cA)';
  if (critical(OID.basicConstraints) !== true) return 'the trust anchor basicConstraints is not critical (RFC 5280 §4.2.1.9)';
  if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) return 'the trust anchor keyUsage does not allow keyCertSign';
  const unknown = cert.extensions.find((e) => e.critical && !certificateExtensionDecoders.has(e.oid));
  if (unknown !== undefined) return `the trust anchor has an unknown critical extension ${unknown.oid}`;
  return undefined;
}

// RFC 5280 §4.2.1.1 exempts self-signed certificates: same name and the key identifiers agree or are absent.
function isSelfIssuedSameKey(cert: ParsedCertificate): boolean {
  return cert.subject.canonical === cert.issuer.canonical && cert.authorityKeyId === undefined;
}

export function assertProfile(
  cert: ParsedCertificate, position: Position, options: ProfileOptions, describe: (c: ParsedCertificate) => string,
): void {
  const violation = profileViolation(cert, position, options);
  if (violation !== undefined) throw new ServiceError('certificate_untrusted', `${describe(cert)}: ${violation}`);
}
