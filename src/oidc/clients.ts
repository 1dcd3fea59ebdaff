// Agency apps (OIDC clients): registration rules, their lifecycle and client authentication
// material. Durable in SQL (docs/configuration.md, DATABASE_URL); secrets are stored only as a
// SHA-256 of 32 random bytes: a high-entropy secret needs no slow hash (RFC 6819 §5.1.4.1.3
// asks for hashing, password stretching protects low-entropy inputs only).
//
// Three kinds of client, one record:
//   web backend     a confidential client (secret or private_key_jwt), plain OIDC;
//   FAPI 2.0        a confidential backend under the FAPI 2.0 Security Profile: PAR,
//                   private_key_jwt, ES256/PS256, DPoP-bound tokens;
//   native app      a public client on the citizen's device (RFC 8252): no secret, PKCE,
//                   loopback or private-use-scheme redirects, DPoP-bound tokens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OperatorInputError } from '../errors.ts';
import type { ClientRecord, ClientStore, TokenEndpointAuthMethod } from '../stores/types.ts';

export type { ClientRecord, ClientStore, TokenEndpointAuthMethod };

export const authMethods: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];
/** The methods a client proves itself with at introspection, which public clients may not use (RFC 7662 §2.1). */
export const confidentialAuthMethods: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
export const applicationTypes: readonly ClientRecord['applicationType'][] = ['web', 'native'];
export const clientProfiles: readonly ClientRecord['profile'][] = ['oidc', 'fapi2'];
export const idTokenAlgorithms: readonly ClientRecord['idTokenSignedResponseAlg'][] = ['ES256', 'RS256', 'PS256'];
/** Every scope this service understands (OIDC Core §5.4 and ours); each client may ask for its own allow-list of them. */
export const supportedScopes = ['openid', 'profile', 'national_id', 'organization'] as const;
/** A client's allow-list unless the operator says otherwise: the national identifiers are asked for explicitly. */
export const defaultScopes: readonly string[] = ['openid', 'profile'];

/**
 * Algorithms accepted from clients — private_key_jwt assertions (RFC 7523 §3), request objects
 * (RFC 9101 §6.1), DPoP proofs (RFC 9449 §4.3) — an allow-list (RFC 8725 §3.1).
 */
export const clientAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'];
/** FAPI 2.0 Security Profile §5.4.1: PS256 or ES256 (EdDSA is allowed there too, not offered here). */
export const fapiAlgorithms = ['ES256', 'PS256'];
/** What this client's signatures may use; RS* never under FAPI 2.0 (PKCS #1 v1.5). */
export const algorithmsFor = (client: Pick<ClientRecord, 'profile'>): string[] => (client.profile === 'fapi2' ? fapiAlgorithms : clientAlgorithms);

/** What an operator sets about a client; everything else (id, salt, secrets, dates) the service keeps. */
export interface ClientSettings {
  name: string;
  applicationType: ClientRecord['applicationType'];
  profile: ClientRecord['profile'];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  authMethod: TokenEndpointAuthMethod;
  /** JWK Set (RFC 7517 §5) with the client's public keys: private_key_jwt and request objects. */
  jwks: unknown;
  /** Or where that set is published (OIDC Registration §2 `jwks_uri`); never both. */
  jwksUri: string | null;
  idTokenSignedResponseAlg: ClientRecord['idTokenSignedResponseAlg'];
  requirePushedAuthorizationRequests: boolean;
  dpopBoundAccessTokens: boolean;
  subjectType: ClientRecord['subjectType'];
  /** The scopes it may ask for (default openid profile). */
  scopes: string[];
}

export interface NewClient extends Partial<Omit<ClientSettings, 'name' | 'redirectUris'>> {
  name: string;
  redirectUris: string[];
  /** A fixed client_id (the dev demo app); random otherwise. */
  clientId?: string;
  /** A fixed secret (the dev demo app, which reads it from its own config); random otherwise. */
  clientSecret?: string;
}

