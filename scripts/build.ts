// `npm run build`: a dist/ that runs with plain node, without tsx or the sources beside it
// (docs/operations.md "Production runtime"). esbuild bundles each entry point with the project's
// own code and leaves the packages in node_modules (`npm ci --omit=dev` installs them); the
// sign-in page's script and stylesheet are built now, not on the first request.
//   dist/main.js   the service        node dist/main.js
//   dist/admin.js  the operator CLI   node dist/admin.js <command>
//   dist/agent.js  the signing agent  node dist/agent.js --module …
//   dist/crlWorker.js  the thread that reads CRLs off the event loop (started by the service)
// `--out DIR` writes elsewhere (the tests build into a scratch folder).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { writeLoginAssets } from '../src/http/loginPage/assets.ts';

const outIndex = process.argv.indexOf('--out');
const out = outIndex === -1 ? 'dist' : process.argv[outIndex + 1] ?? 'dist';
const started = performance.now();
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts', admin: 'scripts/admin.ts', agent: 'agent/main.ts', crlWorker: 'src/revocation/crlWorker.ts' },
  outdir: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // Shared code and the development PKI (imported only when used) in chunks beside the entry
  // points, one flat folder: modules that find files by import.meta.url find them in dist/.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  sourcemap: true,
  logLevel: 'warning',
});
writeLoginAssets(`${out}/login-assets`);
console.log(`${out}/ built in ${Math.round(performance.now() - started)} ms: node ${out}/main.js`);
