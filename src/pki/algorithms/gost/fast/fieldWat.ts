// The WebAssembly text of the fast verifier's field arithmetic: Montgomery multiplication,
// addition and subtraction modulo a prime p of 256 or 512 bits, fully unrolled (the limbs live in
// locals, no loops). Limbs are 32 bits held in i64 so that every product and carry fits
// (Koç, Acar, Kaliski, "Analyzing and comparing Montgomery multiplication algorithms", 1996, CIOS).
//
// Arguments are byte offsets into the module's memory: r, a, b (N little-endian u32 limbs each,
// r may alias a or b: every input is read before r is written) and m, the modulus block: p's N
// limbs then n0' = −p⁻¹ mod 2³². Values are fully reduced, in [0, p).
// Point doubling runs here too: it is most of a verification's field operations, and one call
// from JS instead of two dozen saves their crossing cost.
// scripts/gostWasm.ts assembles this text with wabt into fieldWasm.ts; a test rebuilds it.

const MASK = '(i64.const 0xffffffff)';

export function fieldWat(): string {
  const functions = [8, 16].flatMap((n) => [mulFunction(n), addFunction(n), subFunction(n), doubleFunction(n)]);
  return `(module\n  (memory (export "memory") 1)\n${functions.join('\n')}\n)\n`;
}

const locals = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `(local $${prefix}${i} i64)`).join(' ');
const load = (pointer: string, limb: number) => `(i64.load32_u offset=${4 * limb} (local.get $${pointer}))`;
const set = (name: string, value: string) => `    (local.set $${name} ${value})`;
const get = (name: string) => `(local.get $${name})`;
const low = (value: string) => `(i64.and ${value} ${MASK})`;
const high = (value: string) => `(i64.shr_u ${value} (i64.const 32))`;
const add = (...terms: string[]) => terms.reduce((sum, term) => `(i64.add ${sum} ${term})`);

function header(name: string, n: number, extraLocals: string): string {
  return `  (func $${name}${32 * n} (export "${name}${32 * n}") (param $r i32) (param $a i32) (param $b i32) (param $m i32)\n    ${extraLocals} (local $s i64) (local $c i64)`;
}

/** r = a·b·2^(−32N) mod p, then the conditional subtraction. */
function mulFunction(n: number): string {
  const lines = [header('mul', n, `${locals('a', n)} ${locals('p', n)} ${locals('t', n + 2)} ${locals('d', n)} (local $bi i64) (local $q i64) (local $n0 i64)`)];
  for (let j = 0; j < n; j++) lines.push(set(`a${j}`, load('a', j)), set(`p${j}`, load('m', j)));
  lines.push(set('n0', load('m', n)));
  for (let i = 0; i < n; i++) {
    lines.push(set('bi', load('b', i)), set('c', '(i64.const 0)'));
    // t += a·b_i
    for (let j = 0; j < n; j++) {
      lines.push(set('s', add(get(`t${j}`), `(i64.mul ${get(`a${j}`)} ${get('bi')})`, get('c'))), set(`t${j}`, low(get('s'))), set('c', high(get('s'))));
    }
    lines.push(set('s', add(get(`t${n}`), get('c'))), set(`t${n}`, low(get('s'))), set(`t${n + 1}`, high(get('s'))));
    // t = (t + q·p) / 2^32 with q = t_0·n0' mod 2^32, which zeroes the lowest limb
    lines.push(set('q', low(`(i64.mul ${get('t0')} ${get('n0')})`)));
    lines.push(set('c', high(add(get('t0'), `(i64.mul ${get('q')} ${get('p0')})`))));
    for (let j = 1; j < n; j++) {
      lines.push(set('s', add(get(`t${j}`), `(i64.mul ${get('q')} ${get(`p${j}`)})`, get('c'))), set(`t${j - 1}`, low(get('s'))), set('c', high(get('s'))));
    }
    lines.push(set('s', add(get(`t${n}`), get('c'))), set(`t${n - 1}`, low(get('s'))), set(`t${n}`, add(get(`t${n + 1}`), high(get('s')))));
  }
  lines.push(...subtractIfNotBelow(n, get(`t${n}`)));
  return `${lines.join('\n')}\n  )`;
}

/** r = a + b mod p. */
function addFunction(n: number): string {
  const lines = [header('add', n, `${locals('p', n)} ${locals('t', n + 1)} ${locals('d', n)}`)];
  for (let j = 0; j < n; j++) lines.push(set(`p${j}`, load('m', j)));
  lines.push(set('c', '(i64.const 0)'));
  for (let j = 0; j < n; j++) lines.push(set('s', add(load('a', j), load('b', j), get('c'))), set(`t${j}`, low(get('s'))), set('c', high(get('s'))));
  lines.push(set(`t${n}`, get('c')), ...subtractIfNotBelow(n, get(`t${n}`)));
  return `${lines.join('\n')}\n  )`;
}

