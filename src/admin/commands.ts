// Every operator command, in the order `admin --help` lists them. A new command is one
// module exporting a RegisterCommand, added here.
import { registerAudit } from './audit.ts';
import { registerClients } from './clients.ts';
import type { RegisterCommand } from './command.ts';
import { registerDevPki } from './devPki.ts';
import { registerImportCrl } from './importCrl.ts';
import { registerKeys } from './keys.ts';
import { registerRevocations } from './revocations.ts';
import { registerRevoke, registerUnrevoke } from './revoke.ts';
import { registerSignIn } from './signIn.ts';
import { registerTrust } from './trustCheck.ts';

export const adminCommands: readonly RegisterCommand[] = [
  registerDevPki, registerSignIn, registerClients,
  registerRevoke, registerUnrevoke, registerRevocations, registerImportCrl, registerKeys, registerAudit, registerTrust,
];
