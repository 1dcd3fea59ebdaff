// CRL-based revocation status (RFC 5280 §6.3) for one certificate of a path. Fail closed:
// only complete, fresh, correctly signed CRLs in scope for the certificate can prove "not
// revoked". Delta CRLs are applied to the complete CRL they update; indirect CRLs count
// only for certificates whose distribution point names their issuer as cRLIssuer.
import { ServiceError } from '../../errors.ts';
import type { DistributionPoint, GeneralName, Name, ParsedCertificate } from '../x509/model.ts';
import { entryKey, type ParsedCrl } from '../x509/crl.ts';
import { canonicalRdn } from '../x509/name.ts';
import { OID } from '../asn1/oids.ts';

// ReasonFlags bits 1–8 (bit 0 is "unused"): what a complete set of CRLs must cover.
const allReasons = 0b1_1111_1110;
const reasonNames = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation',
  'certificateHold', 'unused', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise',
];

export interface RevocationCheck {
  cert: ParsedCertificate;
  crls: readonly ParsedCrl[];
  at: Date;
  /** Undefined when `crl` is signed by a key entitled to sign CRLs for `cert` (§6.3.3(f)), else why not. */
  crlSignerProblem(crl: ParsedCrl): string | undefined;
  describe(cert: ParsedCertificate): string;
}

/** Throws certificate_revoked, or revocation_unknown when the given CRLs cannot decide. */
export function checkRevocation(check: RevocationCheck): void {
  const { cert } = check;
  const problems: string[] = [];
  let covered = 0;
  const issuers = crlIssuersOf(cert);
  const relevant = check.crls.filter((crl) => issuers.has(crl.issuer.canonical));
  for (const crl of relevant.filter((c) => !c.isDelta)) {
    const scope = scopeOf(crl, cert);
    if (typeof scope === 'string') {
      problems.push(scope);
      continue;
    }
    const unusable = unusableReason(crl, check.at) ?? check.crlSignerProblem(crl);
    if (unusable !== undefined) {
      problems.push(unusable);
      continue;
    }
    const delta = deltaFor(crl, relevant.filter((d) => d.issuer.canonical === crl.issuer.canonical), check);
    if (typeof delta === 'string') {
      problems.push(delta);
      continue;
    }
    assertNotListed(check, crl, delta);
    covered |= scope.reasons;
  }
  if ((covered & allReasons) === allReasons) return;
  if (relevant.length > 0 && relevant.every((c) => c.isDelta)) problems.push('only delta CRLs were given, no complete CRL');
  const why = problems.length > 0 ? `: ${[...new Set(problems)].join('; ')}` : ': no usable CRL from its issuer was given';
  throw new ServiceError('revocation_unknown', `revocation status of ${check.describe(cert)} is unknown${why}`, { retryAfterSeconds: 60 });
}

const certificateHold = 6;
const removeFromCrl = 8;

/** Who may issue CRLs covering `cert`: its issuer, and any cRLIssuer its distribution points name (§4.2.1.13). */
function crlIssuersOf(cert: ParsedCertificate): Set<string> {
  const issuers = new Set([cert.issuer.canonical]);
  for (const dp of cert.crlDistributionPoints ?? []) {
    for (const name of dp.crlIssuer ?? []) if (name.type === 'dn') issuers.add(name.value.canonical);
  }
  return issuers;
}

/**
 * §6.3.3(i)–(j): a usable delta CRL speaks first, then the complete CRL; in a complete CRL
 * every entry counts as revoked. removeFromCRL in the delta lifts only a certificateHold:
 * other revocations are permanent (§3.3), whatever a later list says.
 */
