// The demo agency app (examples/agency-app) registered on a development start, so the
// code flow works from a fresh clone. Its secret goes to a git-ignored file the demo reads;
// it is never printed or committed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ClientStore } from '../stores/types.ts';
import { registerClient } from './clients.ts';

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

/** Registers the demo app unless it is registered and its settings file matches; returns the settings. */
export async function ensureDemoAgency(clients: ClientStore, options: { issuer: string; file?: string; appUrl?: string; at: Date }): Promise<{ settings: DemoAgencySettings; created: boolean }> {
  const file = options.file ?? demoAgencyFile;
  const appUrl = options.appUrl ?? demoAgencyUrl;
  const existing = await clients.find(demoAgencyClientId);
  const saved = readSettings(file);
  if (existing !== undefined && saved !== undefined && saved.issuer === options.issuer && saved.appUrl === appUrl) {
    return { settings: saved, created: false };
  }
  // The secret is only in the file: without the file (or for another issuer) start over.
  if (existing !== undefined) await clients.remove(demoAgencyClientId);
  const { clientSecret } = await registerClient(clients, {
    clientId: demoAgencyClientId,
    name: 'Demo agency app (examples/agency-app)',
    redirectUris: [`${appUrl}/callback`],
    postLogoutRedirectUris: [`${appUrl}/`],
    backchannelLogoutUri: `${appUrl}/backchannel-logout`,
    authMethod: 'client_secret_basic',
  }, options.at);
  const settings: DemoAgencySettings = { issuer: options.issuer, clientId: demoAgencyClientId, clientSecret: clientSecret as string, appUrl };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  return { settings, created: true };
}

function readSettings(file: string): DemoAgencySettings | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoAgencySettings;
  } catch {
    return undefined;
  }
}
