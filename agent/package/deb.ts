// The Debian package of the agent: the single executable and pkcs11js's addon in
// /usr/lib/yagona-agent/, a user unit enabled for every user, and /etc/yagona-agent/agent.env
// naming the service's origin and the token module. Built with dpkg-deb alone, as root-owned
// files whatever user builds it.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addonFileName } from './bundle.ts';

export const debPackageName = 'yagona-agent';
/** Where the package puts the agent; the unit and prerm name it. */
export const installedExecutable = '/usr/lib/yagona-agent/yagona-agent';
/** Debian's and Ubuntu's OpenSC module: the package's default token module. */
export const defaultModule = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';

export interface DebOptions {
  executable: string;
  addon: string;
  version: string;
  /** The sign-in service's origin, the one the agent serves. */
  origin: string;
  maintainer: string;
  /** Folder the package is built in (emptied by the caller). */
  workDir: string;
  out: string;
}

const here = (name: string) => new URL(name, import.meta.url).pathname;

export function debFileName(version: string): string {
  return `${debPackageName}_${version}_amd64.deb`;
}

export function makeDeb(options: DebOptions): void {
  const root = join(options.workDir, 'root');
  const put = (path: string, from: string, mode: number) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    copyFileSync(from, join(root, path));
    chmodSync(join(root, path), mode);
  };
  const write = (path: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  };
  put(installedExecutable, options.executable, 0o755);
  put(join(dirname(installedExecutable), addonFileName), options.addon, 0o644);
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/yagona-agent/yagona-agent', join(root, 'usr/bin/yagona-agent'));
  put('usr/lib/systemd/user/yagona-agent.service', here('./yagona-agent.service'), 0o644);
  write('etc/yagona-agent/agent.env', agentEnv(options.origin));
  write('usr/share/doc/yagona-agent/copyright', copyright());
  cpSync(here('./debian'), join(root, 'DEBIAN'), { recursive: true });
  for (const script of ['postinst', 'prerm', 'postrm']) chmodSync(join(root, 'DEBIAN', script), 0o755);
  write('DEBIAN/conffiles', '/etc/yagona-agent/agent.env\n');
  write('DEBIAN/control', control(options, installedSizeKiB(root)));
  // xz at level 1: a quarter of the executable's size in a tenth of level 6's time, and every
  // dpkg reads it (zstd needs dpkg 1.21.18).
  const result = spawnSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', root, options.out], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dpkg-deb: ${result.error?.message ?? result.stderr.trim()}`);
}

function agentEnv(origin: string): string {
  return `# Settings of the Yagona ID signing agent, read by its user unit at start; a user's own
# ~/.config/yagona-agent/agent.env, if there is one, overrides them.

# The sign-in service whose page may use the agent (comma list of origins).
YAGONA_AGENT_ORIGINS=${origin}

# The PKCS#11 module of your token or ID card. OpenSC's (Debian/Ubuntu package opensc) reads
# most ID cards, PIV cards and CardOS tokens; a vendor's token may need its own, e.g.
# /usr/lib/librtpkcs11ecp.so (Rutoken) or /usr/lib/libeTPkcs11.so (SafeNet eToken).
YAGONA_AGENT_MODULE=${defaultModule}
`;
}

function control(options: DebOptions, sizeKiB: number): string {
  return `Package: ${debPackageName}
Version: ${options.version}
Architecture: amd64
Maintainer: ${options.maintainer}
Installed-Size: ${sizeKiB}
Depends: libc6 (>= 2.28), libstdc++6 (>= 10), libgcc-s1
Recommends: opensc, pcscd
Section: utils
Priority: optional
Homepage: ${options.origin}
Description: Yagona ID signing agent for key tokens and ID cards
 Lets the Yagona ID sign-in page of ${options.origin} sign in with the key on a
 hardware token or ID card, through the token's PKCS#11 module. It runs for each
 user from login and listens on 127.0.0.1:47447 only, for that page's origin only.
 It carries its own Node.js runtime (a single executable application).
`;
}

function copyright(): string {
  return `The Yagona ID signing agent, with the Node.js runtime (MIT licence, https://github.com/nodejs/node/blob/main/LICENSE,
which also lists the licences of the libraries Node.js includes), pkcs11js (MIT), and the
JavaScript libraries bundled into it, whose licence notices end the bundle inside the executable.
`;
}

function installedSizeKiB(root: string): number {
  let bytes = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (dir === root && name === 'DEBIAN') continue;
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else bytes += stat.size;
    }
  };
  walk(root);
  return Math.ceil(bytes / 1024);
}
