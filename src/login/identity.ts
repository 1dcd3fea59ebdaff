// Who a certificate names. Called only with the certificate whose key verified the signature
// and whose path validated (docs/security-cases.md §0 item 4), so everything here is read from plain data.
//
// Policy (docs/security-cases.md #51): an attribute is taken only when its OID occurs exactly once in
// the whole subject (multi-valued RDNs included) and its value passes a strict format check.
// Anything ambiguous (two CNs, `CN=a+CN=b`, two PINFLs, TIN and UID disagreeing) or badly
// formed (control or formatting characters, wrong digit count) is omitted, never guessed:
// the identity then asserts less, never something the CA did not unambiguously state.
// Relying parties that need a national identifier see it missing rather than wrong.
import type { Identity, NameAttribute, ParsedCertificate } from '../pki/x509/model.ts';
import { OID } from '../pki/asn1/oids.ts';


// Upper bounds from RFC 5280 Appendix A (ub-name 32768 aside, the DN ones are ≤ 128);
// 256 leaves room for UTF-8 names while keeping log lines and tokens small.
const MAX_TEXT_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254; // RFC 5321 §4.5.3.1.3 path limit minus the brackets

/** Control, format (bidi overrides, zero-width), surrogate, private-use and U+FFFD. */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\uFFFD]/u;

export function readIdentity(cert: ParsedCertificate): Identity {
  const attributes = cert.subject.rdns.flat();
  const identity: Identity = { certificate: certificateFacts(cert) };
  assign(identity, 'commonName', text(single(attributes, OID.commonName)));
  assign(identity, 'surname', text(single(attributes, OID.surname)));
  assign(identity, 'givenName', text(single(attributes, OID.givenName)));
  assign(identity, 'pinfl', digits(single(attributes, OID.uzPinfl), 14));
  assign(identity, 'tin', taxpayerNumber(attributes));
  assign(identity, 'organization', text(single(attributes, OID.organizationName)));
  assign(identity, 'organizationalUnit', text(single(attributes, OID.organizationalUnitName)));
  assign(identity, 'title', text(single(attributes, OID.title)));
  assign(identity, 'locality', text(single(attributes, OID.localityName)));
  assign(identity, 'country', countryCode(single(attributes, OID.countryName)));
  assign(identity, 'email', emailAddress(cert, attributes));
  return identity;
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

type OptionalField = Exclude<keyof Identity, 'certificate'>;

function assign(identity: Identity, field: OptionalField, value: string | undefined): void {
  if (value !== undefined) identity[field] = value;
}

/** The value of the one attribute with this OID; undefined when absent or repeated. */
function single(attributes: NameAttribute[], oid: string): string | undefined {
  const matches = attributes.filter((attribute) => attribute.type === oid);
  return matches.length === 1 ? matches[0]?.value : undefined;
}

function text(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_TEXT_LENGTH) return undefined;
  if (UNSAFE_CHARACTERS.test(value) || value.trim() !== value) return undefined;
  return value;
}

function digits(value: string | undefined, count: number): string | undefined {
  return value !== undefined && value.length === count && /^[0-9]+$/.test(value) ? value : undefined;
}

/** ISO 3166 alpha-2 in upper case, as X.520 countryName requires (RFC 5280 Appendix A). */
function countryCode(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Z]{2}$/.test(value) ? value : undefined;
}

/**
 * TIN from the national OID, else from UID (some CAs carry it there; a UID that is not nine
 * digits is some other identifier and is ignored). When both hold a TIN they must agree.
 */
function taxpayerNumber(attributes: NameAttribute[]): string | undefined {
  const fromUid = digits(single(attributes, OID.userId), 9);
  if (!attributes.some((a) => a.type === OID.uzTin)) return fromUid;
  const fromNational = digits(single(attributes, OID.uzTin), 9);
  return fromUid === undefined || fromUid === fromNational ? fromNational : undefined;
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
