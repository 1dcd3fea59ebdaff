// `admin clients add|list|remove`: agency apps allowed to use the OIDC endpoints (docs/api.md
// "Operator command line"). The secret is printed once; only its hash is kept.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OperatorInputError } from '../errors.ts';
import { authMethods, registerClient, type ClientRecord, type TokenEndpointAuthMethod } from '../oidc/clients.ts';
import { confirm, defineCommand, onRun, stateChanging, type RegisterCommand } from './command.ts';
import { withDatabase } from './environment.ts';

interface AddOptions {
  name: string;
  redirectUri: string[];
  postLogoutRedirectUri?: string[];
  backchannelLogoutUri?: string;
  auth?: string;
  jwks?: string;
  subjectType?: string;
  yes?: boolean;
  operator: string;
}

interface RemoveOptions {
  yes?: boolean;
  operator: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const registerClients: RegisterCommand = (program, io) => {
  const clients = program.command('clients').description('agency apps (OIDC clients): add, list, remove');

  const add = defineCommand(clients, 'add', 'register an agency app; prints its client_id and, once, its secret')
    .requiredOption('--name <name>', 'name shown to operators')
    .requiredOption('--redirect-uri <uri...>', 'exact redirect URI(s): https, or http on 127.0.0.1 / [::1]')
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return (repeatable)', collect)
    .option('--backchannel-logout-uri <uri>', 'where logout tokens are POSTed (OIDC Back-Channel Logout 1.0)')
    .option('--auth <method>', `token endpoint authentication: ${authMethods.join(' | ')}`, 'client_secret_basic')
    .option('--jwks <file>', 'JWK Set file with the public keys (private_key_jwt)')
    .option('--subject-type <type>', 'pairwise (default: a different sub per agency) or public');
  onRun<AddOptions>(stateChanging(add), io, async (options) => {
    const authMethod = options.auth as TokenEndpointAuthMethod;
    if (!authMethods.includes(authMethod)) throw new OperatorInputError(`--auth must be one of ${authMethods.join(', ')}`);
    if (options.subjectType !== undefined && options.subjectType !== 'pairwise' && options.subjectType !== 'public') {
      throw new OperatorInputError('--subject-type must be pairwise or public');
    }
    const jwks = options.jwks === undefined ? undefined : parseJson(await readFile(options.jwks, 'utf8'), options.jwks);
    await confirm(io, options, `Register the agency app "${options.name}"?`);
    return withDatabase(io, async (db) => {
      const { client, clientSecret } = await registerClient(db.clients, {
        name: options.name,
        redirectUris: options.redirectUri,
        postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
        authMethod,
        ...(options.backchannelLogoutUri === undefined ? {} : { backchannelLogoutUri: options.backchannelLogoutUri }),
        ...(jwks === undefined ? {} : { jwks }),
        ...(options.subjectType === undefined ? {} : { subjectType: options.subjectType as 'pairwise' | 'public' }),
      }, new Date());
      await db.audit.append({ at: new Date(), type: 'client_added', outcome: 'success', actor: options.operator, details: { clientId: client.clientId, name: client.name } });
      return {
        json: { ...view(client), ...(clientSecret === undefined ? {} : { client_secret: clientSecret }) },
        text: [
          `Registered "${client.name}".`,
          `  client_id:     ${client.clientId}`,
          ...(clientSecret === undefined ? [] : [`  client_secret: ${clientSecret}   (shown only now; store it in the agency app's secrets)`]),
          `  auth method:   ${client.authMethod}`,
          ...client.redirectUris.map((uri) => `  redirect_uri:  ${uri}`),
        ].join('\n'),
      };
    });
  });

  onRun(defineCommand(clients, 'list', 'list the registered agency apps'), io, () => withDatabase(io, async (db) => {
    const list = await db.clients.list();
    return {
      json: list.map(view),
      text: list.length === 0
        ? 'No agency apps are registered (npm run admin -- clients add --help).'
        : list.map((c) => `${c.clientId}  ${c.name}  (${c.authMethod}, ${c.subjectType})\n${c.redirectUris.map((u) => `    ${u}`).join('\n')}`).join('\n'),
    };
  }));

  const remove = defineCommand(clients, 'remove', 'remove an agency app; its refresh tokens stop working').argument('<client_id>');
  onRun<RemoveOptions>(stateChanging(remove), io, async (options, command: Command) => {
    const clientId = command.args[0] as string;
    return withDatabase(io, async (db) => {
      const client = await db.clients.find(clientId);
      if (client === undefined) throw new OperatorInputError(`no client ${clientId}`);
      await confirm(io, options, `Remove the agency app "${client.name}" (${clientId})?`);
      await db.clients.remove(clientId);
      await db.audit.append({ at: new Date(), type: 'client_removed', outcome: 'success', actor: options.operator, details: { clientId } });
      return { json: { removed: clientId }, text: `Removed ${clientId} ("${client.name}").` };
    });
  });
};

/** Registration metadata in RFC 7591 §2 names; never the secret hash or the pairwise salt. */
function view(client: ClientRecord) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    ...(client.backchannelLogoutUri === null ? {} : { backchannel_logout_uri: client.backchannelLogoutUri }),
    token_endpoint_auth_method: client.authMethod,
    subject_type: client.subjectType,
    created_at: client.createdAt.toISOString(),
  };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OperatorInputError(`${file} is not JSON`);
  }
}
