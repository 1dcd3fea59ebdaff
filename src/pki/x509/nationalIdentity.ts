// Who a national certificate names, as E-IMZO and the other Uzbek CAs write it, kept apart as a
// person and, for an employee, their organisation: the one mapping from subject attributes to
// identity claims, shared by the service (login/identity.ts) and the sign-in page's summary of a
// key file (browser/keyFile.ts). Pure TS: the page bundles it.
//
// | claim | attribute |
// |---|---|
// | pinfl | 1.2.860.3.16.1.2 (14 digits) |
// | tin (the person's) | UID 0.9.2342.19200300.100.1.1 (9 digits) |
// | givenName | givenName 2.5.4.42, else name 2.5.4.41 (where E-IMZO puts it) |
// | organization.name / .tin / .title | O 2.5.4.10 / 1.2.860.3.16.1.1 (9 digits) / title 2.5.4.12 |
//
// Policy (docs/security-cases.md #51): an attribute is taken only when its OID occurs exactly
// once in the whole subject (multi-valued RDNs included) and its value passes a strict check;
// anything ambiguous or badly formed is omitted, never guessed. A placeholder a CA writes for
// "none" (O=«Не указано», T=«(noaniq)») is absent too, so a person's certificate yields no
// organisation.
import { OID } from '../asn1/oids.ts';

export interface SubjectAttribute {
  type: string;
  value: string;
}

export interface Organization {
  name?: string;
  /** The organisation's taxpayer identification number (1.2.860.3.16.1.1). */
  tin?: string;
  /** The person's position in it (title). */
  title?: string;
}

export interface NationalIdentity {
  commonName?: string;
  surname?: string;
  givenName?: string;
  /** Personal identification number of an individual (JShShIR), 1.2.860.3.16.1.2. */
  pinfl?: string;
  /** The person's own taxpayer identification number (STIR), from UID. */
  tin?: string;
  /** Present for an employee: the organisation named by a real O or its TIN. */
  organization?: Organization;
  organizationalUnit?: string;
  locality?: string;
  country?: string;
}

/** The national identifiers a certificate asserts, present at all (well formed or not): what a CA must be allowed to assert. */
export type IdentifierName = 'pinfl' | 'tin';

// Upper bounds from RFC 5280 Appendix A (ub-name 32768 aside, the DN ones are ≤ 128); 256
// leaves room for UTF-8 names while keeping log lines and tokens small.
const maxTextLength = 256;

/** Control, format (bidi overrides, zero-width), surrogate, private-use and U+FFFD. */
const unsafeCharacters = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\uFFFD]/u;

// What national CAs write for "none" in uz (Latin, Cyrillic), ru and en, compared without case,
// brackets, quotes and surrounding punctuation.
const placeholders = new Set([
  'не указано', 'не указан', 'не указана', 'неизвестно', 'нет',
  'noaniq', "noma'lum", 'nomaʼlum', 'nomaʻlum', "ko'rsatilmagan", 'koʻrsatilmagan', 'кўрсатилмаган', 'номаълум', 'аниқ эмас', 'mavjud emas',
  'not specified', 'unknown', 'none', 'n/a', '-', '—',
]);

export function nationalIdentity(attributes: readonly SubjectAttribute[]): NationalIdentity {
  const identity: NationalIdentity = {};
  const set = <K extends keyof NationalIdentity>(field: K, value: NationalIdentity[K] | undefined) => {
    if (value !== undefined) identity[field] = value;
  };
  set('commonName', text(single(attributes, OID.commonName)));
  set('surname', text(single(attributes, OID.surname)));
  set('givenName', text(single(attributes, OID.givenName)) ?? (has(attributes, OID.givenName) ? undefined : text(single(attributes, OID.name))));
  set('pinfl', digits(single(attributes, OID.uzPinfl), 14));
  set('tin', digits(single(attributes, OID.userId), 9));
  set('organization', organizationOf(attributes));
  set('organizationalUnit', meaningful(text(single(attributes, OID.organizationalUnitName))));
  set('locality', text(single(attributes, OID.localityName)));
  set('country', countryCode(single(attributes, OID.countryName)));
  return identity;
}

/** pinfl when the subject has a PINFL attribute, tin when it has a UID or an organisation TIN. */
export function assertedIdentifiers(attributes: readonly SubjectAttribute[]): IdentifierName[] {
  const asserted: IdentifierName[] = [];
  if (has(attributes, OID.uzPinfl)) asserted.push('pinfl');
  if (has(attributes, OID.userId) || has(attributes, OID.uzTin)) asserted.push('tin');
  return asserted;
}

/** A real organisation (name or TIN); its title goes with it. A person's certificate has none. */
function organizationOf(attributes: readonly SubjectAttribute[]): Organization | undefined {
  const name = meaningful(text(single(attributes, OID.organizationName)));
  const tin = digits(single(attributes, OID.uzTin), 9);
  if (name === undefined && tin === undefined) return undefined;
  const title = meaningful(text(single(attributes, OID.title)));
  return { ...(name === undefined ? {} : { name }), ...(tin === undefined ? {} : { tin }), ...(title === undefined ? {} : { title }) };
}

function has(attributes: readonly SubjectAttribute[], oid: string): boolean {
  return attributes.some((attribute) => attribute.type === oid);
}

/** The value of the one attribute with this OID; undefined when absent or repeated. */
function single(attributes: readonly SubjectAttribute[], oid: string): string | undefined {
  const matches = attributes.filter((attribute) => attribute.type === oid);
  return matches.length === 1 ? matches[0]?.value : undefined;
}

function text(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > maxTextLength) return undefined;
  if (unsafeCharacters.test(value) || value.trim() !== value) return undefined;
  return value;
}

function meaningful(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bare = value.toLowerCase().replace(/^[\s"'«»„“”()[\]<>.,:;]+|[\s"'«»„“”()[\]<>.,:;]+$/gu, '');
  return placeholders.has(bare) || bare === '' ? undefined : value;
}

function digits(value: string | undefined, count: number): string | undefined {
  return value !== undefined && value.length === count && /^[0-9]+$/.test(value) ? value : undefined;
}

/** ISO 3166 alpha-2 in upper case, as X.520 countryName requires (RFC 5280 Appendix A). */
function countryCode(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Z]{2}$/.test(value) ? value : undefined;
}
