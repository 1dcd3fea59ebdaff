// The operator command line, two ways. In process (`runAdmin`): the very program
// `npm run admin` runs (src/admin/program.ts), given its arguments, the environment a
// deployment would give it and a terminal or none — for every test about what a command does.
// As a process (`runAdminProcess`): `node --import tsx scripts/admin.ts` — for the few tests
// about the process itself (exit status, the one stderr line, what it reads at start). A
// process costs seconds of TypeScript loading on a busy machine; a call in process, none.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AdminIo } from '../../src/admin/command.ts';
import { runAdmin as runAdminProgram } from '../../src/admin/program.ts';

const root = new URL('../..', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');

export interface AdminRun {
  /** The exit status the process would have: 0, 1 for a failed command, 2 for a usage error. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcessRun extends AdminRun {
  /** The questions asked on the terminal, in order. */
  questions: string[];
}

export interface InProcessOptions {
  /** A person at a terminal who answers every question with this; absent: no terminal. */
  answer?: string;
}

/**
 * Runs one command line in this process with exactly `env` as its environment (no env file,
 * nothing inherited from the test process), as `ENV_FILE= env -i … npm run admin` would.
 */
export async function runAdmin(args: readonly string[], env: Record<string, string> = {}, options: InProcessOptions = {}): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const questions: string[] = [];
  const io: AdminIo = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    interactive: options.answer !== undefined,
    ask: async (question) => {
      questions.push(question);
      return options.answer ?? '';
    },
    env: { ...env },
  };
  const code = await runAdminProgram([...args], io);
  return { code, stdout, stderr, questions };
}

export interface ProcessOptions {
  /** Working directory (default: the repository). */
  cwd?: string;
}

/**
 * `npm run admin -- …` as an operator runs it: its own process, with PATH and HOME, no env
 * file (ENV_FILE empty) and `env`.
 */
export function runAdminProcess(args: readonly string[], env: Record<string, string> = {}, options: ProcessOptions = {}): Promise<AdminRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', tsx, join(root, 'scripts/admin.ts'), ...args], {
      cwd: options.cwd ?? root,
      env: processEnv(env),
      maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const processEnv = (env: Record<string, string>): Record<string, string> =>
  ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: '', LOG_LEVEL: 'warn', ...env });

const shellQuote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * `npm run admin -- …` at a terminal: its own process on a pseudo-terminal (util-linux
 * `script`), `typed` sent as the person's keystrokes. The terminal merges stdout and stderr and
 * echoes what was typed, so the result is one `output`.
 */
export function runAdminAtTerminal(args: readonly string[], env: Record<string, string>, typed: string): Promise<{ code: number; output: string }> {
  const command = [process.execPath, '--import', tsx, join(root, 'scripts/admin.ts'), ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    // -e: script exits with the command's status; -q: no "Script started" lines.
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: root, env: processEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, output: output.replaceAll('\r\n', '\n') }));
    // The terminal keeps the keystrokes until the program reads them.
    child.stdin.end(typed);
  });
}

/** A refused command as the operator sees it: exit `code`, nothing on stdout, one stderr line matching `line`. */
export function assertOneLineFailure(run: AdminRun, line: RegExp, code = 1): void {
  assert.equal(run.code, code, `exit status; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^[^\n]+\n$/, `exactly one line on stderr: ${JSON.stringify(run.stderr)}`);
  assert.match(run.stderr.trimEnd(), line);
}
