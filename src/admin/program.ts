// The `npm run admin -- <command>` program: exit 0 on success, 1 when a command fails
// (one line on stderr), 2 for a usage error (commander's own one-line message).
import { Command, CommanderError } from 'commander';
import { errorLine, processIo, type AdminIo } from './command.ts';
import { adminCommands } from './commands.ts';

export function createAdminProgram(io: AdminIo): Command {
  // Set before the commands are added: subcommands inherit exitOverride and output.
  const program = new Command('admin')
    .description('Yagona ID operator commands (see docs/api.md, "Operator command line")')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
  for (const register of adminCommands) register(program, io);
  return program;
}

/** Runs one command line (without the node and script arguments) and returns the exit code. */
export async function runAdmin(args: string[], io: AdminIo = processIo()): Promise<number> {
  try {
    await createAdminProgram(io).parseAsync(args, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its message (or the help text it was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.err(`${errorLine(error)}\n`);
    return 1;
  }
}
