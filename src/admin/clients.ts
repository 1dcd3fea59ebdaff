// `admin clients add|list|update|rotate-secret|remove`: agency apps allowed to use the OIDC
// endpoints (docs/api.md "Operator command line"). A secret is printed once; only its hash is
// kept. Updates and secret rotations keep the client_id and the pairwise salt, so no
// citizen's `sub` changes; every change is an audit event.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OperatorInputError } from '../errors.ts';
import {
  applicationTypes, authMethods, clientProfiles, defaultScopes, idTokenAlgorithms, maxSecretOverlapSeconds, registerClient, rotateClientSecret, supportedScopes, updateClient,
  type ClientRecord, type ClientSettings,
} from '../oidc/clients.ts';
import { confirm, defineCommand, onRun, stateChanging, type RegisterCommand } from './command.ts';
import { withDatabase } from './environment.ts';

interface KindOptions {
  auth?: string;
  jwks?: string;
  jwksUri?: string;
  profile?: string;
  idTokenAlg?: string;
  requirePar?: boolean;
  backchannelLogoutUri?: string;
  postLogoutRedirectUri?: string[];
  scope?: string[];
  yes?: boolean;
  operator: string;
}

interface AddOptions extends KindOptions {
  name: string;
  redirectUri: string[];
  type?: string;
  subjectType?: string;
}

interface UpdateOptions extends KindOptions {
  name?: string;
  redirectUri?: string[];
}

interface RotateOptions {
  overlap: string;
  yes?: boolean;
  operator: string;
}