export interface RegisteredClient {
  client: ClientRecord;
  /** Shown once; only its hash is stored. Undefined for private_key_jwt and public clients. */
  clientSecret: string | undefined;
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
const usesSecret = (method: TokenEndpointAuthMethod) => method === 'client_secret_basic' || method === 'client_secret_post';

/** Validates `input` and stores a new client; throws OperatorInputError naming the problem. */
export async function registerClient(store: ClientStore, input: NewClient, at: Date): Promise<RegisteredClient> {
  const applicationType = input.applicationType ?? 'web';
  const profile = input.profile ?? 'oidc';
  const settings = completeSettings({
    ...input,
    applicationType,
    profile,
    postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
    backchannelLogoutUri: input.backchannelLogoutUri ?? null,
    authMethod: input.authMethod ?? defaultAuthMethod(applicationType, profile),
    jwks: input.jwks,
    jwksUri: input.jwksUri ?? null,
    idTokenSignedResponseAlg: input.idTokenSignedResponseAlg ?? 'ES256',
    subjectType: input.subjectType ?? 'pairwise',
    scopes: input.scopes ?? [...defaultScopes],
  }, input);
  const clientSecret = usesSecret(settings.authMethod) ? input.clientSecret ?? newSecret() : undefined;
  if (clientSecret !== undefined && clientSecret.length < 32) throw new OperatorInputError('a client secret must be at least 32 characters');
  if (clientSecret === undefined && input.clientSecret !== undefined) throw new OperatorInputError(`a ${settings.authMethod} client has no secret`);
  const client: ClientRecord = {
    clientId: input.clientId ?? `agency-${randomBytes(12).toString('base64url')}`,
    ...toRecordFields(settings),
    secretHash: clientSecret === undefined ? null : hashSecret(clientSecret),
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    // The pairwise salt: sub = HMAC(salt, citizen) makes subjects unlinkable across agencies.
    // It never changes after this: an update or a new secret keeps every citizen's sub. A
    // public client shares the service's one salt: the same opaque sub everywhere public.
    subjectSalt: settings.subjectType === 'public' ? await store.publicSubjectSalt() : randomBytes(32).toString('base64url'),
    createdAt: at,
    updatedAt: null,
  };
  if (!/^[A-Za-z0-9._~-]{3,128}$/.test(client.clientId)) throw new OperatorInputError('a client_id is 3 to 128 unreserved characters');
  if (await store.find(client.clientId)) throw new OperatorInputError(`client ${client.clientId} exists already`);
  await store.insert(client);
  return { client, clientSecret };
}

export interface UpdatedClient extends RegisteredClient {
  /** The settings that changed, by name (for the audit event; never values of secrets). */
  changed: string[];
}

/**
 * Changes what an operator sets about a client and keeps what identifies it: the client_id
 * and the pairwise salt, so no citizen's `sub` changes. The whole result is checked with the
 * registration rules. A profile or type change brings that profile's requirements along
 * unless given; a switch to a secret method issues a secret (`clientSecret`), a switch away
 * drops the stored ones.
 */
export async function updateClient(store: ClientStore, clientId: string, changes: Partial<ClientSettings>, at: Date): Promise<UpdatedClient> {
  const current = await store.find(clientId);
  if (current === undefined) throw new OperatorInputError(`no client ${clientId}`);
  if (changes.subjectType !== undefined && changes.subjectType !== current.subjectType) {
    throw new OperatorInputError('the subject type is fixed at registration: changing it would change every citizen\'s sub');
  }
  const before = settingsOf(current);
  const applicationType = changes.applicationType ?? before.applicationType;
  const profile = changes.profile ?? before.profile;
  const kindChanged = applicationType !== before.applicationType || profile !== before.profile;
  const keysGiven = changes.jwks !== undefined || changes.jwksUri !== undefined;
  const merged = {
    ...before,
    ...(kindChanged ? { authMethod: defaultAuthMethod(applicationType, profile) } : {}),
    ...changes,
    // One source of keys: giving one replaces the other.
    ...(keysGiven ? { jwks: changes.jwks, jwksUri: changes.jwksUri ?? null } : {}),
  };
  const settings = completeSettings(merged, kindChanged ? changes : { ...before, ...changes });
  const issueSecret = usesSecret(settings.authMethod) && current.secretHash === null;
  const clientSecret = issueSecret ? newSecret() : undefined;
  const client: ClientRecord = {
    ...current,
    ...toRecordFields(settings),
    ...(usesSecret(settings.authMethod)
      ? (clientSecret === undefined ? {} : { secretHash: hashSecret(clientSecret) })
      : { secretHash: null, previousSecretHash: null, previousSecretExpiresAt: null }),
    updatedAt: at,
  };
  const changed = (Object.keys(client) as Array<keyof ClientRecord>)
    .filter((name) => name !== 'updatedAt' && JSON.stringify(client[name]) !== JSON.stringify(current[name]));
  await store.update(client);
  return { client, clientSecret, changed };
}

/** The longest overlap a rotated secret may have: long enough for a slow deployment, bounded. */
export const maxSecretOverlapSeconds = 30 * 24 * 3600;

/**
 * A new secret for the same client_id; the previous one keeps working for `overlapSeconds`
 * (0: at once gone, for a leaked secret) so the agency can deploy the new one first. A
 * rotation during an overlap ends the older secret: only the last two ever work.
 */
export async function rotateClientSecret(store: ClientStore, clientId: string, overlapSeconds: number, at: Date): Promise<RegisteredClient & { previousValidUntil: Date | null }> {
  const current = await store.find(clientId);
  if (current === undefined) throw new OperatorInputError(`no client ${clientId}`);
  if (!usesSecret(current.authMethod) || current.secretHash === null) throw new OperatorInputError(`${clientId} authenticates with ${current.authMethod} and has no secret`);
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > maxSecretOverlapSeconds) {
    throw new OperatorInputError(`the overlap is 0 to ${maxSecretOverlapSeconds} seconds`);
  }
  const clientSecret = newSecret();
  const previousValidUntil = overlapSeconds === 0 ? null : new Date(at.getTime() + overlapSeconds * 1000);
  const client: ClientRecord = {
    ...current,
    secretHash: hashSecret(clientSecret),
    previousSecretHash: previousValidUntil === null ? null : current.secretHash,
    previousSecretExpiresAt: previousValidUntil,
    updatedAt: at,
  };
  await store.update(client);
  return { client, clientSecret, previousValidUntil };
}

