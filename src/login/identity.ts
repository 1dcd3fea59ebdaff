// Who a certificate names. Called only with the certificate whose key verified the signature
// and whose path validated (docs/security-cases.md §0 item 4), so everything here is read from
// plain data. The attributes → claims mapping, person and organisation apart, is
// pki/x509/nationalIdentity.ts (shared with the sign-in page); here it gains the e-mail address
// and the certificate's own facts.
//
// Policy (docs/security-cases.md #51): anything ambiguous (two CNs, `CN=a+CN=b`, two PINFLs) or
// badly formed (control or formatting characters, wrong digit count) is omitted, never guessed:
// the identity then asserts less, never something the CA did not unambiguously state.
import type { Identity, NameAttribute, ParsedCertificate } from '../pki/x509/model.ts';
import { assertedIdentifiers, type IdentifierName, nationalIdentity } from '../pki/x509/nationalIdentity.ts';
import { OID } from '../pki/asn1/oids.ts';

const MAX_EMAIL_LENGTH = 254; // RFC 5321 §4.5.3.1.3 path limit minus the brackets

export function readIdentity(cert: ParsedCertificate): Identity {
  const attributes = cert.subject.rdns.flat();
  const identity: Identity = { ...nationalIdentity(attributes), certificate: certificateFacts(cert) };
  const email = emailAddress(cert, attributes);
  return email === undefined ? identity : { ...identity, email };
}

/** The national identifiers the certificate's subject carries at all, which its CA must be allowed to assert (login/trustPolicy.ts). */
export function identifiersOf(cert: ParsedCertificate): IdentifierName[] {
  return assertedIdentifiers(cert.subject.rdns.flat());
}

function certificateFacts(cert: ParsedCertificate): Identity['certificate'] {
  return {
    serialNumber: cert.serialHex,
    issuer: cert.issuer.text,
    subject: cert.subject.text,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sha256: cert.sha256,
  };
}

/** The value of the one attribute with this OID; undefined when absent or repeated. */
function single(attributes: NameAttribute[], oid: string): string | undefined {
  const matches = attributes.filter((attribute) => attribute.type === oid);
  return matches.length === 1 ? matches[0]?.value : undefined;
}

/** Subject emailAddress, else the single rfc822Name of subjectAltName (RFC 5280 §4.2.1.6). */
function emailAddress(cert: ParsedCertificate, attributes: NameAttribute[]): string | undefined {
  const inSubject = attributes.some((a) => a.type === OID.emailAddress);
  if (inSubject) return email(single(attributes, OID.emailAddress));
  const inAltName = (cert.subjectAltName ?? []).filter((name) => name.type === 'email');
  return inAltName.length === 1 && inAltName[0]?.type === 'email' ? email(inAltName[0].value) : undefined;
}

function email(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_EMAIL_LENGTH) return undefined;
  return /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/
    .test(value)
    ? value
    : undefined;
}
