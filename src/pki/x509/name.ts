// Distinguished names: DER → model.Name, RFC 4514 text both ways, and one canonical form
// used for name chaining (RFC 5280 §7.1), name constraints and revocation matching, so an
// operator's `--issuer "cn=Citizen CA, o=…"` and a certificate's issuer compare the same way.
import { ServiceError } from '../../errors.ts';
import type { Name, NameAttribute } from './model.ts';
import { type DerNode, expectTag, expectSequence, malformed, parseDer, readOid, readString, TAG, toHex } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';

// RFC 4514 §3 names first (they win when printing), then names operators commonly type.
const shortNames: ReadonlyArray<readonly [string, string]> = [
  ['CN', OID.commonName],
  ['L', OID.localityName],
  ['ST', OID.stateOrProvinceName],
  ['O', OID.organizationName],
  ['OU', OID.organizationalUnitName],
  ['C', OID.countryName],
  ['STREET', OID.streetAddress],
  ['DC', OID.domainComponent],
  ['UID', OID.userId],
  ['serialNumber', OID.serialNumber],
  ['SN', OID.surname],
  ['GN', OID.givenName],
  ['title', OID.title],
  ['initials', OID.initials],
  ['generationQualifier', OID.generationQualifier],
  ['dnQualifier', OID.dnQualifier],
  ['pseudonym', OID.pseudonym],
  ['organizationIdentifier', OID.organizationIdentifier],
  ['emailAddress', OID.emailAddress],
  ['TIN', OID.uzTin],
  ['PINFL', OID.uzPinfl],
];
const aliases: ReadonlyArray<readonly [string, string]> = [
  ['surname', OID.surname],
  ['givenName', OID.givenName],
  ['E', OID.emailAddress],
  ['S', OID.stateOrProvinceName],
  ['T', OID.title],
  ['commonName', OID.commonName],
  ['countryName', OID.countryName],
  ['localityName', OID.localityName],
  ['organizationName', OID.organizationName],
  ['organizationalUnitName', OID.organizationalUnitName],
  ['stateOrProvinceName', OID.stateOrProvinceName],
  ['domainComponent', OID.domainComponent],
  ['userId', OID.userId],
];
const nameOfOid = new Map(shortNames.map(([n, o]) => [o, n]));
const oidOfName = new Map([...shortNames, ...aliases].map(([n, o]) => [n.toLowerCase(), o]));

const stringTags = new Set<number>([
  TAG.UTF8String, TAG.PrintableString, TAG.TeletexString, TAG.IA5String, TAG.VisibleString,
  TAG.UniversalString, TAG.BMPString,
]);

/** Name ::= SEQUENCE OF RelativeDistinguishedName (RFC 5280 §4.1.2.4). */
export function parseName(node: DerNode): Name {
  const rdns = expectSequence(node, 0, 256, 'Name').map(parseRdn);
  return { der: node.bytes, rdns, text: formatRfc4514(rdns), canonical: canonicalOf(rdns) };
}

export function parseNameDer(der: Uint8Array): Name {
  return parseName(parseDer(der));
}

function parseRdn(node: DerNode): NameAttribute[] {
  expectTag(node, TAG.SET, 'RelativeDistinguishedName');
  if (node.children.length === 0) throw malformed('empty RelativeDistinguishedName');
  return node.children.map((atv) => {
    const [type, value] = expectSequence(atv, 2, 2, 'AttributeTypeAndValue') as [DerNode, DerNode];
    const oid = readOid(type);
    // Non-string values are kept as RFC 4514 §2.4 hex of their DER, so they still compare exactly.
    const text = value.cls === 0 && stringTags.has(value.tagNumber) ? readString(value) : `#${toHex(value.bytes)}`;
    return { type: oid, value: text, tag: value.tag };
  });
}

