// Distinguished names written as RFC 4514 text (`CN=…,O=…,C=UZ`, most significant RDN
// last), turned into the DER Name of X.509 (RFC 5280 §4.1.2.4) to issue certificates.
// name.ts parses the same text for matching and normalises `#hex` string values; issuing
// must keep such values byte for byte and choose each value's string type, hence this
// small reader of its own. It never reads attacker input.
import { oid, sequence, setOf, tlv } from '../asn1/derWrite.ts';
import { OID } from '../asn1/oids.ts';

/** Names accepted in RFC 4514 text (case-insensitive), with the Uzbek national identifiers. */
export const attributeTypes: Readonly<Record<string, string>> = Object.freeze({
  CN: OID.commonName,
  SN: OID.surname, // RFC 4519 §2.32, as OpenSSL reads it
  SERIALNUMBER: OID.serialNumber,
  C: OID.countryName,
  L: OID.localityName,
  ST: OID.stateOrProvinceName,
  STREET: OID.streetAddress,
  O: OID.organizationName,
  OU: OID.organizationalUnitName,
  TITLE: OID.title,
  GN: OID.givenName,
  GIVENNAME: OID.givenName,
  INITIALS: OID.initials,
  GENERATIONQUALIFIER: OID.generationQualifier,
  DNQUALIFIER: OID.dnQualifier,
  PSEUDONYM: OID.pseudonym,
  ORGANIZATIONIDENTIFIER: OID.organizationIdentifier,
  UID: OID.userId,
  DC: OID.domainComponent,
  EMAILADDRESS: OID.emailAddress,
  E: OID.emailAddress,
  // Personal identification number of an individual (JShShIR), 14 digits.
  PINFL: OID.uzPinfl,
  // Taxpayer identification number (STIR), 9 digits.
  TIN: OID.uzTin,
});

// RFC 5280 Appendix A fixes these to PrintableString or IA5String; everything else is
// DirectoryString, written as UTF8String (RFC 5280 §4.1.2.6).
const printable = new Set<string>([OID.countryName, OID.serialNumber, OID.dnQualifier]);
const ia5 = new Set<string>([OID.emailAddress, OID.domainComponent]);

export interface DnAttribute {
  /** Dotted OID. */
  type: string;
  /** Text value, or the complete DER of the value when written as `#hex` (RFC 4514 §2.4). */
  value: string | Uint8Array;
}

/** Parses RFC 4514 text into RDNs in text order (most significant last); `+` joins a multi-valued RDN. */
export function parseDn(text: string): DnAttribute[][] {
  const rdns: DnAttribute[][] = [];
  let rdn: DnAttribute[] = [];
  let at = 0;
  if (text.trim() === '') return rdns;
  for (;;) {
    const eq = text.indexOf('=', at);
    if (eq < 0) throw new TypeError(`distinguished name "${text}": missing "=" after position ${at}`);
    const type = resolveType(text.slice(at, eq).trim(), text);
    const { value, end } = readValue(text, eq + 1);
    rdn.push({ type, value });
    if (end >= text.length) break;
    const separator = text[end];
    at = end + 1;
    if (separator === ',' || separator === ';') {
      rdns.push(rdn);
      rdn = [];
    }
  }
  rdns.push(rdn);
  return rdns;
}

/** DER Name for RFC 4514 text; the text lists the most significant RDN last, DER first. */
export function encodeDn(text: string): Uint8Array {
  const rdns = parseDn(text).reverse();
  return sequence(...rdns.map((rdn) => setOf(...rdn.map(encodeAttribute))));
}

function encodeAttribute({ type, value }: DnAttribute): Uint8Array {
  if (value instanceof Uint8Array) return sequence(oid(type), value);
  const bytes = new TextEncoder().encode(value);
  if (printable.has(type)) {
    if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) throw new TypeError(`"${value}" is not a PrintableString`);
    return sequence(oid(type), tlv(0x13, bytes));
  }
  if (ia5.has(type)) {
    if ([...value].some((ch) => ch.charCodeAt(0) > 0x7f)) throw new TypeError(`"${value}" is not an IA5String`);
    return sequence(oid(type), tlv(0x16, bytes));
  }
  return sequence(oid(type), tlv(0x0c, bytes));
}

function resolveType(name: string, text: string): string {
  if (/^\d+(\.\d+)+$/.test(name)) return name;
  const known = attributeTypes[name.toUpperCase()];
  if (known === undefined) throw new TypeError(`distinguished name "${text}": unknown attribute type "${name}"`);
  return known;
}

// Reads one value up to an unescaped `,` `;` or `+`; returns the index of that separator.
function readValue(text: string, start: number): { value: string | Uint8Array; end: number } {
  let at = start;
  while (text[at] === ' ') at++;
  if (text[at] === '#') {
    const match = /^#((?:[0-9A-Fa-f]{2})+)/.exec(text.slice(at));
    if (match === null || match[1] === undefined) throw new TypeError(`distinguished name "${text}": bad #hex value`);
    at += match[0].length;
    while (text[at] === ' ') at++;
    return { value: Uint8Array.from(Buffer.from(match[1], 'hex')), end: at };
  }
  const bytes: number[] = [];
  let trailingSpaces = 0;
  for (; at < text.length; at++) {
    const ch = String.fromCodePoint(text.codePointAt(at) as number);
    if (ch === ',' || ch === ';' || ch === '+') break;
    if (ch === '\\') {
      const pair = text.slice(at + 1, at + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
        bytes.push(parseInt(pair, 16));
        at += 2;
      } else if (at + 1 < text.length) {
        const escaped = String.fromCodePoint(text.codePointAt(at + 1) as number);
        bytes.push(...new TextEncoder().encode(escaped));
        at += escaped.length;
      } else {
        throw new TypeError(`distinguished name "${text}": dangling backslash`);
      }
      trailingSpaces = 0;
      continue;
    }
    bytes.push(...new TextEncoder().encode(ch));
    at += ch.length - 1;
    trailingSpaces = ch === ' ' ? trailingSpaces + 1 : 0;
  }
  // Unescaped trailing spaces are not part of the value (RFC 4514 §2.4 escapes significant ones).
  const value = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes.slice(0, bytes.length - trailingSpaces)));
  return { value, end: at };
}
