// Distinguished names written as RFC 4514 text (`CN=…,O=…,C=UZ`, most significant RDN
// last), turned into the DER Name of X.509 (RFC 5280 §4.1.2.4). Used to issue
// certificates; it never reads attacker input.
import { oid, sequence, setOf, tlv } from './derWrite.ts';

/** Short names accepted in RFC 4514 text, with the Uzbek national identifiers. */
export const attributeTypes: Readonly<Record<string, string>> = Object.freeze({
  CN: '2.5.4.3',
  SN: '2.5.4.4', // surname (RFC 4519 §2.32), as OpenSSL reads it
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  TITLE: '2.5.4.12',
  BUSINESSCATEGORY: '2.5.4.15',
  POSTALCODE: '2.5.4.17',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  INITIALS: '2.5.4.43',
  GENERATIONQUALIFIER: '2.5.4.44',
  DNQUALIFIER: '2.5.4.46',
  PSEUDONYM: '2.5.4.65',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  UID: '0.9.2342.19200300.100.1.1',
  DC: '0.9.2342.19200300.100.1.25',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
  E: '1.2.840.113549.1.9.1',
  // Personal identification number of an individual (JShShIR), 14 digits.
  PINFL: '1.2.860.3.16.1.2',
  // Taxpayer identification number (STIR), 9 digits.
  TIN: '1.2.860.3.16.1.1',
});

// RFC 5280 Appendix A fixes these to PrintableString or IA5String; everything else is
// DirectoryString, written as UTF8String (RFC 5280 §4.1.2.6).
const printable = new Set(['2.5.4.6', '2.5.4.5', '2.5.4.46']);
const ia5 = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']);

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
