// `admin sign-in --p12 FILE --password PW [--url URL]`: a full sign-in against a running
// service with a key file, the quickest way to try it. `--pkcs11 MODULE --pin PIN [--slot N]`
// signs with a key token instead, through its PKCS#11 module (no agent needed).
import { loadConfig } from '../config.ts';
import { loadKeyFile, signIn, type SignInOutcome } from '../client/signIn.ts';
import { signInWithToken } from '../client/tokenSignIn.ts';
import { openTokenModule, TokenError } from '../token/pkcs11.ts';
import { defineCommand, onRun, type RegisterCommand } from './command.ts';

interface Options {
  p12?: string;
  password?: string;
  pkcs11?: string;
  pin?: string;
  slot?: string;
  keyId?: string;
  url?: string;
}

export const registerSignIn: RegisterCommand = (program, io) => {
  const command = defineCommand(program, 'sign-in', 'sign in to a running service with a key file and print the session')
    .option('--p12 <file>', 'key file (.p12 / .pfx)')
    .option('--password <password>', 'password of the key file')
    .option('--pkcs11 <module>', 'PKCS#11 module of a key token (.so / .dll), instead of --p12')
    .option('--pin <pin>', 'PIN of the key token')
    .option('--slot <id>', 'token slot id (as pkcs11-tool -L prints it), when several tokens are present')
    .option('--key-id <hex>', 'CKA_ID of the certificate, when the token holds several')
    .option('--url <url>', 'base URL of the service (default: ISSUER_URL, else http://localhost:8080)');
  onRun<Options>(command, io, async (options, self) => {
    // Commander cannot say "one of", so usage errors are raised as its own are (exit 2).
    const required = (flag: string) => self.error(`error: required option '${flag}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
    if ((options.p12 === undefined) === (options.pkcs11 === undefined)) {
      self.error('error: give one of --p12 <file> or --pkcs11 <module>', { code: 'commander.conflictingOption' });
    }
    // The service's own public URL unless told otherwise: the same environment as the service.
    const url = options.url ?? loadConfig(io.env).issuerUrl;
    if (options.pkcs11 !== undefined) {
      if (options.pin === undefined) required('--pin <pin>');
      const outcome = await signInWithToken({
        url, module: openTokenModule(options.pkcs11), pin: options.pin!,
        ...(options.slot === undefined ? {} : { slot: options.slot }),
        ...(options.keyId === undefined ? {} : { keyId: options.keyId }),
      }).catch((error: unknown) => {
        // The token's code leads the line, as the service's codes do (pin_incorrect: wrong PIN).
        throw error instanceof TokenError ? new Error(`${error.code}: ${error.message}`, { cause: error }) : error;
      });
      return { json: { url, ...outcome }, text: describe(url, outcome) };
    }
    if (options.password === undefined) required('--password <password>');
    const credential = await loadKeyFile(options.p12!, options.password!);
    const outcome = await signIn({ url, credential });
    return { json: { url, ...outcome }, text: describe(url, outcome) };
  });
};

// Identity fields in the order a person reads them; anything else the service adds follows.
const labels: Array<[string, string]> = [
  ['commonName', 'Name'],
  ['surname', 'Surname'],
  ['givenName', 'Given name'],
  ['pinfl', 'PINFL'],
  ['tin', 'TIN'],
  ['organization', 'Organization'],
  ['organizationalUnit', 'Unit'],
  ['title', 'Title'],
  ['locality', 'Locality'],
  ['country', 'Country'],
  ['email', 'Email'],
  ['sub', 'Subject id (sub)'],
];

function describe(url: string, { created, current }: SignInOutcome): string {
  const subject = (current.subject ?? created.subject) as Record<string, unknown>;
  const certificate = (subject.certificate ?? {}) as Record<string, unknown>;
  const row = (label: string, value: unknown): string[] =>
    value === undefined || value === null || value === '' ? [] : [`  ${`${label}:`.padEnd(18)} ${String(value)}`];
  return [
    `Signed in to ${url}`,
    ...labels.flatMap(([key, label]) => row(label, subject[key])),
    ...row('Certificate', certificate.subject),
    ...row('Issuer', certificate.issuer),
    ...row('Serial', certificate.serialNumber),
    ...row('Valid until', certificate.notAfter),
    ...row('SHA-256', certificate.sha256),
    ...row('Session', created.sessionId),
    ...row('Expires at', current.expiresAt),
    ...row('Methods (amr)', Array.isArray(current.amr) ? current.amr.join(', ') : current.amr),
    ...row('Level (acr)', current.acr),
    `  Access token (${created.tokenType}, ${created.expiresIn} s):`,
    `    ${created.accessToken}`,
  ].join('\n');
}
