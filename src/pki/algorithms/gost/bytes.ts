// Byte-string helpers shared by the GOST hashes and encodings. Pure TS: the sign-in page uses them.

/** target := target + other mod 2^(8·length), both little-endian of the same length (Σ of RFC 5831 §7, RFC 6986 §8). */
export function addLittleEndianInto(target: Uint8Array, other: Uint8Array): void {
  let carry = 0;
  for (let i = 0; i < target.length; i++) {
    const total = target[i]! + other[i]! + carry;
    target[i] = total & 0xff;
    carry = total >>> 8;
  }
}

export function xorInto(target: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= other[i]!;
}

/** A new array a ⊕ b (a copy even when `a` is a Buffer, whose slice() is a view). */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a);
  xorInto(out, b);
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('not an even-length hex string');
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The unsigned integer a byte string is, read little-endian. */
export function bytesToBigIntLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

export function bytesToBigIntBigEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** `value` as exactly `length` bytes, little-endian; TypeError when it does not fit. */
export function bigIntToBytesLittleEndian(value: bigint, length: number): Uint8Array {
  if (value < 0n || value >> BigInt(8 * length) !== 0n) throw new TypeError(`value does not fit in ${length} bytes`);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++, value >>= 8n) bytes[i] = Number(value & 0xffn);
  return bytes;
}

export function bigIntToBytesBigEndian(value: bigint, length: number): Uint8Array {
  return bigIntToBytesLittleEndian(value, length).reverse();
}
