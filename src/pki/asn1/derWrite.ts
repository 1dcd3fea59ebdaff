// A tiny DER writer (X.690 §10): definite, minimal lengths and low tag numbers only. It is
// enough to build CMS SignedData (RFC 5652) for the benchmark client, the admin `sign-in`
// command and tests; it never parses.
import { compareBytes } from './der.ts';

/** Concatenates byte strings into one fresh array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Length octets in the shortest form X.690 §10.1 allows. */
export function encodeLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new TypeError(`bad DER length ${length}`);
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with an identifier octet below 0x1f (every tag CMS and X.509 use). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new TypeError(`tag ${tag} needs the high-tag-number form, which this writer does not emit`);
  }
  const body = concat(...content);
  return concat(Uint8Array.of(tag), encodeLength(body.length), body);
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(0x30, ...items);

/** SET OF with its elements sorted as DER requires (X.690 §11.6). */
export function setOf(...items: Uint8Array[]): Uint8Array {
  return tlv(0x31, ...[...items].sort(compareBytes));
}

/** SET exactly in the given order: only for building deliberately non-canonical test input. */
export const setUnsorted = (...items: Uint8Array[]): Uint8Array => tlv(0x31, ...items);

export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes);

export const nullValue = (): Uint8Array => Uint8Array.of(0x05, 0x00);

/** Context-specific constructed `[n]` (EXPLICIT, or IMPLICIT over a constructed type). */
export const contextConstructed = (n: number, ...items: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...items);

/** Context-specific primitive `[n]` IMPLICIT over primitive content. */
export const contextPrimitive = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** Replaces the identifier octet of an encoded TLV (IMPLICIT tagging of a built value). */
export function retag(encoded: Uint8Array, tag: number): Uint8Array {
  const copy = encoded.slice();
  copy[0] = tag;
  return copy;
}

/** INTEGER from a non-negative bigint, two's complement, minimal (X.690 §8.3.2). */
export function integer(value: bigint | number): Uint8Array {
  let n = BigInt(value);
  if (n < 0n) throw new TypeError('negative INTEGER is not needed by any structure built here');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from dotted text, base-128 arcs (X.690 §8.19). */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^(0|[1-9]\d*)$/.test(arc)) throw new TypeError(`bad OID ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new TypeError(`bad OID ${dotted}`);
  }
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) chunk.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** AlgorithmIdentifier; `parameters` omitted when undefined (RFC 5754 §2 for SHA-2). */
export function algorithmIdentifier(algorithm: string, parameters?: Uint8Array): Uint8Array {
  return parameters === undefined ? sequence(oid(algorithm)) : sequence(oid(algorithm), parameters);
}
