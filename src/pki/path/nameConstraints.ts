// Name constraints (RFC 5280 §4.2.1.10, §6.1.3(b)–(c), §6.1.4(g)).
// The permitted state is kept as one subtree list per constraining certificate: a name must
// match every list that constrains its form, which is the RFC's intersection without having
// to compute it. Excluded subtrees accumulate as a union.
import type { GeneralName, GeneralSubtree, Name, ParsedCertificate } from '../x509/model.ts';
import { canonicalRdn } from '../x509/name.ts';
import { OID } from '../asn1/oids.ts';

export interface NameConstraintState {
  permitted: GeneralSubtree[][];
  excluded: GeneralSubtree[];
}

export function emptyNameConstraints(): NameConstraintState {
  return { permitted: [], excluded: [] };
}

/** §6.1.4(g): adds a CA certificate's constraints to the state. */
export function addNameConstraints(state: NameConstraintState, cert: ParsedCertificate): NameConstraintState {
  const nc = cert.nameConstraints;
  if (nc === undefined) return state;
  return {
    permitted: nc.permitted === undefined ? state.permitted : [...state.permitted, nc.permitted],
    excluded: nc.excluded === undefined ? state.excluded : [...state.excluded, ...nc.excluded],
  };
}

/**
 * A problem with a certificate's nameConstraints extension that makes it unprocessable,
 * or undefined. RFC 5280: minimum MUST be 0, maximum MUST be absent, the extension MUST NOT
 * be empty; constraints on forms we cannot compare are refused rather than skipped.
 */
export function unsupportedNameConstraint(cert: ParsedCertificate): string | undefined {
  const nc = cert.nameConstraints;
  if (nc === undefined) return undefined;
  if (nc.permitted === undefined && nc.excluded === undefined) return 'nameConstraints is empty';
  for (const subtree of [...(nc.permitted ?? []), ...(nc.excluded ?? [])]) {
    if (subtree.minimum !== 0 || subtree.maximum !== undefined) return 'nameConstraints uses minimum/maximum';
    const base = subtree.base;
    // §4.2.1.10: DNS constraints have no leading period (that form is for URIs and mailboxes).
    if (base.type === 'dns' && base.value !== '' && !isDnsName(base.value)) return `nameConstraints has a malformed DNS name "${base.value}"`;
  }
  return undefined;
}

/** The names of a certificate that constraints apply to: subject DN, its emailAddress attributes, SANs. */
function namesOf(cert: ParsedCertificate): GeneralName[] {
  const names: GeneralName[] = [];
  if (cert.subject.rdns.length > 0) names.push({ type: 'dn', value: cert.subject });
  // §4.2.1.10: rfc822Name constraints also bind emailAddress attributes of the subject DN.
  for (const rdn of cert.subject.rdns) {
    for (const attribute of rdn) if (attribute.type === OID.emailAddress) names.push({ type: 'email', value: attribute.value });
  }
  names.push(...(cert.subjectAltName ?? []));
  return names;
}

// Comparisons allowed per certificate: real paths need dozens; crafted ones could ask for
// millions (x509-limbo pathological::nc-dos).
const maxComparisons = 1 << 16;

/** Returns a plain-words reason when a certificate's names break the constraints, else undefined. */
export function nameConstraintViolation(state: NameConstraintState, cert: ParsedCertificate): string | undefined {
  const names = namesOf(cert);
  const subtrees = state.excluded.length + state.permitted.reduce((n, list) => n + list.length, 0);
  if (names.length * subtrees > maxComparisons) return `${names.length} names against ${subtrees} constraints is more than this validator checks`;
  for (const name of names) {
    for (const subtree of state.excluded) {
      if (sameForm(name, subtree.base) && excludedHit(name, subtree.base)) return `${describe(name)} is in an excluded subtree`;
    }
    for (const list of state.permitted) {
      const forms = list.filter((s) => sameForm(name, s.base));
      if (forms.length > 0 && !forms.some((s) => matches(name, s.base))) return `${describe(name)} is outside the permitted subtrees`;
    }
  }
  return undefined;
}

function sameForm(name: GeneralName, base: GeneralName): boolean {
  if (name.type === 'other' && base.type === 'other') return (name.tag & 0x1f) === (base.tag & 0x1f);
  return name.type === base.type;
}