/** RFC 4514 text: RDNs in reverse encoded order, `+` inside a multi-valued RDN. */
export function formatRfc4514(rdns: NameAttribute[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${nameOfOid.get(a.type) ?? a.type}=${formatValue(a)}`).join('+'))
    .join(',');
}

function formatValue(attribute: NameAttribute): string {
  if (!stringTags.has(attribute.tag)) return attribute.value;
  return escapeValue(attribute.value);
}

// RFC 4514 §2.4, plus control characters as \hh so a name can never forge a log line.
function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if ('"+,;<>\\='.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/**
 * The canonical text of a DN: attribute types by lower-case short name (or OID), string
 * values NFKC-normalised, lower-cased, trimmed and with inner whitespace collapsed (the
 * RFC 4518 caseIgnoreMatch preparation, as RFC 5280 §7.1 asks), multi-valued RDNs sorted.
 * Accepts RFC 4514 text from an operator or a parsed certificate Name.
 */
export function canonicalDn(input: string | Name): string {
  return typeof input === 'string' ? canonicalOf(parseRfc4514(input)) : input.canonical;
}

function canonicalOf(rdns: NameAttribute[][]): string {
  return [...rdns].reverse().map(canonicalRdn).join(',');
}

/** One RDN in canonical form; name constraints compare DNs RDN by RDN with it. */
export function canonicalRdn(rdn: NameAttribute[]): string {
  return rdn.map(canonicalAttribute).sort().join('+');
}

function canonicalAttribute(attribute: NameAttribute): string {
  const type = (nameOfOid.get(attribute.type) ?? attribute.type).toLowerCase();
  const value = stringTags.has(attribute.tag) ? escapeValue(prepareString(attribute.value)) : attribute.value.toLowerCase();
  return `${type}=${value}`;
}

function prepareString(value: string): string {
  return value.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

/** Equality of two names under RFC 5280 §7.1 (canonical forms). */
export function namesEqual(a: Name, b: Name): boolean {
  return a.canonical === b.canonical;
}

/**
 * Parses RFC 4514 text into RDNs in encoded order (the reverse of the text). Throws
 * invalid_request: the text comes from an operator or a request, not from a certificate.
 */
export function parseRfc4514(text: string): NameAttribute[][] {
  const input = text.trim();
  if (input === '') return [];
  const rdns: NameAttribute[][] = [];
  let rdn: NameAttribute[] = [];
  let at = 0;
  for (;;) {
    const parsed = parseAttribute(input, at);
    rdn.push(parsed.attribute);
    at = parsed.next;
    if (at >= input.length) break;
    const sep = input[at];
    at++;
    if (sep === ',' || sep === ';') {
      rdns.push(rdn);
      rdn = [];
    } else if (sep !== '+') {
      throw invalidDn('unexpected character after a value');
    }
  }
  rdns.push(rdn);
  return rdns.reverse();
}

function invalidDn(reason: string): ServiceError {
  return new ServiceError('invalid_request', `distinguished name does not parse (RFC 4514): ${reason}`);
}

function parseAttribute(input: string, start: number): { attribute: NameAttribute; next: number } {
  const eq = input.indexOf('=', start);
  if (eq < 0) throw invalidDn('attribute without "="');
  const type = parseType(input.slice(start, eq).trim());
  let at = eq + 1;
  while (input[at] === ' ') at++;
  if (input[at] === '#') return parseHexValue(input, at, type);
  return parseStringValue(input, at, type);
}

function parseType(raw: string): string {
  const known = oidOfName.get(raw.toLowerCase());
  if (known !== undefined) return known;
  const dotted = raw.replace(/^oid\./i, '');
  if (/^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/.test(dotted)) return dotted;
  throw invalidDn(`unknown attribute type "${raw}"`);
}

function parseHexValue(input: string, start: number, type: string): { attribute: NameAttribute; next: number } {
  let end = start + 1;
  while (end < input.length && /[0-9a-fA-F]/.test(input[end]!)) end++;
  const hex = input.slice(start + 1, end);
  if (hex.length === 0 || hex.length % 2 !== 0) throw invalidDn('bad hex value');
  let node: DerNode;
  try {
    node = parseDer(Uint8Array.from(Buffer.from(hex, 'hex')));
  } catch {
    throw invalidDn('hex value is not one DER element');
  }
  let next = end;
  while (input[next] === ' ') next++;
  // A string-typed hex value compares as its string, as the certificate's would.
  if (node.cls === 0 && stringTags.has(node.tagNumber)) {
    try {
      return { attribute: { type, value: readString(node), tag: node.tag }, next };
    } catch {
      throw invalidDn('hex string value has a bad character set');
    }
  }
  return { attribute: { type, value: `#${hex.toLowerCase()}`, tag: node.tag }, next };
}

const specials = ' "#+,;<=>\\';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseStringValue(input: string, start: number, type: string): { attribute: NameAttribute; next: number } {
  const bytes: number[] = [];
  let at = start;
  // Length of `bytes` after the last escaped or non-space character: unescaped trailing spaces are dropped.
  let keep = 0;
  while (at < input.length) {
    const ch = input[at]!;
    if (ch === ',' || ch === '+' || ch === ';') break;
    // RFC 4514 §3: these must be escaped inside a value ('=' and a non-leading '#' need not be).
    if (ch === '"' || ch === '<' || ch === '>' || ch === '\0') throw invalidDn(`unescaped "${ch}"`);
    if (ch === '\\') {
      const next = input[at + 1];
      if (next !== undefined && specials.includes(next)) {
        bytes.push(next.charCodeAt(0));
        at += 2;
      } else if (/^[0-9a-fA-F]{2}$/.test(input.slice(at + 1, at + 3))) {
        bytes.push(parseInt(input.slice(at + 1, at + 3), 16));
        at += 3;
      } else {
        throw invalidDn('bad escape');
      }
      keep = bytes.length;
      continue;
    }
    const char = String.fromCodePoint(input.codePointAt(at)!);
    bytes.push(...Buffer.from(char, 'utf8'));
    if (char !== ' ') keep = bytes.length;
    at += char.length;
  }
  let value: string;
  try {
    value = utf8.decode(Uint8Array.from(bytes.slice(0, keep)));
  } catch {
    throw invalidDn('escaped bytes are not UTF-8');
  }
  if (value === '') throw invalidDn('empty value');
  return { attribute: { type, value, tag: TAG.UTF8String }, next: at };
}
