// The sign-in page's script and stylesheet: bundled from source with esbuild the first time
// they are needed (so `npm ci && npm start` needs no build step), named by content hash and
// served as immutable from this origin only.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { Router } from 'express';

export interface Asset {
  /** The URL path, with the content hash in the name. */
  path: string;
  body: Buffer;
  contentType: string;
  /** Subresource Integrity value (W3C SRI §3.5). */
  integrity: string;
  /** The body compressed once at build time, for clients that accept it (about a fifth of the size). */
  br: Buffer;
  gzip: Buffer;
}

export interface LoginAssets {
  script: Asset;
  stylesheet: Asset;
  icon: Asset;
}

export const loginAssetsBase = '/assets/login';

/**
 * A file of this folder. Under tsx that is src/http/loginPage/; compiled (`npm run build`)
 * this module is in dist/http/loginPage/, which has browser.js but not the stylesheet or the
 * icon (tsc copies no CSS or SVG), so those are taken from the sources beside dist/.
 */
function here(name: string): string {
  const candidates = [new URL(name, import.meta.url), new URL(`../../../src/http/loginPage/${name}`, import.meta.url)];
  if (name.endsWith('.ts')) candidates.splice(1, 0, new URL(name.replace(/\.ts$/, '.js'), import.meta.url));
  const found = candidates.map((url) => fileURLToPath(url)).find((path) => existsSync(path));
  if (found === undefined) throw new TypeError(`the sign-in page source ${name} is missing beside ${fileURLToPath(import.meta.url)}`);
  return found;
}

/** Bundles browser.ts (with the PKCS #12 and CMS code of src/pki) and page.css; icon.svg as it is. */
export function buildLoginAssets(): LoginAssets {
  const common = { bundle: true, minify: true, write: false, legalComments: 'none', charset: 'utf8', logLevel: 'silent' } as const;
  const script = buildSync({
    ...common,
    entryPoints: [here('./browser.ts')],
    format: 'esm',
    platform: 'browser',
    // Current evergreen browsers: BigInt, top-level await, WebCrypto's ECDSA, RSA and Ed25519.
    target: ['chrome111', 'firefox115', 'safari16.4'],
  }).outputFiles[0];
  const stylesheet = buildSync({
    ...common,
    entryPoints: [here('./page.css')],
    target: ['chrome111', 'firefox115', 'safari16.4'],
  }).outputFiles[0];
  if (script === undefined || stylesheet === undefined) throw new TypeError('esbuild produced no output for the sign-in page');
  return {
    script: asset('page', 'js', 'text/javascript; charset=utf-8', script.contents),
    stylesheet: asset('page', 'css', 'text/css; charset=utf-8', stylesheet.contents),
    icon: asset('icon', 'svg', 'image/svg+xml', readFileSync(here('./icon.svg'))),
  };
}

function asset(name: string, extension: string, contentType: string, contents: Uint8Array): Asset {
  const body = Buffer.from(contents);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return {
    path: `${loginAssetsBase}/${name}.${hash}.${extension}`,
    body,
    contentType,
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    // Quality 9: within a few percent of 11 at a twentieth of the time, paid once per process.
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }),
    gzip: gzipSync(body, { level: 9 }),
  };
}

let built: LoginAssets | undefined;

/** Built once per process, on first use (about a quarter of a second). */
export function loginAssets(): LoginAssets {
  built ??= buildLoginAssets();
  return built;
}

/** GET /assets/login/<name>.<hash>.<ext>: a year in every cache, since the name changes with the content. */
export function loginAssetsRouter(): Router {
  const router = Router();
  router.get(`${loginAssetsBase}/:file`, (req, res, next) => {
    const { script, stylesheet, icon } = loginAssets();
    const found = [script, stylesheet, icon].find((item) => item.path === `${loginAssetsBase}/${req.params.file}`);
    if (found === undefined) {
      next();
      return;
    }
    const encoding = req.acceptsEncodings('br', 'gzip', 'identity');
    res.set('Cache-Control', 'public, max-age=31536000, immutable').set('Vary', 'Accept-Encoding').type(found.contentType);
    if (encoding === 'br' || encoding === 'gzip') res.set('Content-Encoding', encoding).send(found[encoding]);
    else res.send(found.body);
  });
  return router;
}
