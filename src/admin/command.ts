// What every operator command shares (docs/api.md "Operator command line"): `--json` for one JSON
// document on stdout, one clear line on stderr for a failure, a terminal confirmation
// that `--yes` answers for state-changing commands, and `--operator` for the audit log.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Environment } from '../config.ts';
import { isServiceError } from '../errors.ts';
import { ProblemError } from '../client/signIn.ts';

export interface AdminIo {
  out(text: string): void;
  err(text: string): void;
  /** True when a person can answer a question: stdin and stderr are terminals. */
  interactive: boolean;
  ask(question: string): Promise<string>;
  /**
   * The variables the commands configure themselves from, as the service would (config.ts).
   * Absent: the process's own over its env file. A caller that runs commands in process (the
   * tests) names them here, so one process can act as operators of several deployments.
   */
  env?: Environment;
}

/** What a command returns: `json` for --json, `text` for people. */
export interface CommandResult {
  json: unknown;
  text: string;
}

/** Adds one command to the program; `src/admin/commands.ts` lists them all. */
export type RegisterCommand = (program: Command, io: AdminIo) => void;

export function processIo(): AdminIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    async ask(question) {
      // The question goes to stderr so stdout stays one JSON document under --json.
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** A subcommand with `--json`. */
export function defineCommand(program: Command, name: string, description: string): Command {
  return program.command(name).description(description).option('--json', 'print one JSON document on stdout');
}

/** `--yes`, for commands that ask before changing state. */
export function confirmOption(command: Command): Command {
  return command.option('--yes', 'answer yes to the confirmation (required without a terminal)');
}

/** `--yes` and `--operator`, for commands that change state and write an audit event. */
export function stateChanging(command: Command): Command {
  return confirmOption(command).option('--operator <name>', 'who is acting, for the audit log (default: the login name)', loginName());
}

/** Runs `handler` with the parsed options and prints its result as text or JSON. */
export function onRun<Options>(
  command: Command,
  io: AdminIo,
  handler: (options: Options, command: Command) => Promise<CommandResult>,
): Command {
  return command.action(async (...args: unknown[]) => {
    const self = args.at(-1) as Command;
    const options = self.opts<Options & { json?: boolean }>();
    const result = await handler(options, self);
    io.out(options.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.text}\n`);
  });
}

/**
 * Asks on the terminal before a change; `--yes` answers it. Without a terminal and without
 * `--yes` it refuses, so a script never changes state by accident.
 */
export async function confirm(io: AdminIo, options: { yes?: boolean }, question: string): Promise<void> {
  if (options.yes) return;
  if (!io.interactive) throw new Error(`${question} Refusing without a terminal: pass --yes to confirm`);
  const answer = await io.ask(`${question} [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new Error('cancelled: nothing was changed');
}

/** The one stderr line for a failure: `code: detail` for service errors, `error: message` otherwise. */
export function errorLine(error: unknown): string {
  const line = error instanceof ProblemError
    ? `${error.code}: ${error.detail}`
    : isServiceError(error)
      ? `${error.code}: ${error.message}`
      : `error: ${error instanceof Error ? error.message : String(error)}`;
  return line.replace(/\s*\n\s*/g, ' ');
}

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still says who it was.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
