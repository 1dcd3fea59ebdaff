// Each library stays in its room (STYLE.md): a pkijs type leaking into the login flow, or a
// knex call in a route, is caught here rather than in review.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = new URL('..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    .map((m) => m[1] ?? m[2] ?? '');
}

const rooms: Array<{ library: RegExp; allowed: RegExp; why: string }> = [
  { library: /^(pkijs|asn1js)$/, allowed: /^src\/pki\//, why: 'pkijs/asn1js fail open by default; only src/pki/ wraps them' },
  { library: /^ioredis$/, allowed: /^src\/stores\/redis\.ts$/, why: 'Redis is behind the EphemeralStore interface' },
  { library: /^(knex|pg|better-sqlite3)$/, allowed: /^src\/stores\/(sql[A-Za-z]*\.ts|migrations\/)/, why: 'SQL is behind the store interfaces' },
  { library: /^express(-rate-limit)?$|^helmet$/, allowed: /^src\/(app\.ts|http\/)/, why: 'Express is wiring, kept in app.ts and http/' },
  { library: /^pkcs11js$/, allowed: /^src\/token\//, why: 'PKCS#11 (native, per-call init/finalize) is behind src/token/pkcs11.ts' },
];

test('libraries are imported only in their rooms', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const specifier of importsOf(file)) {
      for (const room of rooms) {
        if (room.library.test(specifier) && !room.allowed.test(file)) violations.push(`${file} imports ${specifier}: ${room.why}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('only config.ts reads process.env in src/', () => {
  const readers = sourceFiles(join(root, 'src')).filter((file) => file !== 'src/config.ts' && /process\.env\b/.test(readFileSync(join(root, file), 'utf8')));
  assert.deepEqual(readers, []);
});

test('the domain does not depend on the HTTP layer', () => {
  const domain = sourceFiles(join(root, 'src')).filter((file) => /^src\/(login|oidc|revocation|pki|stores)\//.test(file));
  const offenders = domain.filter((file) => importsOf(file).some((s) => /\/http\/|\.\.\/app\.ts$/.test(s)));
  assert.deepEqual(offenders, []);
});