function assertNotListed(check: RevocationCheck, complete: ParsedCrl, delta: ParsedCrl | undefined): void {
  // In an indirect CRL an entry names its certificate's issuer (§5.3.3); it must be this certificate's.
  const key = entryKey(check.cert.issuer, check.cert.serialHex);
  const deltaEntry = delta?.entries.get(key);
  const completeEntry = complete.entries.get(key);
  if (deltaEntry?.reason === removeFromCrl && (completeEntry === undefined || completeEntry.reason === certificateHold)) return;
  const [crl, entry] = deltaEntry !== undefined && deltaEntry.reason !== removeFromCrl ? [delta!, deltaEntry] : [complete, completeEntry];
  if (entry === undefined) return;
  const reason = entry.reason === undefined ? '' : ` (${reasonNames[entry.reason] ?? `reason ${entry.reason}`})`;
  throw new ServiceError('certificate_revoked',
    `${check.describe(check.cert)} was revoked on ${entry.revocationDate.toISOString()}${reason} according to the ${crl.isDelta ? 'delta ' : ''}CRL of "${crl.issuer.text}"`);
}

/**
 * The delta CRL to apply with `complete` (RFC 5280 §5.2.4, §6.3.3(c)): same issuer, same
 * scope (issuingDistributionPoint and authorityKeyIdentifier identical), newer than the
 * complete CRL, based on one no newer than it. When deltas of that scope were given but
 * none is usable, the complete CRL alone is not trusted to be current: a reason string.
 */
function deltaFor(complete: ParsedCrl, fromIssuer: ParsedCrl[], check: RevocationCheck): ParsedCrl | undefined | string {
  const sameScope = fromIssuer.filter((d) => d.isDelta && sameExtension(d, complete, OID.issuingDistributionPoint) && sameExtension(d, complete, OID.authorityKeyIdentifier));
  if (sameScope.length === 0) return undefined;
  const applicable = sameScope
    .filter((d) => d.baseCrlNumber! <= complete.crlNumber! && d.crlNumber !== undefined && d.crlNumber > complete.crlNumber!)
    .filter((d) => unusableReason(d, check.at) === undefined && check.crlSignerProblem(d) === undefined)
    .sort((a, b) => (a.crlNumber! > b.crlNumber! ? -1 : 1));
  return applicable[0] ?? `no usable delta CRL applies to the complete CRL number ${complete.crlNumber}`;
}

function sameExtension(a: ParsedCrl, b: ParsedCrl, oid: string): boolean {
  const x = a.extensions.find((e) => e.oid === oid);
  const y = b.extensions.find((e) => e.oid === oid);
  if (x === undefined || y === undefined) return x === y;
  return x.critical === y.critical && Buffer.compare(x.value, y.value) === 0;
}

function unusableReason(crl: ParsedCrl, at: Date): string | undefined {
  if (crl.unknownCriticalExtension !== undefined) return `CRL extension ${crl.unknownCriticalExtension} is critical and unknown`;
  if (crl.unusableEntry !== undefined) return `CRL unusable: ${crl.unusableEntry}`;
  // RFC 5280 §5.2.3: conforming CRL issuers MUST include cRLNumber; its absence marks a non-conforming CRL.
  if (crl.crlNumber === undefined) return 'CRL has no cRLNumber';
  if (crl.extensions.some((e) => e.oid === OID.crlNumber && e.critical)) return 'CRL marks cRLNumber critical (RFC 5280 §5.2.3: non-critical)';
  if (crl.thisUpdate.getTime() > at.getTime()) return 'CRL is not yet valid (thisUpdate in the future)';
  // §6.3.3(a)(2) read strictly: a CRL without nextUpdate has no freshness bound.
  if (crl.nextUpdate === undefined) return 'CRL has no nextUpdate';
  if (crl.nextUpdate.getTime() < at.getTime()) return `CRL is stale (nextUpdate ${crl.nextUpdate.toISOString()})`;
  return undefined;
}

/**
 * §6.3.3(b): whether the CRL covers the certificate, and for which reasons; a reason string
 * when it does not apply.
 */
