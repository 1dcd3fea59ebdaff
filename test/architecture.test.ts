// Each library stays in its room (STYLE.md): a pkijs type leaking into the login flow, or a
// knex call in a route, is caught here rather than in review.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const root = new URL('..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

function importsOf(file: string, options: { dynamic?: boolean } = {}): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    // Without dynamic imports: what loading the file loads (type-only imports are erased).
    .filter((m) => options.dynamic !== false || (m[1] !== undefined && !/^\s*(?:import|export)\s+type\b/.test(m[0].trimStart())))
    .map((m) => m[1] ?? m[2] ?? '');
}

/** The repository paths `file` imports (relative specifiers only), dynamic imports too unless told. */
function localImportsOf(file: string, options: { dynamic?: boolean } = {}): string[] {
  return importsOf(file, options)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(root, resolve(root, dirname(file), specifier)));
}

const rooms: Array<{ library: RegExp; allowed: RegExp; why: string }> = [
  { library: /^(pkijs|asn1js)$/, allowed: /^src\/pki\//, why: 'pkijs/asn1js fail open by default; only src/pki/ wraps them' },
  { library: /^ioredis$/, allowed: /^src\/stores\/redis\.ts$/, why: 'Redis is behind the EphemeralStore interface' },
  { library: /^(knex|pg|better-sqlite3)$/, allowed: /^src\/stores\/sql\//, why: 'SQL is behind the store interfaces' },
  { library: /^express$|^helmet$/, allowed: /^src\/(app\.ts|http\/)/, why: 'Express is wiring, kept in app.ts and http/' },
  { library: /^jsonc-parser$/, allowed: /^src\/http\/jsonBody\.ts$/, why: 'request bodies are read in one place' },
  { library: /^rate-limiter-flexible$/, allowed: /^src\/stores\/(redis|memory|rateLimits)\.ts$/, why: 'rate limits are counters in the stores, behind EphemeralStore.rateLimiter' },
  { library: /^@noble\/curves(\/|$)/, allowed: /^src\/pki\/algorithms\/gost\//, why: 'noble stays inside the GOST module, which exports bigint and Uint8Array only' },
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

test('src/pki is split by audience: every file sits in one of its rooms', () => {
  const rooms = /^src\/pki\/(asn1|x509|algorithms|path|signin|ocsp|issue|pkcs12|browser)\//;
  assert.deepEqual(sourceFiles(join(root, 'src/pki')).filter((file) => !rooms.test(file)), []);
});

test('the verifier never imports issuing, key-file or browser code', () => {
  const verifier = sourceFiles(join(root, 'src/pki')).filter((file) => /^src\/pki\/(asn1|x509|algorithms|path|signin|ocsp)\//.test(file));
  const offenders = verifier.flatMap((file) => localImportsOf(file)
    .filter((target) => /^src\/(pki\/(issue|pkcs12|browser)\/|devPki\.ts$)/.test(target))
    .map((target) => `${file} imports ${target}`));
  assert.deepEqual(offenders, []);
});

test('login never imports oidc: the sign-in serves the direct API and OIDC alike', () => {
  const offenders = sourceFiles(join(root, 'src/login')).flatMap((file) => localImportsOf(file)
    .filter((target) => target.startsWith('src/oidc/'))
    .map((target) => `${file} imports ${target}`));
  assert.deepEqual(offenders, []);
});

test('only the sessions room knows how sessions are stored', () => {
  const offenders = sourceFiles(join(root, 'src'))
    .filter((file) => !file.startsWith('src/sessions/'))
    .filter((file) => /['`]session:|cert-sessions:|serial-sessions:/.test(readFileSync(join(root, file), 'utf8')));
  assert.deepEqual(offenders, []);
});

test('a production start loads no issuing tooling: the dev PKI is imported only when used', () => {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const target of localImportsOf(file, { dynamic: false })) if (target.startsWith('src/')) walk(target);
  };
  walk('src/main.ts');
  assert.deepEqual([...seen].filter((file) => /^src\/(pki\/(issue|pkcs12|browser)\/|devPki\.ts$)/.test(file)), []);
});
