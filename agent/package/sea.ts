// A Node single executable application (nodejs.org/api/single-executable-applications.html, as
// Node 20 has it): the preparation blob of the bundle, injected with postject into a copy of a
// Node 20 binary. The blob is made by the running Node, which must be the target's version;
// without code cache or snapshot it does not depend on the platform, so a Windows or macOS
// binary can be prepared here too.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// The fuse Node 20 looks for (its SEA docs); ":0" until a blob is injected.
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export type SeaPlatform = 'linux' | 'win32' | 'darwin';

export interface SeaOptions {
  /** The CommonJS bundle (bundle.ts). */
  bundle: string;
  /** A Node binary of the target platform, of the running Node's version. */
  node: string;
  platform: SeaPlatform;
  out: string;
  workDir: string;
}

interface Postject {
  inject(file: string, resource: string, data: Buffer, options: { sentinelFuse: string; machoSegmentName?: string }): Promise<void>;
}

export async function makeSingleExecutable(options: SeaOptions): Promise<void> {
  const binary = readFileSync(options.node);
  if (!binary.includes(`${seaFuse}:0`)) {
    throw new Error(`${options.node} cannot become a single executable: it lacks Node's SEA fuse (a build linking libnode, or one already injected); use an official Node 20 binary`);
  }
  const config = join(options.workDir, 'sea-config.json');
  const blob = join(options.workDir, 'sea-prep.blob');
  writeFileSync(config, JSON.stringify({
    main: options.bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false,
  }));
  run(process.execPath, ['--experimental-sea-config', config]);
  copyFileSync(options.node, options.out);
  // Linux's node carries its symbols (about a seventh of its size); the agent needs none.
  if (options.platform === 'linux') run('strip', ['--strip-all', options.out]);
  const postject = createRequire(import.meta.url)('postject') as Postject;
  await postject.inject(options.out, 'NODE_SEA_BLOB', readFileSync(blob), {
    sentinelFuse: seaFuse, ...(options.platform === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr.trim()}`);
}