function scopeOf(crl: ParsedCrl, cert: ParsedCertificate): { reasons: number } | string {
  const idp = crl.issuingDistributionPoint;
  const isCa = cert.basicConstraints?.ca === true;
  if (idp?.onlyContainsAttributeCerts === true) return 'CRL covers attribute certificates only';
  if (idp?.onlyContainsUserCerts === true && isCa) return 'CRL covers end-entity certificates only';
  if (idp?.onlyContainsCACerts === true && !isCa) return 'CRL covers CA certificates only';
  const idpReasons = idp?.onlySomeReasons ?? allReasons;
  // Without cRLDistributionPoints there is one implicit point: the issuer's CRL, all reasons (§6.3.3).
  for (const dp of cert.crlDistributionPoints ?? [{}]) {
    if (!crlIssuerMatches(crl, dp, cert)) continue;
    if (idp?.distributionPoint !== undefined && !distributionPointMatches(idp.distributionPoint, dp, crl.issuer, cert.issuer)) continue;
    return { reasons: idpReasons & (dp.reasons ?? allReasons) };
  }
  return 'CRL distribution point does not match the certificate';
}

// §6.3.3(b)(1): a DP with cRLIssuer is served by that issuer's indirect CRL; otherwise the
// CRL must come from the certificate's own issuer.
function crlIssuerMatches(crl: ParsedCrl, dp: DistributionPoint, cert: ParsedCertificate): boolean {
  if (dp.crlIssuer === undefined) return crl.issuer.canonical === cert.issuer.canonical;
  return crl.issuingDistributionPoint?.indirectCrl === true
    && dp.crlIssuer.some((n) => n.type === 'dn' && n.value.canonical === crl.issuer.canonical);
}

// §6.3.3(b)(2)(i): the IDP names one of the DP's names, or (without a DP name) its cRLIssuer.
function distributionPointMatches(
  idpName: Pick<DistributionPoint, 'fullName' | 'nameRelativeToCrlIssuer'>, dp: DistributionPoint, crlIssuer: Name, certIssuer: Name,
): boolean {
  const idpNames = namesOfPoint(idpName, crlIssuer);
  const dpCrlIssuer = dp.crlIssuer?.find((n) => n.type === 'dn');
  const dpNames = dp.fullName !== undefined || dp.nameRelativeToCrlIssuer !== undefined
    ? namesOfPoint(dp, dpCrlIssuer?.type === 'dn' ? dpCrlIssuer.value : certIssuer)
    : (dp.crlIssuer ?? [{ type: 'dn' as const, value: certIssuer }]);
  return idpNames.some((a) => dpNames.some((b) => generalNamesEqual(a, b)));
}

// nameRelativeToCRLIssuer is appended to the CRL issuer's DN (RFC 5280 §4.2.1.13).
function namesOfPoint(point: Pick<DistributionPoint, 'fullName' | 'nameRelativeToCrlIssuer'>, issuer: Name): Array<GeneralName | string> {
  if (point.fullName !== undefined) return point.fullName;
  if (point.nameRelativeToCrlIssuer !== undefined) {
    const base = issuer.canonical;
    const rdn = canonicalRdn(point.nameRelativeToCrlIssuer);
    return [base === '' ? rdn : `${rdn},${base}`];
  }
  return [];
}

// Canonical DN strings stand for directory names built from nameRelativeToCRLIssuer.
function generalNamesEqual(a: GeneralName | string, b: GeneralName | string): boolean {
  const ka = nameKey(a);
  const kb = nameKey(b);
  return ka !== undefined && ka === kb;
}

function nameKey(name: GeneralName | string): string | undefined {
  if (typeof name === 'string') return `dn:${name}`;
  switch (name.type) {
    case 'dn': return `dn:${name.value.canonical}`;
    case 'uri': return `uri:${name.value}`;
    case 'dns': return `dns:${name.value.toLowerCase()}`;
    case 'email': return `email:${name.value.toLowerCase()}`;
    case 'ip': return `ip:${[...name.value].join('.')}`;
    default: return undefined;
  }
}