/**
 * d = t − p; r = d when the value t (limbs t0…, plus `overflow`·2^(32N)) is at least p, else t.
 * t < 2p always holds here, so one subtraction reduces.
 */
function subtractIfNotBelow(n: number, overflow: string): string[] {
  const lines = [set('c', '(i64.const 0)')];
  for (let j = 0; j < n; j++) {
    // c is the borrow; s < 0 (top bit set) when this limb borrows.
    lines.push(set('s', `(i64.sub (i64.sub ${get(`t${j}`)} ${get(`p${j}`)}) ${get('c')})`), set(`d${j}`, low(get('s'))), set('c', `(i64.shr_u ${get('s')} (i64.const 63))`));
  }
  // Keep d unless t < p: no overflow limb and a final borrow.
  const keepT = `(i64.eqz (i64.or ${overflow} (i64.xor ${get('c')} (i64.const 1))))`;
  for (let j = 0; j < n; j++) lines.push(`    (i64.store32 offset=${4 * j} (local.get $r) (select ${get(`t${j}`)} ${get(`d${j}`)} ${keepT}))`);
  return lines;
}

/** r = a − b mod p: subtract, then add p back when it borrowed. */
function subFunction(n: number): string {
  const lines = [header('sub', n, `${locals('d', n)} (local $mask i64)`)];
  lines.push(set('c', '(i64.const 0)'));
  for (let j = 0; j < n; j++) {
    lines.push(set('s', `(i64.sub (i64.sub ${load('a', j)} ${load('b', j)}) ${get('c')})`), set(`d${j}`, low(get('s'))), set('c', `(i64.shr_u ${get('s')} (i64.const 63))`));
  }
  // mask = p's limbs when it borrowed, else 0.
  lines.push(set('mask', `(i64.and (i64.sub (i64.const 0) ${get('c')}) ${MASK})`), set('c', '(i64.const 0)'));
  for (let j = 0; j < n; j++) {
    lines.push(set('s', add(get(`d${j}`), `(i64.and ${load('m', j)} ${get('mask')})`, get('c'))), `    (i64.store32 offset=${4 * j} (local.get $r) ${low(get('s'))})`, set('c', high(get('s'))));
  }
  return `${lines.join('\n')}\n  )`;
}

/**
 * dbl-2001-b (Explicit-Formulas Database) with alpha = 3X² + aZ⁴ for any a, computed as
 * 3(X − Z²)(X + Z²) when the i32 `minus3` is set: out = 2·(X, Y, Z) in Jacobian coordinates.
 * Arguments: out, p (points: X, Y, Z consecutive), m (modulus block), tmp (8 scratch elements),
 * a (the element a, read only when minus3 is 0). out may be p: p is not read after Z3 is written.
 * The caller handles Y = 0 (a point of order 2).
 */
function doubleFunction(n: number): string {
  const bits = 32 * n;
  const size = 4 * n;
  const operand = (name: string): string => {
    const coordinate = 'XYZ'.indexOf(name[0]!);
    if (name === 'a') return '(local.get $a)';
    if (name.startsWith('t')) return `(i32.add (local.get $tmp) (i32.const ${size * Number(name.slice(1))}))`;
    return `(i32.add (local.get $${name.endsWith('3') ? 'out' : 'p'}) (i32.const ${size * coordinate}))`;
  };
  const ops = (program: string) => program.trim().split('\n').map((line) => {
    const [op, r, a, b] = line.trim().split(/\s+/) as [string, string, string, string];
    return `    (call $${op}${bits} ${operand(r)} ${operand(a)} ${operand(b)} (local.get $m))`;
  }).join('\n');
  return `  (func $dbl${bits} (export "dbl${bits}") (param $out i32) (param $p i32) (param $m i32) (param $tmp i32) (param $a i32) (param $minus3 i32)
${ops(`
    mul t0 Z Z
    mul t1 Y Y
    mul t2 X t1`)}
    (if (local.get $minus3)
      (then
${ops(`
    sub t3 X t0
    add t4 X t0
    mul t3 t3 t4`)})
      (else
${ops('mul t3 X X')}))
${ops(`
    add t5 t3 t3
    add t3 t5 t3`)}
    (if (i32.eqz (local.get $minus3))
      (then
${ops(`
    mul t4 t0 t0
    mul t4 t4 a
    add t3 t3 t4`)}))
${ops(`
    add t5 Y Z
    mul t5 t5 t5
    sub t5 t5 t1
    sub Z3 t5 t0
    add t2 t2 t2
    add t2 t2 t2
    mul t6 t3 t3
    add t7 t2 t2
    sub X3 t6 t7
    sub t2 t2 X3
    mul t2 t3 t2
    mul t1 t1 t1
    add t1 t1 t1
    add t1 t1 t1
    add t1 t1 t1
    sub Y3 t2 t1`)}
  )`;
}
