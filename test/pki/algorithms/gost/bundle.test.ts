// The signing path and the hashes go into the sign-in page, whose CSP forbids eval: they must
// bundle for the browser with esbuild (no node: imports) into code without eval, new Function
// or WebAssembly — and the bundle must still sign.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { build } from 'esbuild';

const folder = fileURLToPath(new URL('../../../../src/pki/algorithms/gost/', import.meta.url));
const browserModules = ['sign.ts', 'reference.ts', 'gost94.ts', 'streebog.ts', 'curves.ts', 'encoding.ts'];

it('the signing path, the reference verifier and the hashes bundle for a CSP page without eval', async () => {
  const result = await build({
    stdin: { contents: browserModules.map((file) => `export * from './${file}';`).join('\n'), resolveDir: folder, loader: 'ts' },
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  assert.doesNotMatch(code, /\beval\s*\(|new Function\s*\(|\bFunction\s*\(|WebAssembly|from\s*["']node:/);
  const page = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as typeof import('../../../../src/pki/algorithms/gost/sign.ts')
    & typeof import('../../../../src/pki/algorithms/gost/reference.ts') & typeof import('../../../../src/pki/algorithms/gost/gost94.ts')
    & typeof import('../../../../src/pki/algorithms/gost/curves.ts');
  const { privateKey, publicKey } = page.gostKeyPair(page.cryptoProA);
  const digest = page.gostR341194(new TextEncoder().encode('challenge'));
  const signature = page.gostSign({ curve: page.cryptoProA, privateKey, digest });
  assert.equal(page.gostVerifyReference({ curve: page.cryptoProA, publicKey, digest, signature }), true);
});
