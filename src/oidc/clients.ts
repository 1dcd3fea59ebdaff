// Agency apps (OIDC clients): registration rules and client authentication material.
// Durable in SQL (docs/configuration.md, DATABASE_URL); secrets are stored only as a SHA-256 of 32 random
// bytes: a high-entropy secret needs no slow hash (RFC 6819 §5.1.4.1.3 asks for hashing,
// password stretching protects low-entropy inputs only).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OperatorInputError } from '../errors.ts';
import type { ClientRecord, ClientStore, TokenEndpointAuthMethod } from '../stores/types.ts';

export type { ClientRecord, ClientStore, TokenEndpointAuthMethod };

export const authMethods: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/** Algorithms accepted for private_key_jwt assertions (RFC 7523 §3; RFC 8725 §3.1: an allow-list). */
export const assertionAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'];

export interface NewClient {
  name: string;
  redirectUris: string[];
  authMethod?: TokenEndpointAuthMethod;
  /** JWK Set (RFC 7517 §5) with the client's public keys; required for private_key_jwt. */
  jwks?: unknown;
  subjectType?: 'pairwise' | 'public';
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string;
  /** A fixed client_id (the dev demo app); random otherwise. */
  clientId?: string;
  /** A fixed secret (the dev demo app, which reads it from its own config); random otherwise. */
  clientSecret?: string;
}

export interface RegisteredClient {
  client: ClientRecord;
  /** Shown once; only its hash is stored. Undefined for private_key_jwt clients. */
  clientSecret: string | undefined;
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Validates `input` and stores a new client; throws OperatorInputError listing the problem. */
export async function registerClient(store: ClientStore, input: NewClient, at: Date): Promise<RegisteredClient> {
  const authMethod = input.authMethod ?? 'client_secret_basic';
  if (!authMethods.includes(authMethod)) throw new OperatorInputError(`unknown token endpoint auth method: ${authMethod}`);
  const name = input.name.trim();
  if (name === '' || name.length > 200) throw new OperatorInputError('the name must be 1 to 200 characters');
  if (input.redirectUris.length === 0) throw new OperatorInputError('at least one redirect URI is required');
  for (const uri of input.redirectUris) assertRedirectUri(uri, 'redirect URI');
  for (const uri of input.postLogoutRedirectUris ?? []) assertRedirectUri(uri, 'post-logout redirect URI');
  if (input.backchannelLogoutUri !== undefined) assertRedirectUri(input.backchannelLogoutUri, 'back-channel logout URI');
  const jwks = authMethod === 'private_key_jwt' ? assertJwks(input.jwks) : undefined;
  if (authMethod !== 'private_key_jwt' && input.jwks !== undefined) throw new OperatorInputError('--jwks applies to private_key_jwt only');

  const clientSecret = authMethod === 'private_key_jwt' ? undefined : input.clientSecret ?? randomBytes(32).toString('base64url');
  if (clientSecret !== undefined && clientSecret.length < 32) throw new OperatorInputError('a client secret must be at least 32 characters');
  const client: ClientRecord = {
    clientId: input.clientId ?? `agency-${randomBytes(12).toString('base64url')}`,
    name,
    secretHash: clientSecret === undefined ? null : hashSecret(clientSecret),
    redirectUris: [...new Set(input.redirectUris)],
    postLogoutRedirectUris: [...new Set(input.postLogoutRedirectUris ?? [])],
    backchannelLogoutUri: input.backchannelLogoutUri ?? null,
    authMethod,
    jwks: jwks === undefined ? null : JSON.stringify(jwks),
    subjectType: input.subjectType ?? 'pairwise',
    // The pairwise salt: sub = HMAC(salt, citizen) makes subjects unlinkable across agencies.
    subjectSalt: randomBytes(32).toString('base64url'),
    createdAt: at,
  };
  if (!/^[A-Za-z0-9._~-]{3,128}$/.test(client.clientId)) throw new OperatorInputError('a client_id is 3 to 128 unreserved characters');
  if (await store.find(client.clientId)) throw new OperatorInputError(`client ${client.clientId} exists already`);
  await store.insert(client);
  return { client, clientSecret };
}

/**
 * RFC 9700 §2.1 and §4.1.3: redirect URIs are compared byte for byte, so they must be
 * absolute, without fragment (RFC 6749 §3.1.2) or userinfo, and https, or http only on a
 * loopback IP literal (RFC 8252 §7.3; `localhost` may resolve elsewhere, RFC 9700 §2.6).
 */
export function assertRedirectUri(uri: string, what: string): void {
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
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]')) return;
  throw new OperatorInputError(`the ${what} must use https (http only on 127.0.0.1 or [::1], not localhost, which may resolve elsewhere): ${uri}`);
}

function assertJwks(jwks: unknown): { keys: Record<string, unknown>[] } {
  const keys = (jwks as { keys?: unknown } | null | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new OperatorInputError('private_key_jwt needs --jwks with a JWK Set ({"keys": [...]})');
  for (const key of keys as Array<Record<string, unknown>>) {
    if (typeof key !== 'object' || key === null || typeof key.kty !== 'string') throw new OperatorInputError('every JWKS entry needs a "kty"');
    // Only public keys belong here: a private member means the agency leaked its key to us.
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key)) {
      throw new OperatorInputError('the JWKS holds private key material; register the public keys only');
    }
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(client: ClientRecord, presented: string): boolean {
  if (client.secretHash === null) return false;
  const expected = Buffer.from(client.secretHash, 'hex');
  const actual = Buffer.from(hashSecret(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
