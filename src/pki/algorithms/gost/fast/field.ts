// The WebAssembly field arithmetic of fieldWat.ts, instantiated once, with a bump allocator over
// its memory: each curve gets a modulus block and the field elements it asks for. Service-side
// only (a page whose CSP lacks 'wasm-unsafe-eval' could not compile it; the page signs with the
// pure-TS path). Values live in memory in Montgomery form x·R mod p, R = 2^(32N).
import type { GostCurve } from '../curves.ts';
import { fieldWasmBase64 } from './fieldWasm.ts';

type Operation = (r: number, a: number, b: number, m: number) => void;
type Doubling = (out: number, p: number, m: number, tmp: number, a: number, minus3: number) => void;

interface FieldExports {
  memory: WebAssembly.Memory;
  mul256: Operation;
  add256: Operation;
  sub256: Operation;
  mul512: Operation;
  add512: Operation;
  sub512: Operation;
  dbl256: Doubling;
  dbl512: Doubling;
}

/** Field elements are memory offsets; every operation writes r and may alias its inputs. */
export interface Field {
  readonly bytes: number;
  mul(r: number, a: number, b: number): void;
  add(r: number, a: number, b: number): void;
  sub(r: number, a: number, b: number): void;
  /** out := 2·P in Jacobian coordinates (fieldWat.ts's dbl), with 8 scratch elements at tmp; `a` is read unless minus3. */
  double(out: number, p: number, tmp: number, a: number, minus3: boolean): void;
  /** Offsets of `count` new elements, zeroed. */
  allocate(count: number): number;
  /** Writes x·R mod p for 0 ≤ x < p. */
  setMontgomery(at: number, x: bigint): void;
  /** The element as stored (x·R mod p for x): what tests compare against BigInt arithmetic. */
  read(at: number): bigint;
  isZero(at: number): boolean;
  equal(a: number, b: number): boolean;
  copy(to: number, from: number, elements: number): void;
}

let wasm: FieldExports | undefined;
let next = 0;

function instance(): FieldExports {
  if (wasm === undefined) {
    const bytes = Uint8Array.from(atob(fieldWasmBase64), (c) => c.charCodeAt(0));
    wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as FieldExports;
  }
  return wasm;
}

/** Reserves `bytes` of the module's memory (8-aligned), growing it when needed. */
function reserve(bytes: number): number {
  const { memory } = instance();
  const at = next;
  next += Math.ceil(bytes / 8) * 8;
  const missing = next - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  return at;
}

export function createField(curve: GostCurve): Field {
  const exports = instance();
  const limbs = curve.size / 4;
  const bits = BigInt(8 * curve.size);
  const [mul, add, sub, dbl] = curve.size === 32
    ? [exports.mul256, exports.add256, exports.sub256, exports.dbl256]
    : [exports.mul512, exports.add512, exports.sub512, exports.dbl512];
  // The modulus block: p's limbs, then n0' = −p⁻¹ mod 2³² (Montgomery's constant).
  const modulus = reserve(4 * limbs + 4);
  let words = new Uint32Array(exports.memory.buffer);
  // memory.grow detaches the old buffer: views are renewed when that happened.
  const view = () => (words.buffer === exports.memory.buffer ? words : (words = new Uint32Array(exports.memory.buffer)));
  const write = (at: number, value: bigint) => {
    const w = view();
    for (let i = 0; i < limbs; i++, value >>= 32n) w[at / 4 + i] = Number(value & 0xffffffffn);
  };
  write(modulus, curve.p);
  view()[modulus / 4 + limbs] = Number((2n ** 32n - inverseModPowerOfTwo(curve.p & 0xffffffffn)) & 0xffffffffn);

  return {
    bytes: curve.size,
    mul: (r, a, b) => mul(r, a, b, modulus),
    add: (r, a, b) => add(r, a, b, modulus),
    sub: (r, a, b) => sub(r, a, b, modulus),
    double: (out, p, tmp, a, minus3) => dbl(out, p, modulus, tmp, a, minus3 ? 1 : 0),
    allocate(count) {
      const at = reserve(count * curve.size);
      view().fill(0, at / 4, at / 4 + count * limbs);
      return at;
    },
    setMontgomery: (at, x) => write(at, (x << bits) % curve.p),
    read(at) {
      const w = view();
      let value = 0n;
      for (let i = limbs - 1; i >= 0; i--) value = (value << 32n) | BigInt(w[at / 4 + i]!);
      return value;
    },
    isZero(at) {
      const w = view();
      for (let i = at / 4; i < at / 4 + limbs; i++) if (w[i] !== 0) return false;
      return true;
    },
    equal(a, b) {
      const w = view();
      for (let i = 0; i < limbs; i++) if (w[a / 4 + i] !== w[b / 4 + i]) return false;
      return true;
    },
    copy: (to, from, elements) => view().copyWithin(to / 4, from / 4, from / 4 + elements * limbs),
  };
}

/** x⁻¹ mod 2³² for odd x, by Newton's iteration (each step doubles the correct low bits). */
function inverseModPowerOfTwo(x: bigint): bigint {
  let inverse = 1n;
  for (let i = 0; i < 5; i++) inverse = (inverse * (2n - x * inverse)) & 0xffffffffn;
  return inverse;
}
