// `npx tsx scripts/buildPage.ts [--out DIR] [--json]`: bundles the sign-in page the way the
// service does on first use (src/http/loginPage/assets.ts), reports the files and their
// sizes, and with --out writes them under DIR for inspection. The service never needs it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildLoginAssets } from '../src/http/loginPage/assets.ts';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex === -1 ? undefined : args[outIndex + 1];
if (outIndex !== -1 && out === undefined) {
  console.error('--out needs a directory');
  process.exit(2);
}
try {
  const started = performance.now();
  const { script, stylesheet, icon } = buildLoginAssets();
  const files = [script, stylesheet, icon].map((asset) => ({ path: asset.path, bytes: asset.body.length, integrity: asset.integrity }));
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    for (const asset of [script, stylesheet, icon]) writeFileSync(join(out, basename(asset.path)), asset.body);
  }
  const report = { files, milliseconds: Math.round(performance.now() - started) };
  if (args.includes('--json')) console.log(JSON.stringify(report));
  else for (const file of files) console.log(`${file.path}  ${(file.bytes / 1024).toFixed(1)} KiB`);
} catch (error) {
  console.error(`the sign-in page does not build: ${(error as Error).message}`);
  process.exit(1);
}
