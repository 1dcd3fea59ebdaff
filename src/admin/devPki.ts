// `admin dev-pki [--force] [--dir certs/dev]`: the development PKI `npm start` makes on
// first start, made or remade on demand.
import { loadConfig, devPkiDir } from '../config.ts';
import { createDevPki, hasDevPki, type DevPki } from '../devPki.ts';
import { confirm, confirmOption, defineCommand, onRun, type RegisterCommand } from './command.ts';

interface Options {
  dir: string;
  force?: boolean;
  yes?: boolean;
}

export const registerDevPki: RegisterCommand = (program, io) => {
  const command = defineCommand(program, 'dev-pki', 'create the development PKI (root CA, citizen CA, demo citizens)')
    .option('--dir <dir>', 'folder to write it to', devPkiDir)
    .option('--force', 'recreate it even when complete (its key files then stop working)');
  onRun<Options>(confirmOption(command), io, async (options) => {
    if (options.force && hasDevPki(options.dir)) {
      await confirm(io, options, `Replace the development PKI in ${options.dir}? Its CAs and key files will be replaced.`);
    }
    const pki = await createDevPki(options.dir, { issuerUrl: loadConfig(io.env).issuerUrl, force: options.force ?? false });
    return { json: pki, text: describe(pki) };
  });
};

function describe(pki: DevPki): string {
  if (!pki.created) {
    return [
      `The development PKI in ${pki.dir} is complete; nothing changed (--force makes a new one).`,
      `Trust anchor: ${pki.rootCaFile}`,
      ...pki.citizens.map((citizen) => `  ${citizen.file}  (${citizen.name})`),
      'Their passwords were shown when it was made and are not stored.',
    ].join('\n');
  }
  return [
    `Development PKI created in ${pki.dir}.`,
    `Trust anchor: ${pki.rootCaFile}`,
    `Citizen CA:   ${pki.citizenCaFile}`,
    'Demo key files and their passwords (shown only now):',
    ...pki.citizens.map((citizen) => `  ${citizen.file}  password: ${citizen.password}  (${citizen.name})`),
    `Try: npm run admin -- sign-in --p12 ${pki.citizens[0]?.file ?? 'FILE'} --password PASSWORD`,
  ].join('\n');
}