interface RemoveOptions {
  yes?: boolean;
  operator: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The options `add` and `update` share: what a client is and how it proves itself. */
function kindOptions(command: Command): Command {
  return command
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return (repeatable; update: replaces the list, "none" empties it)', collect)
    .option('--backchannel-logout-uri <uri>', 'where logout tokens are POSTed (OIDC Back-Channel Logout 1.0; update: "none" removes it)')
    .option('--auth <method>', `token endpoint authentication: ${authMethods.join(' | ')} (default by type and profile)`)
    .option('--jwks <file>', 'JWK Set file with the client\'s public keys (private_key_jwt, request objects)')
    .option('--jwks-uri <url>', 'or where the client publishes that JWK Set (https)')
    .option('--profile <profile>', `${clientProfiles.join(' | ')}: fapi2 applies the FAPI 2.0 Security Profile (PAR, private_key_jwt, ES256/PS256, DPoP)`)
    .option('--id-token-alg <alg>', `id_token_signed_response_alg: ${idTokenAlgorithms.join(' | ')} (default ES256)`)
    .option('--scope <scope...>', `the scopes it may ask for, openid among them: ${supportedScopes.join(' ')} (default ${defaultScopes.join(' ')}; update: replaces the list)`)
    .option('--require-par', 'accept authorization requests only through PAR (always for fapi2)')
    .option('--no-require-par', 'accept plain authorization requests too (not for fapi2)');
}

export const registerClients: RegisterCommand = (program, io) => {
  const clients = program.command('clients').description('agency apps (OIDC clients): add, list, update, rotate-secret, remove');

  const add = kindOptions(defineCommand(clients, 'add', 'register an agency app; prints its client_id and, once, its secret')
    .requiredOption('--name <name>', 'name shown to operators and on the sign-in page')
    .requiredOption('--redirect-uri <uri...>', 'exact redirect URI(s): https, or http on 127.0.0.1 / [::1]; native apps also a reverse-domain scheme (uz.gov.agency.app:/cb)')
    .option('--type <type>', `${applicationTypes.join(' | ')}: native is an app on the citizen's device, a public client without a secret (RFC 8252)`, 'web')
    .option('--subject-type <type>', 'pairwise (default: a different sub per agency) or public'));
  onRun<AddOptions>(stateChanging(add), io, async (options) => {
    if (options.subjectType !== undefined && options.subjectType !== 'pairwise' && options.subjectType !== 'public') {
      throw new OperatorInputError('--subject-type must be pairwise or public');
    }
    const settings = await readKindOptions(options);
    await confirm(io, options, `Register the agency app "${options.name}"?`);
    return withDatabase(io, async (db) => {
      const { client, clientSecret } = await registerClient(db.clients, {
        ...settings,
        name: options.name,
        redirectUris: options.redirectUri,
        applicationType: oneOf(options.type ?? 'web', applicationTypes, '--type'),
        ...(options.subjectType === undefined ? {} : { subjectType: options.subjectType as ClientRecord['subjectType'] }),
      }, new Date());
      await db.audit.append({
        at: new Date(), type: 'client_added', outcome: 'success', actor: options.operator,
        details: { clientId: client.clientId, name: client.name, applicationType: client.applicationType, profile: client.profile, authMethod: client.authMethod },
      });
      return {
        json: { ...view(client), ...(clientSecret === undefined ? {} : { client_secret: clientSecret }) },
        text: [`Registered "${client.name}".`, ...describe(client, clientSecret)].join('\n'),
      };
    });
  });

  onRun(defineCommand(clients, 'list', 'list the registered agency apps'), io, () => withDatabase(io, async (db) => {
    const list = await db.clients.list();
    return {
      json: list.map(view),
      text: list.length === 0
        ? 'No agency apps are registered (npm run admin -- clients add --help).'
        : list.map((c) => `${c.clientId}  ${c.name}  (${c.applicationType}, ${c.profile}, ${c.authMethod}, ${c.subjectType})\n${c.redirectUris.map((u) => `    ${u}`).join('\n')}`).join('\n'),
    };
  }));

  const update = kindOptions(defineCommand(clients, 'update', 'change an agency app; its client_id, secret and citizens\' subjects stay')
    .argument('<client_id>')
    .option('--name <name>', 'name shown to operators and on the sign-in page')
    .option('--redirect-uri <uri...>', 'replaces the redirect URIs'));
  onRun<UpdateOptions>(stateChanging(update), io, async (options, command: Command) => {
    const clientId = command.args[0] as string;
    const changes: Partial<ClientSettings> = {
      ...(await readKindOptions(options)),
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.redirectUri === undefined ? {} : { redirectUris: options.redirectUri }),
    };
    if (Object.keys(changes).length === 0) throw new OperatorInputError('nothing to change: name an option (admin clients update --help)');
    return withDatabase(io, async (db) => {
      const current = await db.clients.find(clientId);
      if (current === undefined) throw new OperatorInputError(`no client ${clientId}`);
      await confirm(io, options, `Change the agency app "${current.name}" (${clientId})?`);
      const { client, clientSecret, changed } = await updateClient(db.clients, clientId, changes, new Date());
      await db.audit.append({
        at: new Date(), type: 'client_updated', outcome: 'success', actor: options.operator,
        details: { clientId, changed, secretIssued: clientSecret !== undefined },
      });
      return {
        json: { ...view(client), changed, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }) },
        text: [changed.length === 0 ? `"${client.name}" already had these settings; nothing changed.` : `Changed ${changed.join(', ')} of "${client.name}".`, ...describe(client, clientSecret)].join('\n'),
      };
    });
  });

  const rotate = defineCommand(clients, 'rotate-secret', 'issue a new client secret; the old one keeps working for the overlap, then never again')
    .argument('<client_id>')
    .option('--overlap <duration>', 'how long the previous secret still works: seconds, or with s, m, h, d (0: ends it now, for a leaked secret)', '24h');
  onRun<RotateOptions>(stateChanging(rotate), io, async (options, command: Command) => {
    const clientId = command.args[0] as string;
    const overlapSeconds = parseDuration(options.overlap);
    return withDatabase(io, async (db) => {
      const current = await db.clients.find(clientId);
      if (current === undefined) throw new OperatorInputError(`no client ${clientId}`);
      await confirm(io, options, `Issue a new secret for "${current.name}" (${clientId}), the old one ${overlapSeconds === 0 ? 'ending now' : `working for ${options.overlap} more`}?`);
      const at = new Date();
      const { client, clientSecret, previousValidUntil } = await rotateClientSecret(db.clients, clientId, overlapSeconds, at);
      await db.audit.append({
        at, type: 'client_secret_rotated', outcome: 'success', actor: options.operator,
        details: { clientId, previousValidUntil: previousValidUntil?.toISOString() ?? null },
      });
      return {
        json: { client_id: client.clientId, client_secret: clientSecret, previous_secret_valid_until: previousValidUntil?.toISOString() ?? null },
        text: [
          `New secret for "${client.name}" (${client.clientId}):`,
          `  client_secret: ${clientSecret}   (shown only now; store it in the agency app's secrets)`,
          previousValidUntil === null ? 'The previous secret no longer works.' : `The previous secret works until ${previousValidUntil.toISOString()}, then never again.`,
        ].join('\n'),
      };
    });
  });

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

