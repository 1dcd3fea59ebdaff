// openapi.yaml describes every route the app serves, and lints clean with Redocly's rules.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { parse } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Routes declared in src/app.ts and src/http/*.ts, with the prefix each router is mounted at. */
function declaredRoutes(): string[] {
  const app = readFileSync(join(root, 'src/app.ts'), 'utf8');
  const prefixes = new Map<string, string>();
  for (const m of app.matchAll(/app\.use\('([^']+)',\s*(\w+)\(/g)) prefixes.set(m[2] as string, m[1] as string);
  const routes: string[] = [];
  for (const m of app.matchAll(/app\.(get|post|put|patch|delete)\('([^']+)'/g)) routes.push(`${m[1]} ${m[2]}`);
  const httpDir = join(root, 'src/http');
  for (const file of readdirSync(httpDir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(httpDir, file), 'utf8');
    const factory = /export function (\w+)\([^)]*\)[^{]*\{\s*const router = Router\(\)/.exec(text)?.[1];
    if (factory === undefined) continue;
    const prefix = prefixes.get(factory) ?? '';
    for (const m of text.matchAll(/router\.(get|post|put|patch|delete)\('([^']+)'/g)) routes.push(`${m[1]} ${prefix}${m[2]}`);
  }
  return routes.map((r) => r.replace(/:(\w+)/g, '{$1}')).sort();
}

test('every route the app serves is in openapi.yaml, and nothing else', () => {
  const doc = parse(readFileSync(join(root, 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, item]) => methods.filter((m) => m in item).map((m) => `${m} ${path}`))
    .sort();
  const declared = declaredRoutes();
  assert.ok(declared.length >= 9, `found only ${declared.length} routes: the scan is broken`);
  assert.deepEqual(declared, documented);
});

test('openapi.yaml lints clean', async () => {
  const config = await loadConfig({ configPath: join(root, 'redocly.yaml') });
  const problems = await lintFromString({ source: readFileSync(join(root, 'openapi.yaml'), 'utf8'), absoluteRef: join(root, 'openapi.yaml'), config });
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`), []);
});