function defaultAuthMethod(applicationType: ClientRecord['applicationType'], profile: ClientRecord['profile']): TokenEndpointAuthMethod {
  if (applicationType === 'native') return 'none';
  return profile === 'fapi2' ? 'private_key_jwt' : 'client_secret_basic';
}

type SettingsDraft = Omit<ClientSettings, 'requirePushedAuthorizationRequests' | 'dpopBoundAccessTokens'>
  & Partial<Pick<ClientSettings, 'requirePushedAuthorizationRequests' | 'dpopBoundAccessTokens'>>;

/**
 * Fills what the profile and type decide when not given (`explicit` says what was), then
 * checks every rule. One function for registration and update, so no update can reach a
 * client registration would refuse.
 */
function completeSettings(draft: SettingsDraft, explicit: Partial<ClientSettings>): ClientSettings {
  const fapi = draft.profile === 'fapi2';
  const native = draft.applicationType === 'native';
  const settings: ClientSettings = {
    ...draft,
    name: draft.name.trim(),
    redirectUris: [...new Set(draft.redirectUris)],
    scopes: [...new Set(draft.scopes)],
    postLogoutRedirectUris: [...new Set(draft.postLogoutRedirectUris)],
    requirePushedAuthorizationRequests: explicit.requirePushedAuthorizationRequests ?? (fapi || (draft.requirePushedAuthorizationRequests ?? false)),
    dpopBoundAccessTokens: explicit.dpopBoundAccessTokens ?? (fapi || native || (draft.dpopBoundAccessTokens ?? false)),
  };
  assertSettings(settings);
  return settings;
}

