// The demo agency app (examples/agency-app) registered on a development start, so the
// code flow works from a fresh clone. Its secret goes to a git-ignored file the demo reads;
// it is never printed or committed.
//
// Several dev instances may share one database (a second PORT in the same checkout, or
// checkouts pointed at one PostgreSQL). Only the settings file holds the secret, so a start
// reuses the registration when its file proves it (the secret matches) and otherwise changes
// nothing: re-registering would hand out a new secret and silently break the demo of the
// instance that holds the old one. Each outcome comes with a sentence saying what was done.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ClientStore } from '../stores/types.ts';
import { registerClient, secretMatches, type ClientRecord } from './clients.ts';

export const demoAgencyClientId = 'demo-agency';
export const demoAgencyFile = 'data/demo-agency.json';
export const demoAgencyUrl = 'http://127.0.0.1:3000';

export interface DemoAgencySettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where the agency app listens; its callback and logout URIs hang off it. */
  appUrl: string;
}

export type DemoAgencyOutcome =
  /** Not registered yet: registered now, settings written. */
  | { kind: 'registered'; settings: DemoAgencySettings }
  /** Registered, and the file matches it and names this instance. */
  | { kind: 'reused'; settings: DemoAgencySettings }
  /** Registered and the file matches, but it names another instance sharing the database: both left as they are. */
  | { kind: 'reused-elsewhere'; settings: DemoAgencySettings }
  /** Registered, but no file here can use the registration (none, or another secret): nothing changed. */
  | { kind: 'left-alone'; file: 'missing' | 'differs' };

export interface DemoAgencyOptions {
  issuer: string;
  file?: string;
  appUrl?: string;
  at: Date;
}

/** Registers the demo app, or reuses its registration, or leaves it alone; never replaces one. */
export async function ensureDemoAgency(clients: ClientStore, options: DemoAgencyOptions): Promise<DemoAgencyOutcome> {
  const file = options.file ?? demoAgencyFile;
  const appUrl = options.appUrl ?? demoAgencyUrl;
  const existing = await clients.find(demoAgencyClientId);
  if (existing !== undefined) return outcomeFor(existing, readSettings(file), options.issuer, appUrl, options.at);
  let clientSecret: string;
  try {
    ({ clientSecret } = await registerClient(clients, {
      clientId: demoAgencyClientId,
      name: 'Demo agency app (examples/agency-app)',
      redirectUris: [`${appUrl}/callback`],
      postLogoutRedirectUris: [`${appUrl}/`],
      backchannelLogoutUri: `${appUrl}/backchannel-logout`,
      authMethod: 'client_secret_basic',
    }, options.at) as { clientSecret: string });
  } catch (error) {
    // Two starts at once: the other one registered between our look-up and our insert.
    const registered = await clients.find(demoAgencyClientId);
    if (registered === undefined) throw error;
    return outcomeFor(registered, readSettings(file), options.issuer, appUrl, options.at);
  }
  const settings: DemoAgencySettings = { issuer: options.issuer, clientId: demoAgencyClientId, clientSecret, appUrl };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  return { kind: 'registered', settings };
}

/** `saved`: the file's JSON, undefined without a file. It matches when its secret is the registration's, for this app URL. */
function outcomeFor(client: ClientRecord, saved: unknown, issuer: string, appUrl: string, at: Date): DemoAgencyOutcome {
  if (saved === undefined) return { kind: 'left-alone', file: 'missing' };
  const matches = isSettings(saved) && saved.clientId === client.clientId && secretMatches(client, saved.clientSecret, at)
    && saved.appUrl === appUrl && client.redirectUris.includes(`${appUrl}/callback`);
  if (!matches) return { kind: 'left-alone', file: 'differs' };
  return saved.issuer === issuer ? { kind: 'reused', settings: saved } : { kind: 'reused-elsewhere', settings: saved };
}

/** What a start says about the demo app: one sentence naming what it did or did not do, and what to do. */
export function describeDemoAgency(outcome: DemoAgencyOutcome, issuer: string, file = demoAgencyFile): { level: 'info' | 'warn'; message: string } {
  const afresh = `\`npm run admin -- clients remove ${demoAgencyClientId}\` and start again to register it afresh (the demo of whoever holds the current secret then stops working)`;
  switch (outcome.kind) {
    case 'registered':
      return { level: 'info', message: `registered the demo agency app (npm run demo:agency); its settings are in ${file}` };
    case 'reused':
      return { level: 'info', message: `the demo agency app is registered and ${file} matches: reusing it (npm run demo:agency)` };
    case 'reused-elsewhere':
      return {
        level: 'warn',
        message: `the demo agency app is registered and ${file} matches, but names another instance (${outcome.settings.issuer}) sharing this database: `
          + `left both as they are. \`ISSUER_URL=${issuer} npm run demo:agency\` runs the demo against this instance; `
          + `set "issuer" in ${file} to make it the default`,
      };
    case 'left-alone':
      return {
        level: 'warn',
        message: `${demoAgencyClientId} is registered in this database already, and ${outcome.file === 'missing' ? `there is no ${file} here` : `${file} does not match that registration`} `
          + `(another instance sharing the database registered it, or the file was deleted or edited): left the registration alone, so that instance's demo keeps working; `
          + `npm run demo:agency will not work with this one. To use it here: copy ${file} from the instance that registered it, or ${afresh}`,
      };
  }
}

function isSettings(value: unknown): value is DemoAgencySettings {
  const fields = value as Partial<Record<keyof DemoAgencySettings, unknown>> | null;
  return typeof fields === 'object' && fields !== null
    && (['issuer', 'clientId', 'clientSecret', 'appUrl'] as const).every((name) => typeof fields[name] === 'string');
}

/** The file's JSON (null when it does not parse), or undefined when there is no file. */
function readSettings(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}