/**
 * Excluded subtrees are read defensively: a name we cannot compare (otherName and the like),
 * a malformed DNS name or mailbox, or a wildcard that could stand for an excluded host all
 * count as inside (CVE-2025-61727).
 */
function excludedHit(name: GeneralName, base: GeneralName): boolean {
  if (name.type === 'other') return true;
  if (name.type === 'dns' && base.type === 'dns') {
    if (name.value.startsWith('*.') && isDnsName(name.value.slice(2))) {
      const b = base.value.toLowerCase();
      return b === '' || b.endsWith(name.value.slice(1).toLowerCase()) || dnsWithin(name.value.slice(2), base.value);
    }
    return !isDnsName(name.value) || dnsWithin(name.value, base.value);
  }
  if (name.type === 'email' && !isMailbox(name.value)) return true;
  return matches(name, base);
}

function describe(name: GeneralName): string {
  switch (name.type) {
    case 'dn': return `directory name "${name.value.text}"`;
    case 'ip': return `IP address ${[...name.value].join('.')}`;
    case 'other': return `name of form [${name.tag & 0x1f}]`;
    default: return `${name.type} name "${name.value}"`;
  }
}

function matches(name: GeneralName, base: GeneralName): boolean {
  if (name.type === 'dn' && base.type === 'dn') return dnWithin(name.value, base.value);
  if (name.type === 'dns' && base.type === 'dns') return dnsWithin(name.value, base.value);
  if (name.type === 'email' && base.type === 'email') return emailWithin(name.value, base.value);
  if (name.type === 'uri' && base.type === 'uri') return uriWithin(name.value, base.value);
  if (name.type === 'ip' && base.type === 'ip') return ipWithin(name.value, base.value);
  // An 'other' form can be neither compared nor shown to be permitted.
  return false;
}

// §4.2.1.10: a DN is within a subtree when the subtree's RDNs are a prefix of the name's.
function dnWithin(name: Name, base: Name): boolean {
  if (base.rdns.length > name.rdns.length) return false;
  return base.rdns.every((rdn, i) => canonicalRdn(rdn) === canonicalRdn(name.rdns[i]!));
}

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A preferred-name-syntax host name (RFC 1034 §3.5, RFC 5280 §4.2.1.6), no leading or empty labels. */
function isDnsName(value: string): boolean {
  return value.length <= 253 && value.split('.').every((l) => label.test(l));
}

// One "@", a non-empty local part and a host name (RFC 5280 §4.2.1.6 Mailbox).
function isMailbox(value: string): boolean {
  const at = value.indexOf('@');
  return at > 0 && at === value.lastIndexOf('@') && isDnsName(value.slice(at + 1));
}

// "host.example.com" constrains the host and every subdomain (§4.2.1.10); an empty base, every name.
function dnsWithin(name: string, base: string): boolean {
  if (!isDnsName(name) && !(name.startsWith('*.') && isDnsName(name.slice(2)))) return false;
  const n = name.toLowerCase();
  const b = base.toLowerCase();
  if (b === '') return true;
  return n === b || n.endsWith(`.${b}`);
}

// A mailbox ("a@host"), a host ("host": all mailboxes there) or a domain (".host": subdomains).
function emailWithin(name: string, base: string): boolean {
  if (!isMailbox(name)) return false;
  const at = name.lastIndexOf('@');
  const local = name.slice(0, at);
  const host = name.slice(at + 1).toLowerCase();
  if (base.includes('@')) {
    const bAt = base.lastIndexOf('@');
    return local === base.slice(0, bAt) && host === base.slice(bAt + 1).toLowerCase();
  }
  const b = base.toLowerCase();
  if (b.startsWith('.')) return host.endsWith(b);
  return host === b;
}

// URI constraints name a host (or ".domain"); a URI without a host cannot be within one.
function uriWithin(name: string, base: string): boolean {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(name);
  const host = match?.[1]?.toLowerCase();
  if (host === undefined || host === '') return false;
  const b = base.toLowerCase();
  if (b.startsWith('.')) return host.endsWith(b);
  return host === b;
}

function ipWithin(address: Uint8Array, base: Uint8Array): boolean {
  const length = base.length / 2;
  if (address.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const mask = base[length + i]!;
    if ((address[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}
