// `npm test [paths…]`: prepares the machine (scripts/prepareMachine.ts: as root it installs and
// starts what is missing), then every *.test.ts under test/ (or under the given paths) through
// node's own test runner, which prints the closing pass/fail summary CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MachineNotReady, prepareMachine } from './prepareMachine.ts';

function findTests(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (name === 'node_modules' ? [] : findTests(join(path, name))))
    .filter((file) => file.endsWith('.test.ts'));
}

// Slowest first (the times of an earlier full run, test/fileTimes.json), so the long files do
// not start last and leave the other slots idle at the end; files it does not know go first.
function slowestFirst(files: string[]): string[] {
  const known = JSON.parse(readFileSync('test/fileTimes.json', 'utf8')) as Record<string, number>;
  const time = (file: string) => known[file] ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => time(b) - time(a));
}

const roots = process.argv.slice(2);
const files = slowestFirst((roots.length > 0 ? roots : ['test']).flatMap(findTests));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
try {
  await prepareMachine();
} catch (error) {
  if (!(error instanceof MachineNotReady)) throw error;
  console.error(error.message);
  // The whole suite never runs without what it needs; a few named files may (the tests that
  // need a missing thing fail on their own, saying what it is).
  if (roots.length === 0) process.exit(1);
  console.error('(running the named test files anyway)');
}
// Files at once: most of the suite's time is waiting (browsers, processes, servers), so more
// files than cores run side by side; TEST_CONCURRENCY=1 runs one file at a time.
const concurrency = Number(process.env.TEST_CONCURRENCY || 4);
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`TEST_CONCURRENCY must be a whole number of files, at least 1`);
// spec for people, TAP to a file for the closing counts, the slowest files on stderr.
const tapDir = mkdtempSync(join(tmpdir(), 'yagona-tap-'));
const tapFile = join(tapDir, 'report.tap');
const result = spawnSync(
  process.execPath,
  // A test that hangs fails after five minutes instead of holding the whole run (and CI) open;
  // the slowest test takes well under one. The files in this order (scripts/testRun.ts).
  ['--import', 'tsx', '--test-timeout=300000', fileURLToPath(new URL('./testRun.ts', import.meta.url)), String(concurrency), tapFile, ...files],
  // ENV_FILE empty: a developer's .env in the checkout must not configure the processes tests start.
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', ENV_FILE: '' } },
);
const tap = readFileSync(tapFile, 'utf8');
rmSync(tapDir, { recursive: true, force: true });
const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
// The plain closing line CI reads in any language.
console.log(`${count('pass')} passed, ${count('fail') + count('cancelled')} failed`);
process.exit(result.status ?? 1);
