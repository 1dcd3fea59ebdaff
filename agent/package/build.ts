// `npm run agent:package -- [--origin URL] [--out DIR] [--target T] [--node FILE] [--addon FILE]`:
// the signing agent as a citizen installs it, with its own Node runtime — no npm, no Node.
//
//   linux-x64 (default): dist/agent/yagona-agent_<version>_amd64.deb, from the running Node
//     and the pkcs11js addon `npm ci` built; what the service offers for download.
//   windows-x64, macos-x64, macos-arm64: the single executable and the addon beside it, in a
//     folder. Elsewhere than on that system, --node is its Node binary of this Node's version
//     and --addon the pkcs11js addon built there (node-gyp cannot cross-compile it). macOS then
//     needs `codesign --sign -` on a Mac. Prepared, not built in CI (README "Installing the agent").
//
// One JSON line on stdout names what was made.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, readEnvironment } from '../../src/config.ts';
import { originOf } from '../../src/login/originBinding.ts';
import { agentVersion } from '../../src/token/agentRelease.ts';
import { addonFileName, bundleAgent } from './bundle.ts';
import { debFileName, makeDeb } from './deb.ts';
import { makeSingleExecutable, type SeaPlatform } from './sea.ts';

const root = new URL('../../', import.meta.url).pathname;
const targets: Record<string, { platform: SeaPlatform; arch: string; executable: string }> = {
  'linux-x64': { platform: 'linux', arch: 'x64', executable: 'yagona-agent' },
  'windows-x64': { platform: 'win32', arch: 'x64', executable: 'yagona-agent.exe' },
  'macos-x64': { platform: 'darwin', arch: 'x64', executable: 'yagona-agent' },
  'macos-arm64': { platform: 'darwin', arch: 'arm64', executable: 'yagona-agent' },
};

async function main(): Promise<void> {
  const env = readEnvironment();
  const program = new Command('agent:package')
    .description('Package the Yagona ID signing agent with its own Node runtime')
    .option('--origin <url>', 'the sign-in service the agent serves (default: ISSUER_URL, else http://localhost:8080)')
    .option('--out <dir>', 'output folder', join(root, 'dist/agent'))
    .addOption(new Option('--target <target>', 'what to make').choices(Object.keys(targets)).default('linux-x64'))
    .option('--node <file>', "the target's Node binary (default: this Node, for linux-x64)")
    .option('--addon <file>', "the target's pkcs11js addon (default: the one npm ci built, for linux-x64)")
    .option('--maintainer <text>', 'the .deb Maintainer field')
    .parse();
  const options = program.opts<{ origin?: string; out: string; target: string; node?: string; addon?: string; maintainer?: string }>();
  const target = targets[options.target] as (typeof targets)[string];
  // On the target's own system the running Node and the addon npm ci built are the defaults.
  const here = target.platform === process.platform && target.arch === process.arch;
  if (!here && (options.node === undefined || options.addon === undefined)) {
    throw new Error(`--target ${options.target} needs --node and --addon of that platform (README "Installing the agent")`);
  }
  const origin = originOf(options.origin ?? env.ISSUER_URL ?? 'http://localhost:8080');
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'yagona-agent-package-'));
  try {
    const bundle = join(work, 'agent.cjs');
    await bundleAgent(join(root, 'agent/main.ts'), bundle);
    const executable = join(work, target.executable);
    await makeSingleExecutable({ bundle, node: options.node ?? process.execPath, platform: target.platform, out: executable, workDir: work });
    const addon = options.addon ?? join(root, 'node_modules/pkcs11js/build/Release', addonFileName);
    if (options.target === 'linux-x64') {
      const file = join(out, debFileName(agentVersion));
      const maintainer = options.maintainer ?? `Yagona ID <noreply@${new URL(origin).hostname}>`;
      makeDeb({ executable, addon, version: agentVersion, origin, maintainer, workDir: join(work, 'deb'), out: file });
      console.log(JSON.stringify({ target: options.target, file, bytes: statSync(file).size, sha256: sha256(file), version: agentVersion, origin }));
    } else {
      const folder = join(out, `yagona-agent-${agentVersion}-${options.target}`);
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(folder);
      copyFileSync(executable, join(folder, target.executable));
      copyFileSync(addon, join(folder, addonFileName));
      console.log(JSON.stringify({ target: options.target, folder, version: agentVersion, origin, next: target.platform === 'darwin' ? 'codesign --sign - on a Mac' : undefined }));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

main().catch((error: unknown) => {
  console.error(`agent:package: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
