// `npm run admin -- <command>`: the operator command line. Commands live in src/admin/.
import { runAdmin } from '../src/admin/program.ts';

process.exitCode = await runAdmin(process.argv.slice(2));
