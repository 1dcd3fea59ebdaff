// `admin sign-in --p12 FILE --password PW [--url URL]`: a full sign-in against a running
// service with a key file, the quickest way to try it.
import { loadConfig } from '../config.ts';
import { loadKeyFile, signIn, type SignInOutcome } from '../client/signIn.ts';
import { defineCommand, onRun, type RegisterCommand } from './command.ts';

interface Options {
  p12: string;
  password: string;
  url?: string;
}

export const registerSignIn: RegisterCommand = (program, io) => {
  const command = defineCommand(program, 'sign-in', 'sign in to a running service with a key file and print the session')
    .requiredOption('--p12 <file>', 'key file (.p12 / .pfx)')
    .requiredOption('--password <password>', 'password of the key file')
    .option('--url <url>', 'base URL of the service (default: ISSUER_URL, else http://localhost:8080)');
  onRun<Options>(command, io, async (options) => {
    const credential = await loadKeyFile(options.p12, options.password);
    // The service's own public URL unless told otherwise: the same environment as the service.
    const url = options.url ?? loadConfig().issuerUrl;
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
