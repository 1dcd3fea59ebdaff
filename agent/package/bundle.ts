// The agent as one CommonJS file for Node's single-executable application (Node 20 runs only a
// CommonJS main script there, whose require() reaches built-in modules only). pkcs11js's native
// addon cannot be inside the executable: the bundle loads it from the executable's own folder,
// through a require() made for that folder (Node's SEA docs: module.createRequire).
import { build, type Plugin } from 'esbuild';

/** The addon's file name beside the executable. */
export const addonFileName = 'pkcs11.node';

const addonBesideExecutable: Plugin = {
  name: 'addon-beside-executable',
  setup(builder) {
    builder.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'addon' }));
    builder.onLoad({ filter: /.*/, namespace: 'addon' }, () => ({
      contents: `module.exports = require('node:module').createRequire(process.execPath)('./${addonFileName}');`,
      loader: 'js',
    }));
  },
};

export async function bundleAgent(entry: string, outFile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    plugins: [addonBesideExecutable],
    logLevel: 'warning',
  });
}
