// A strict DER reader (ITU-T X.690 §8 and §10–11). It is the first thing that touches
// attacker bytes, so it accepts exactly one canonical encoding and nothing else: no
// indefinite lengths, no padded lengths or tags, no constructed strings, no trailing bytes.
// Depth and node limits bound the work before any signature is looked at
// (docs/security-cases.md §A 1–8; ASN1.js #131, #150; node-forge CVE-2022-24772, CVE-2025-66030).
import { ServiceError } from '../../errors.ts';

export interface DerNode {
  /** Tag class: 0 universal, 1 application, 2 context-specific, 3 private. */
  cls: 0 | 1 | 2 | 3;
  constructed: boolean;
  tagNumber: number;
  /** The first identifier octet, e.g. 0x30 SEQUENCE, 0xa0 [0] constructed, 0x02 INTEGER. */
  tag: number;
  /** Offset of the identifier octet in the parsed input. */
  start: number;
  headerLength: number;
  /** Offset just past the last content octet. */
  end: number;
  /** The whole TLV, a view into the input. */
  bytes: Uint8Array;
  /** The content octets, a view into the input. */
  content: Uint8Array;
  /** Parsed children of a constructed node; empty for a primitive one. */
  children: DerNode[];
}

export interface DerLimits {
  maxDepth?: number;
  maxNodes?: number;
  /**
   * Whether the children of the constructed value with this identifier octet,
   * at this depth (the outermost value is depth 0), are framed only: each must be a TLV of
   * definite length within its parent, and its content is left unread (`children` empty), for
   * a strict DER parser of its own to read from `bytes` (a CMS's certificates: issue 12, their
   * nodes were most of what a sign-in allocated, and parseCertificate reads them again anyway).
   */
  framedOnly?: (parentTag: number, parentDepth: number) => boolean;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const defaultMaxDepth = 32;
const defaultMaxNodes = 10_000;
// Largest tag number we accept in long form; real X.509/CMS never goes past 30, so a
// tag needing more than three continuation octets is an attack (ASN1.js #150).
const maxTagNumber = 0x1f_ffff;

// Universal types that X.690 §10.2 / §8.x require to be primitive in DER.
const primitiveUniversal = new Set([1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);

export function malformed(reason: string): ServiceError {
  return new ServiceError('malformed_signature', reason);
}

/** Parses exactly one TLV spanning the whole input. Throws malformed_signature otherwise. */
export function parseDer(input: Uint8Array, limits: DerLimits = {}): DerNode {
  return parseWhole(input, limits, false);
}

/**
 * Parses exactly one BER TLV spanning the whole input, allowing only indefinite lengths on
 * constructed values and constructed OCTET STRINGs beyond DER. For the outer structure of a
 * CMS SignedData only (RFC 5652 §2); an indefinite value's `bytes` include its end-of-contents
 * octets, and its `content` excludes them.
 */
export function parseBer(input: Uint8Array, limits: DerLimits = {}): DerNode {
  return parseWhole(input, limits, true);
}

/**
 * The elements of the DER SEQUENCE that spans `input`, one at a time, each parsed strictly with
 * `limits` of its own (the SEQUENCE is depth 0, its elements depth 1). For lists too long to
 * hold as one tree: a CRL's revoked certificates (src/pki/x509/crl.ts), whose nodes would all
 * live until the last entry was read; an element's nodes are garbage once the caller moves on.
 */
export function* sequenceElements(input: Uint8Array, limits: DerLimits = {}): Generator<DerNode> {
  const outer = parseNode(parseState(input, {}, false), 0, input.length, 0, true);
  if (outer.end !== input.length) throw malformed('trailing bytes after DER value');
  if (outer.tag !== TAG.SEQUENCE) throw malformed('expected a SEQUENCE');
  for (let at = outer.start + outer.headerLength; at < outer.end;) {
    const element = parseNode(parseState(input, limits, false), at, outer.end, 1, false);
    at = element.end;
    yield element;
  }
}

function parseWhole(input: Uint8Array, limits: DerLimits, ber: boolean): DerNode {
  const node = parseNode(parseState(input, limits, ber), 0, input.length, 0, false);
  if (node.end !== input.length) throw malformed(`trailing bytes after ${ber ? 'BER' : 'DER'} value`);
  return node;
}

// A class with views made on first use: a sign-in's CMS is some 150 elements, most never read
// (the certificates in it are looked up by their bytes alone), and two views per element were
// a third of what a sign-in allocated (issue 12).
class Node implements DerNode {
  #bytes: Uint8Array | undefined;
  #content: Uint8Array | undefined;

  constructor(
    private readonly input: Uint8Array,
    readonly cls: 0 | 1 | 2 | 3,
    readonly constructed: boolean,
    readonly tagNumber: number,
    readonly tag: number,
    readonly start: number,
    readonly headerLength: number,
    readonly end: number,
    /** Where the content ends: `end`, or before the end-of-contents octets of an indefinite length. */
    private readonly contentEnd: number,
    readonly children: DerNode[],
  ) {}

  get bytes(): Uint8Array {
    return (this.#bytes ??= this.input.subarray(this.start, this.end));
  }

  get content(): Uint8Array {
    return (this.#content ??= this.input.subarray(this.start + this.headerLength, this.contentEnd));
  }
}

interface ParseState {
  input: Uint8Array;
  maxDepth: number;
  nodesLeft: number;
  ber: boolean;
  framedOnly: DerLimits['framedOnly'];
}

function parseState(input: Uint8Array, limits: DerLimits, ber: boolean): ParseState {
  return { input, maxDepth: limits.maxDepth ?? defaultMaxDepth, nodesLeft: limits.maxNodes ?? defaultMaxNodes, ber, framedOnly: limits.framedOnly };
}

/** `framed`: the value's content is left unread (DerLimits.framedOnly). */
function parseNode(state: ParseState, offset: number, limit: number, depth: number, framed: boolean): DerNode {
  if (depth >= state.maxDepth) throw malformed('DER nesting too deep');
  if (--state.nodesLeft < 0) throw malformed('too many DER elements');
  const { input } = state;
  const start = offset;
  if (offset >= limit) throw malformed('truncated DER: missing tag');
  const first = input[offset++]!;
  const cls = (first >> 6) as 0 | 1 | 2 | 3;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // X.690 §8.1.2.4: long form only for numbers ≥ 31, no leading 0x80 octet.
    tagNumber = 0;
    for (;;) {
      if (offset >= limit) throw malformed('truncated DER: long-form tag');
      const b = input[offset++]!;
      if (tagNumber === 0 && b === 0x80) throw malformed('non-minimal long-form tag');
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (tagNumber > maxTagNumber) throw malformed('tag number too large');
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 31) throw malformed('long-form tag for a number below 31');
  }
  if (state.ber && offset < limit && input[offset] === 0x80) {
    if (!constructed) throw malformed('indefinite length on a primitive value');
    if (framed) throw malformed('indefinite length where DER is due');
    return parseIndefinite(state, { cls, constructed, tagNumber, tag: first, start }, offset + 1, limit, depth);
  }
  const { length, next } = readLength(input, offset, limit);
  offset = next;
  const headerLength = offset - start;
  // Compared before any allocation: a length past the buffer is rejected at once (§A 8).
  if (length > limit - offset) throw malformed('DER length exceeds the available bytes');
  const end = offset + length;
  const node = new Node(input, cls, constructed, tagNumber, first, start, headerLength, end, end, []);
  if (framed) return node;
  if (cls === 0) checkUniversal(node, state.ber);
  if (constructed) {
    const framedChildren = state.framedOnly?.(first, depth) ?? false;
    let at = offset;
    while (at < end) {
      const child = parseNode(state, at, end, depth + 1, framedChildren);
      node.children.push(child);
      at = child.end;
    }
    checkConstructed(node, state.ber);
  }
  return node;
}

/** X.690 §8.1.3.6: children until the end-of-contents octets 00 00, which must come before `limit`. */
function parseIndefinite(
  state: ParseState, head: Pick<DerNode, 'cls' | 'constructed' | 'tagNumber' | 'tag' | 'start'>, contentStart: number, limit: number, depth: number,
): DerNode {
  const children: DerNode[] = [];
  const framedChildren = state.framedOnly?.(head.tag, depth) ?? false;
  let at = contentStart;
  for (;;) {
    if (limit - at < 2) throw malformed('truncated BER: no end-of-contents octets');
    if (state.input[at] === 0 && state.input[at + 1] === 0) break;
    const child = parseNode(state, at, limit, depth + 1, framedChildren);
    children.push(child);
    at = child.end;
  }
  const end = at + 2;
  const node = new Node(state.input, head.cls, head.constructed, head.tagNumber, head.tag, head.start, contentStart - head.start, end, at, children);
  if (node.cls === 0) checkUniversal(node, true);
  checkConstructed(node, true);
  return node;
}

// DER: a SET OF in ascending order (X.690 §11.6). BER: a constructed OCTET STRING is made of
// OCTET STRINGs (§8.7.3.2).
function checkConstructed(node: DerNode, ber: boolean): void {
  if (node.cls !== 0) return;
  if (node.tagNumber === 17 && !ber) checkSetOrder(node);
  if (node.tagNumber === 4 && node.children.some((child) => child.cls !== 0 || child.tagNumber !== 4)) {
    throw malformed('a constructed OCTET STRING holds something other than OCTET STRINGs');
  }
}

function readLength(input: Uint8Array, offset: number, limit: number): { length: number; next: number } {
  if (offset >= limit) throw malformed('truncated DER: missing length');
  const b = input[offset++]!;
  if (b < 0x80) return { length: b, next: offset };
  if (b === 0x80) throw malformed('indefinite length (BER) is not DER');
  const count = b & 0x7f;
  // Four octets cover 4 GiB, far past any input we accept; more is an attack (§A 8).
  if (count > 4) throw malformed('DER length field too long');
  if (offset + count > limit) throw malformed('truncated DER: length octets');
  if (input[offset] === 0) throw malformed('non-minimal DER length (leading zero)');
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + input[offset + i]!;
  if (length < 0x80) throw malformed('non-minimal DER length (long form for a short length)');
  return { length, next: offset + count };
}

function checkUniversal(node: DerNode, ber: boolean): void {
  const { tagNumber, constructed, content } = node;
  if (tagNumber === 0) throw malformed(ber ? 'end-of-contents octets where a value is due' : 'end-of-contents octets are not DER');
  if (primitiveUniversal.has(tagNumber) && constructed && !(ber && tagNumber === 4)) {
    throw malformed(`constructed encoding of universal type ${tagNumber} is not DER`);
  }
  if (constructed) return;
  if (tagNumber === 16 || tagNumber === 17) throw malformed('SEQUENCE/SET must be constructed');
  switch (tagNumber) {
    case 1:
      // X.690 §11.1: TRUE is 0xff, FALSE is 0x00.
      if (content.length !== 1 || (content[0] !== 0 && content[0] !== 0xff)) throw malformed('BOOLEAN is not DER');
      break;
    case 2:
    case 10:
      checkMinimalInteger(content);
      break;
    case 3:
      checkBitString(content);
      break;
    case 5:
      if (content.length !== 0) throw malformed('NULL with content');
      break;
    case 6:
      checkOidEncoding(content);
      break;
  }
}

// X.690 §8.3.2: the first nine bits of an INTEGER are not all zeros or all ones.
function checkMinimalInteger(content: Uint8Array): void {
  if (content.length === 0) throw malformed('empty INTEGER');
  if (content.length > 1) {
    const a = content[0]!;
    const b = content[1]!;
    if ((a === 0x00 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0)) {
      throw malformed('non-minimal INTEGER encoding');
    }
  }
}

// X.690 §8.6.2 and §11.2.1: unused-bit count 0–7, zero when empty, unused bits zero.
function checkBitString(content: Uint8Array): void {
  if (content.length === 0) throw malformed('empty BIT STRING');
  const unused = content[0]!;
  if (unused > 7) throw malformed('BIT STRING unused-bit count above 7');
  if (content.length === 1 && unused !== 0) throw malformed('empty BIT STRING with unused bits');
  if (unused > 0 && (content[content.length - 1]! & ((1 << unused) - 1)) !== 0) {
    throw malformed('BIT STRING unused bits are not zero');
  }
}

// X.690 §8.19.2: each subidentifier is minimal (no leading 0x80) and the last octet ends it.
function checkOidEncoding(content: Uint8Array): void {
  if (content.length === 0) throw malformed('empty OBJECT IDENTIFIER');
  if ((content[content.length - 1]! & 0x80) !== 0) throw malformed('truncated OBJECT IDENTIFIER');
  let startOfArc = true;
  for (const b of content) {
    if (startOfArc && b === 0x80) throw malformed('non-minimal OBJECT IDENTIFIER arc');
    startOfArc = (b & 0x80) === 0;
  }
}

// X.690 §11.6: the components of a SET OF are in ascending order of their encodings.
function checkSetOrder(node: DerNode): void {
  for (let i = 1; i < node.children.length; i++) {
    if (compareBytes(node.children[i - 1]!.bytes, node.children[i]!.bytes) > 0) {
      throw malformed('SET elements are not in DER order');
    }
  }
}

/** Lexicographic byte comparison, shorter-is-smaller on a common prefix (X.690 §11.6). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Throws unless the node carries the given first identifier octet. */
export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) {
    throw malformed(`${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(node.tag)}`);
  }
  return node;
}

/** The child at `index`, which must exist (and carry `tag` when given). */
export function childAt(node: DerNode, index: number, what: string, tag?: number): DerNode {
  const child = node.children[index];
  if (child === undefined) throw malformed(`${what}: missing element`);
  return tag === undefined ? child : expectTag(child, tag, what);
}

/** The children of a SEQUENCE/SET, whose count must lie in [min, max]. */
export function expectChildren(node: DerNode, min: number, max: number, what: string): DerNode[] {
  if (!node.constructed) throw malformed(`${what}: expected a constructed value`);
  const n = node.children.length;
  if (n < min || n > max) throw malformed(`${what}: ${n} elements, expected ${min}..${max}`);
  return node.children;
}

/** A SEQUENCE with a given shape, returning its children. */
export function expectSequence(node: DerNode, min: number, max: number, what: string): DerNode[] {
  expectTag(node, TAG.SEQUENCE, what);
  return expectChildren(node, min, max, what);
}

export function readInteger(node: DerNode): bigint {
  if (node.tag !== TAG.INTEGER && node.tag !== TAG.ENUMERATED) throw malformed('expected INTEGER');
  let value = 0n;
  for (const b of node.content) value = (value << 8n) | BigInt(b);
  if ((node.content[0]! & 0x80) !== 0) value -= 1n << BigInt(node.content.length * 8);
  return value;
}

/** A non-negative INTEGER no larger than `max` (lengths, counts, versions). */
export function readSmallInteger(node: DerNode, max: number, what: string): number {
  const value = readInteger(node);
  if (value < 0n || value > BigInt(max)) throw malformed(`${what}: integer out of range`);
  return Number(value);
}

export function readBoolean(node: DerNode): boolean {
  expectTag(node, TAG.BOOLEAN, 'BOOLEAN');
  return node.content[0] === 0xff;
}

export function readNull(node: DerNode): null {
  expectTag(node, TAG.NULL, 'NULL');
  return null;
}

export function readOctetString(node: DerNode): Uint8Array {
  expectTag(node, TAG.OCTET_STRING, 'OCTET STRING');
  return node.content;
}

/** An OCTET STRING's value from parseBer: primitive, or the concatenated segments of a constructed one (X.690 §8.7.3). */
export function readBerOctetString(node: DerNode): Uint8Array {
  if (node.tag === TAG.OCTET_STRING) return node.content;
  if (node.tag !== (TAG.OCTET_STRING | 0x20)) throw malformed(`OCTET STRING: expected tag 0x04 or 0x24, found 0x${hex2(node.tag)}`);
  const segments = node.children.map(readBerOctetString);
  const value = new Uint8Array(segments.reduce((n, segment) => n + segment.length, 0));
  let at = 0;
  for (const segment of segments) {
    value.set(segment, at);
    at += segment.length;
  }
  return value;
}

const maxSafeArcBeforeShift = Math.floor((Number.MAX_SAFE_INTEGER - 0x7f) / 128);

/**
 * Dotted OID text. Arcs are exact up to 2^53; larger arcs are rejected rather than
 * truncated, so no crafted OID can alias a trusted one (node-forge CVE-2025-66030).
 */
export function readOid(node: DerNode): string {
  expectTag(node, TAG.OID, 'OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (const b of node.content) {
    if (value > maxSafeArcBeforeShift) throw malformed('OBJECT IDENTIFIER arc too large');
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join('.');
}

export function readBitString(node: DerNode): { unusedBits: number; bytes: Uint8Array } {
  expectTag(node, TAG.BIT_STRING, 'BIT STRING');
  return { unusedBits: node.content[0]!, bytes: node.content.subarray(1) };
}

/** A BIT STRING whose bit count is a multiple of 8 (keys, signatures). */
export function readBitStringBytes(node: DerNode, what: string): Uint8Array {
  const { unusedBits, bytes } = readBitString(node);
  if (unusedBits !== 0) throw malformed(`${what}: BIT STRING with unused bits`);
  return bytes;
}

/**
 * UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ: the only forms RFC 5280
 * §4.1.2.5 allows (seconds present, Z, no fractions). UTCTime years 50–99 are 19xx.
 * Read from the octets without a string in between: a national CRL has 100 000 of them.
 */
export function readTime(node: DerNode): Date {
  const octets = node.content;
  let year: number;
  if (node.tag === TAG.UTCTime) {
    if (!timeForm(octets, 12)) throw malformed('UTCTime is not in the form YYMMDDHHMMSSZ');
    const yy = twoDigits(octets, 0);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (node.tag === TAG.GeneralizedTime) {
    if (!timeForm(octets, 14)) throw malformed('GeneralizedTime is not in the form YYYYMMDDHHMMSSZ');
    year = twoDigits(octets, 0) * 100 + twoDigits(octets, 2);
  } else {
    throw malformed('expected UTCTime or GeneralizedTime');
  }
  const at = octets.length - 11;
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((i) => twoDigits(octets, at + i)) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC rolls 31 February over into March (and years below 100 into the 1900s); a round
  // trip catches every out-of-range field.
  if (
    Number.isNaN(ms) || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || date.getUTCHours() !== hour || date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw malformed('time value out of range');
  }
  return date;
}

/** `digits` ASCII digits and then 'Z', nothing more. */
function timeForm(octets: Uint8Array, digits: number): boolean {
  if (octets.length !== digits + 1 || octets[digits] !== 0x5a) return false;
  for (let i = 0; i < digits; i++) {
    const octet = octets[i]!;
    if (octet < 0x30 || octet > 0x39) return false;
  }
  return true;
}

const twoDigits = (octets: Uint8Array, at: number) => (octets[at]! - 0x30) * 10 + (octets[at + 1]! - 0x30);

function asciiOf(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return text;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// X.680 §41.4, plus '*' and '&', which real CAs put there (as Go's parser also allows).
const printable = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/;

/** Decodes a string-typed value, checking the character set its tag promises. */
export function readString(node: DerNode): string {
  const { content } = node;
  switch (node.tag) {
    case TAG.UTF8String:
      try {
        return utf8.decode(content);
      } catch {
        throw malformed('UTF8String is not valid UTF-8');
      }
    case TAG.PrintableString: {
      const text = asciiOf(content);
      if (!printable.test(text)) throw malformed('PrintableString with a character outside its set');
      return text;
    }
    case TAG.IA5String:
    case TAG.VisibleString:
      for (const b of content) if (b > 0x7f) throw malformed('IA5String/VisibleString with a non-ASCII byte');
      return asciiOf(content);
    case TAG.TeletexString:
      // T.61 is in practice Latin-1 (RFC 5280 §4.1.2.4 discourages it); read it so.
      return asciiOf(content);
    case TAG.BMPString:
      return decodeUcs(content, 2);
    case TAG.UniversalString:
      return decodeUcs(content, 4);
    default:
      throw malformed(`tag 0x${hex2(node.tag)} is not a string type`);
  }
}

function decodeUcs(content: Uint8Array, width: 2 | 4): string {
  if (content.length % width !== 0) throw malformed('BMPString/UniversalString length not a multiple of its width');
  let text = '';
  for (let i = 0; i < content.length; i += width) {
    let cp = 0;
    for (let j = 0; j < width; j++) cp = cp * 256 + content[i + j]!;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw malformed('invalid code point in BMPString/UniversalString');
    text += String.fromCodePoint(cp);
  }
  return text;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