function assertSettings(settings: ClientSettings): void {
  const { applicationType, profile, authMethod } = settings;
  if (!applicationTypes.includes(applicationType)) throw new OperatorInputError(`unknown application type: ${applicationType} (web or native)`);
  if (!clientProfiles.includes(profile)) throw new OperatorInputError(`unknown profile: ${profile} (oidc or fapi2)`);
  if (!authMethods.includes(authMethod)) throw new OperatorInputError(`unknown token endpoint auth method: ${authMethod}`);
  if (!idTokenAlgorithms.includes(settings.idTokenSignedResponseAlg)) {
    throw new OperatorInputError(`unknown ID token algorithm: ${settings.idTokenSignedResponseAlg} (${idTokenAlgorithms.join(', ')})`);
  }
  if (settings.subjectType !== 'pairwise' && settings.subjectType !== 'public') throw new OperatorInputError('the subject type is pairwise or public');
  if (settings.name === '' || settings.name.length > 200) throw new OperatorInputError('the name must be 1 to 200 characters');
  const unknownScope = settings.scopes.find((scope) => !(supportedScopes as readonly string[]).includes(scope));
  if (unknownScope !== undefined) throw new OperatorInputError(`unknown scope: ${unknownScope} (${supportedScopes.join(', ')})`);
  if (!settings.scopes.includes('openid')) throw new OperatorInputError('the scopes must include openid');

  if (settings.redirectUris.length === 0) throw new OperatorInputError('at least one redirect URI is required');
  for (const uri of settings.redirectUris) assertClientRedirectUri(uri, 'redirect URI', applicationType);
  for (const uri of settings.postLogoutRedirectUris) assertClientRedirectUri(uri, 'post-logout redirect URI', applicationType);
  if (settings.backchannelLogoutUri !== null) assertRedirectUri(settings.backchannelLogoutUri, 'back-channel logout URI');

  // RFC 8252 §8.4: an app on the citizen's device cannot keep a secret; a backend must prove itself.
  if (applicationType === 'native' && authMethod !== 'none') throw new OperatorInputError('a native app is a public client: its auth method is none');
  if (applicationType === 'web' && authMethod === 'none') throw new OperatorInputError('a web backend authenticates (client_secret_basic, client_secret_post or private_key_jwt)');
  if (applicationType === 'native' && !settings.dpopBoundAccessTokens) {
    throw new OperatorInputError('a native app\'s tokens are DPoP-bound (RFC 9449 §5: a public client\'s refresh tokens are bound to its key)');
  }
  if (profile === 'fapi2') {
    if (applicationType !== 'web') throw new OperatorInputError('FAPI 2.0 clients are confidential backends (FAPI 2.0 §5.3.2.1), not native apps');
    // FAPI 2.0 §5.3.2.1: private_key_jwt or mTLS; this service offers no mTLS.
    if (authMethod !== 'private_key_jwt') throw new OperatorInputError('a FAPI 2.0 client authenticates with private_key_jwt');
    if (!fapiAlgorithms.includes(settings.idTokenSignedResponseAlg)) throw new OperatorInputError('a FAPI 2.0 client\'s ID tokens are ES256 or PS256 (FAPI 2.0 §5.4.1)');
    if (!settings.requirePushedAuthorizationRequests) throw new OperatorInputError('a FAPI 2.0 client sends its requests by PAR (FAPI 2.0 §5.3.1.2)');
    if (!settings.dpopBoundAccessTokens) throw new OperatorInputError('a FAPI 2.0 client\'s tokens are sender-constrained with DPoP (FAPI 2.0 §5.3.1.1)');
  }

  if (settings.jwks !== undefined && settings.jwks !== null && settings.jwksUri !== null) throw new OperatorInputError('give the keys as a JWK Set or as jwks_uri, not both');
  if (settings.jwks !== undefined && settings.jwks !== null) settings.jwks = assertJwks(settings.jwks, profile);
  if (settings.jwksUri !== null) assertRedirectUri(settings.jwksUri, 'jwks_uri');
  const hasKeys = (settings.jwks !== undefined && settings.jwks !== null) || settings.jwksUri !== null;
  if (authMethod === 'private_key_jwt' && !hasKeys) throw new OperatorInputError('private_key_jwt needs --jwks FILE or --jwks-uri URL: the client\'s public keys');
  if (authMethod === 'none' && hasKeys) throw new OperatorInputError('a public client registers no keys (its DPoP key is its own, per request)');
}

function toRecordFields(settings: ClientSettings) {
  return {
    name: settings.name,
    applicationType: settings.applicationType,
    profile: settings.profile,
    redirectUris: settings.redirectUris,
    postLogoutRedirectUris: settings.postLogoutRedirectUris,
    backchannelLogoutUri: settings.backchannelLogoutUri,
    authMethod: settings.authMethod,
    jwks: settings.jwks === undefined || settings.jwks === null ? null : JSON.stringify(settings.jwks),
    jwksUri: settings.jwksUri,
    idTokenSignedResponseAlg: settings.idTokenSignedResponseAlg,
    requirePushedAuthorizationRequests: settings.requirePushedAuthorizationRequests,
    dpopBoundAccessTokens: settings.dpopBoundAccessTokens,
    subjectType: settings.subjectType,
    scopes: settings.scopes,
  } satisfies Partial<ClientRecord>;
}

function settingsOf(client: ClientRecord): ClientSettings {
  return {
    name: client.name,
    applicationType: client.applicationType,
    profile: client.profile,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    backchannelLogoutUri: client.backchannelLogoutUri,
    authMethod: client.authMethod,
    jwks: client.jwks === null ? undefined : JSON.parse(client.jwks),
    jwksUri: client.jwksUri,
    idTokenSignedResponseAlg: client.idTokenSignedResponseAlg,
    requirePushedAuthorizationRequests: client.requirePushedAuthorizationRequests,
    dpopBoundAccessTokens: client.dpopBoundAccessTokens,
    subjectType: client.subjectType,
    scopes: client.scopes,
  };
}

/**
 * RFC 9700 §2.1 and §4.1.3: redirect URIs are compared byte for byte, so they must be
 * absolute, without fragment (RFC 6749 §3.1.2) or userinfo, and https, or http only on a
 * loopback IP literal (RFC 8252 §7.3; `localhost` may resolve elsewhere, RFC 9700 §2.6).
 */