/** What `add` and `update` share, as settings; only what was given. */
async function readKindOptions(options: KindOptions): Promise<Partial<ClientSettings>> {
  if (options.jwks !== undefined && options.jwksUri !== undefined) throw new OperatorInputError('give --jwks or --jwks-uri, not both');
  const none = (value: string | undefined) => value === 'none';
  return {
    ...(options.auth === undefined ? {} : { authMethod: oneOf(options.auth, authMethods, '--auth') }),
    ...(options.profile === undefined ? {} : { profile: oneOf(options.profile, clientProfiles, '--profile') }),
    ...(options.idTokenAlg === undefined ? {} : { idTokenSignedResponseAlg: oneOf(options.idTokenAlg, idTokenAlgorithms, '--id-token-alg') }),
    ...(options.requirePar === undefined ? {} : { requirePushedAuthorizationRequests: options.requirePar }),
    ...(options.jwks === undefined ? {} : { jwks: parseJson(await readFile(options.jwks, 'utf8'), options.jwks), jwksUri: null }),
    ...(options.jwksUri === undefined ? {} : { jwksUri: options.jwksUri, jwks: undefined }),
    ...(options.backchannelLogoutUri === undefined ? {} : { backchannelLogoutUri: none(options.backchannelLogoutUri) ? null : options.backchannelLogoutUri }),
    ...(options.postLogoutRedirectUri === undefined ? {} : { postLogoutRedirectUris: options.postLogoutRedirectUri.filter((uri) => !none(uri)) }),
    ...(options.scope === undefined ? {} : { scopes: options.scope.flatMap((scope) => scope.split(' ')).filter(Boolean) }),
  };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new OperatorInputError(`${option} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function parseDuration(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (match === null) throw new OperatorInputError(`--overlap is seconds, or a number with s, m, h or d (at most ${maxSecretOverlapSeconds / 86400}d): ${text}`);
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function describe(client: ClientRecord, clientSecret: string | undefined): string[] {
  return [
    `  client_id:     ${client.clientId}`,
    ...(clientSecret === undefined ? [] : [`  client_secret: ${clientSecret}   (shown only now; store it in the agency app's secrets)`]),
    `  type:          ${client.applicationType}${client.profile === 'fapi2' ? ', FAPI 2.0' : ''}`,
    `  auth method:   ${client.authMethod}`,
    ...client.redirectUris.map((uri) => `  redirect_uri:  ${uri}`),
    `  scope:         ${client.scopes.join(' ')}`,
  ];
}

/** Registration metadata in RFC 7591 §2 / OIDC Registration §2 names; never a secret hash or the pairwise salt. */
function view(client: ClientRecord) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    application_type: client.applicationType,
    profile: client.profile,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    ...(client.backchannelLogoutUri === null ? {} : { backchannel_logout_uri: client.backchannelLogoutUri }),
    token_endpoint_auth_method: client.authMethod,
    ...(client.jwksUri === null ? {} : { jwks_uri: client.jwksUri }),
    ...(client.jwks === null ? {} : { jwks: JSON.parse(client.jwks) as unknown }),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    subject_type: client.subjectType,
    scope: client.scopes.join(' '),
    ...(client.previousSecretExpiresAt === null ? {} : { previous_secret_valid_until: client.previousSecretExpiresAt.toISOString() }),
    created_at: client.createdAt.toISOString(),
    ...(client.updatedAt === null ? {} : { updated_at: client.updatedAt.toISOString() }),
  };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OperatorInputError(`${file} is not JSON`);
  }
}
