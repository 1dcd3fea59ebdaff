// The sign-in page's script and stylesheet: bundled from source with esbuild the first time
// they are needed (so `npm ci && npm start` needs no build step), or read as `npm run build`
// wrote them beside the bundle (dist/login-assets/); named by content hash and served as
// immutable from this origin only.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
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
  /** The sign-in page's bundle. */
  script: Asset;
  /** Every other page's script: the language switch alone. */
  switcher: Asset;
  stylesheet: Asset;
  icon: Asset;
}

export const loginAssetsBase = '/assets/login';

/** A source file of this folder (under tsx: src/http/loginPage/). */
function here(name: string): string {
  const path = fileURLToPath(new URL(name, import.meta.url));
  if (!existsSync(path)) throw new TypeError(`the sign-in page source ${name} is missing beside ${fileURLToPath(import.meta.url)}`);
  return path;
}

/** Where `npm run build` puts the built assets: beside the bundle, which is where this module then runs. */
const prebuiltDir = fileURLToPath(new URL('./login-assets/', import.meta.url));
type Manifest = Record<keyof LoginAssets, Omit<Asset, 'body' | 'br' | 'gzip'>>;

/** Writes the assets and their compressed forms under `dir` (the build step). */
export function writeLoginAssets(dir: string, assets: LoginAssets = buildLoginAssets()): void {
  mkdirSync(dir, { recursive: true });
  const manifest = {} as Manifest;
  for (const name of names) {
    const { body, br, gzip, ...meta } = assets[name];
    const file = join(dir, basename(meta.path));
    writeFileSync(file, body);
    writeFileSync(`${file}.br`, br);
    writeFileSync(`${file}.gz`, gzip);
    manifest[name] = meta;
  }
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function readLoginAssets(dir: string): LoginAssets {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const read = (meta: Manifest[keyof Manifest]): Asset => {
    const file = join(dir, basename(meta.path));
    return { ...meta, body: readFileSync(file), br: readFileSync(`${file}.br`), gzip: readFileSync(`${file}.gz`) };
  };
  return { script: read(manifest.script), switcher: read(manifest.switcher), stylesheet: read(manifest.stylesheet), icon: read(manifest.icon) };
}

const common = { bundle: true, minify: true, write: false, legalComments: 'none', charset: 'utf8', logLevel: 'silent' } as const;
// Current evergreen browsers: BigInt, top-level await, WebCrypto's ECDSA, RSA and Ed25519.
const target = ['chrome111', 'firefox115', 'safari16.4'];

function bundle(entry: string, options: { format?: 'esm'; platform?: 'browser' }): Uint8Array {
  const output = buildSync({ ...common, ...options, entryPoints: [here(entry)], target }).outputFiles[0];
  if (output === undefined) throw new TypeError(`esbuild produced no output for ${entry}`);
  return output.contents;
}

// Each asset is built on first use: the sign-in bundle (the PKCS #12 and CMS code of src/pki)
// takes seconds, and an error or logout page needs only the small ones.
const builders: { [Name in keyof LoginAssets]: () => Asset } = {
  script: () => asset('page', 'js', 'text/javascript; charset=utf-8', bundle('./browser.ts', { format: 'esm', platform: 'browser' })),
  switcher: () => asset('switch', 'js', 'text/javascript; charset=utf-8', bundle('./pageScript.ts', { format: 'esm', platform: 'browser' })),
  stylesheet: () => asset('page', 'css', 'text/css; charset=utf-8', bundle('./page.css', {})),
  icon: () => asset('icon', 'svg', 'image/svg+xml', readFileSync(here('./icon.svg'))),
};

const names = Object.keys(builders) as Array<keyof LoginAssets>;

/** Bundles browser.ts, the other pages' pageScript.ts and page.css; icon.svg as it is. */
export function buildLoginAssets(): LoginAssets {
  return { script: builders.script(), switcher: builders.switcher(), stylesheet: builders.stylesheet(), icon: builders.icon() };
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

let assets: LoginAssets | undefined;

/** Read from the build output when there is one, else each built once per process when first asked for. */
export function loginAssets(): LoginAssets {
  assets ??= existsSync(join(prebuiltDir, 'manifest.json')) ? readLoginAssets(prebuiltDir) : builtOnUse();
  return assets;
}

function builtOnUse(): LoginAssets {
  const built: Partial<LoginAssets> = {};
  const lazy = {} as LoginAssets;
  for (const name of names) Object.defineProperty(lazy, name, { enumerable: true, get: () => (built[name] ??= builders[name]()) });
  return lazy;
}

/** GET /assets/login/<name>.<hash>.<ext>: a year in every cache, since the name changes with the content. */
export function loginAssetsRouter(): Router {
  const router = Router();
  router.get(`${loginAssetsBase}/:file`, (req, res, next) => {
    // The small assets first, so a page's stylesheet never waits for the sign-in bundle's build.
    const all = loginAssets();
    const name = (['icon', 'stylesheet', 'switcher', 'script'] as const).find((candidate) => all[candidate].path === `${loginAssetsBase}/${req.params.file}`);
    if (name === undefined) {
      next();
      return;
    }
    const found = all[name];
    const encoding = req.acceptsEncodings('br', 'gzip', 'identity');
    res.set('Cache-Control', 'public, max-age=31536000, immutable').set('Vary', 'Accept-Encoding').type(found.contentType);
    if (encoding === 'br' || encoding === 'gzip') res.set('Content-Encoding', encoding).send(found[encoding]);
    else res.send(found.body);
  });
  return router;
}