export function assertRedirectUri(uri: string, what: string): void {
  const url = parseUri(uri, what);
  if (url.protocol === 'https:') return;
  if (isLoopback(url)) return;
  throw new OperatorInputError(`the ${what} must use https (http only on 127.0.0.1 or [::1], not localhost, which may resolve elsewhere): ${uri}`);
}

/**
 * A web backend's redirect URIs as above. A native app's (RFC 8252 §7): a claimed https URL
 * (§7.2), a loopback IP literal over http whose port the app picks per request (§7.3), or a
 * private-use scheme named after a domain the agency controls, reversed (§7.1:
 * `uz.gov.agency.app:/callback`) — a scheme without a dot could be any app's.
 */
export function assertClientRedirectUri(uri: string, what: string, applicationType: ClientRecord['applicationType']): void {
  if (applicationType === 'web') {
    assertRedirectUri(uri, what);
    return;
  }
  const url = parseUri(uri, what);
  if (url.protocol === 'https:' || isLoopback(url)) return;
  const scheme = url.protocol.slice(0, -1);
  if (/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/.test(scheme) && url.host === '') return;
  throw new OperatorInputError(`a native app's ${what} is https, http on 127.0.0.1 or [::1], or a reverse-domain private-use scheme such as uz.gov.agency.app:/callback (RFC 8252 §7): ${uri}`);
}

/**
 * Whether an authorization request's redirect_uri is one the client registered: byte for byte
 * (RFC 9700 §4.1.3), except that a native app's loopback URI matches on any port (RFC 8252
 * §7.3: the app learns its port only when it opens the listener).
 */
export function redirectUriRegistered(client: Pick<ClientRecord, 'applicationType' | 'redirectUris'>, requested: string): boolean {
  if (client.redirectUris.includes(requested)) return true;
  if (client.applicationType !== 'native') return false;
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return false;
  }
  if (!isLoopback(url) || url.href !== requested || url.username !== '' || url.password !== '' || url.hash !== '') return false;
  url.port = '';
  return client.redirectUris.some((registered) => {
    const candidate = new URL(registered);
    if (!isLoopback(candidate)) return false;
    candidate.port = '';
    return candidate.href === url.href;
  });
}

function parseUri(uri: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OperatorInputError(`the ${what} is not an absolute URL: ${uri}`);
  }
  if (url.hash !== '' || uri.includes('#')) throw new OperatorInputError(`the ${what} must not have a fragment: ${uri}`);
  if (url.username !== '' || url.password !== '') throw new OperatorInputError(`the ${what} must not carry user information: ${uri}`);
  // Byte-exact matching needs one spelling: the one the URL parser would produce.
  if (url.href !== uri) throw new OperatorInputError(`the ${what} is not in normal form (expected ${url.href})`);
  return url;
}

const isLoopback = (url: URL) => url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]');

function assertJwks(jwks: unknown, profile: ClientRecord['profile']): { keys: Record<string, unknown>[] } {
  const keys = (jwks as { keys?: unknown } | null | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new OperatorInputError('the keys must be a JWK Set ({"keys": [...]})');
  for (const key of keys as Array<Record<string, unknown>>) {
    if (typeof key !== 'object' || key === null || typeof key.kty !== 'string') throw new OperatorInputError('every JWKS entry needs a "kty"');
    // Only public keys belong here: a private member means the agency leaked its key to us.
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key)) {
      throw new OperatorInputError('the JWKS holds private key material; register the public keys only');
    }
    if (typeof key.alg === 'string' && !algorithmsFor({ profile }).includes(key.alg)) {
      throw new OperatorInputError(`a key for ${key.alg} is of no use here (accepted: ${algorithmsFor({ profile }).join(', ')})`);
    }
  }
  return { keys: keys as Record<string, unknown>[] };
}

/**
 * Constant-time comparison of a presented secret with the stored hash, and with the previous
 * secret's while its overlap lasts.
 */
export function secretMatches(client: ClientRecord, presented: string, at: Date): boolean {
  const actual = Buffer.from(hashSecret(presented), 'hex');
  const matches = (hash: string | null) => {
    if (hash === null) return false;
    const expected = Buffer.from(hash, 'hex');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  };
  const previousLive = client.previousSecretExpiresAt !== null && client.previousSecretExpiresAt.getTime() > at.getTime();
  // Both compared every time, so the answer's timing tells nothing about which one matched.
  const current = matches(client.secretHash);
  const previous = matches(client.previousSecretHash);
  return current || (previous && previousLive);
}
