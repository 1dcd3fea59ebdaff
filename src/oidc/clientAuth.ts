// Client authentication at the token, PAR, introspection and revocation endpoints: exactly one
// method per request (RFC 6749 §2.3), and the one the client registered.
//   client_secret_basic  RFC 6749 §2.3.1 (id and secret form-urlencoded inside Basic)
//   client_secret_post   RFC 6749 §2.3.1
//   private_key_jwt      RFC 7523 §2.2 / §3, OIDC Core §9, narrowed by draft-ietf-oauth-rfc7523bis
//   none                 a public client (RFC 6749 §2.1, RFC 8252 §8.4) names itself with client_id
import { decodeJwt, jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import type { ClientRecord, ClientStore, EphemeralStore } from '../stores/types.ts';
import type { ClientKeys } from './clientKeys.ts';
import { algorithmsFor, secretMatches } from './clients.ts';
import { OAuthError } from '../errors.ts';
import { sha256 } from './grants.ts';

export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** RFC 7523 §3 lets the server bound assertion lifetimes; a minute or two is what libraries send. */
const maxAssertionLifetimeSeconds = 600;

export interface ClientAuthDeps {
  issuer: string;
  clients: ClientStore;
  clientKeys: ClientKeys;
  store: EphemeralStore;
  clock: Clock;
}

type Presented =
  | { method: 'client_secret_basic'; clientId: string; secret: string }
  | { method: 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string }
  | { method: 'none'; clientId: string };

/** The authenticated client, or OAuthError `invalid_client` (401). */
export async function authenticateClient(deps: ClientAuthDeps, authorization: string | undefined, body: Record<string, string>): Promise<ClientRecord> {
  const presented = readCredentials(authorization, body);
  const basic = presented.method === 'client_secret_basic';
  const fail = (description: string, cause?: unknown) =>
    new OAuthError('invalid_client', description, { ...(basic ? { wwwAuthenticate: 'Basic realm="yagona-id", charset="UTF-8"' } : {}), cause });
  // RFC 6749 §3.2.1: a client_id in the body must name the authenticated client.
  if (body.client_id !== undefined && body.client_id !== presented.clientId) throw fail('client_id does not match the client credentials');
  const client = await deps.clients.find(presented.clientId);
  if (client === undefined) throw fail('client authentication failed');
  if (client.authMethod !== presented.method) throw fail(`this client authenticates with ${client.authMethod}`);
  if (presented.method === 'private_key_jwt') {
    await verifyAssertion(deps, client, presented.assertion).catch((cause: unknown) => {
      throw cause instanceof OAuthError ? cause : fail('the client assertion is not valid', cause);
    });
  } else if (presented.method !== 'none' && !secretMatches(client, presented.secret, deps.clock.now())) {
    throw fail('client authentication failed');
  }
  return client;
}

/** The client_id a request claims, unverified: a key to count its failures under; undefined when unreadable. */
export function claimedClientId(authorization: string | undefined, body: Record<string, string>): string | undefined {
  try {
    const { clientId } = readCredentials(authorization, body);
    return clientId === '' ? undefined : clientId;
  } catch {
    return body.client_id;
  }
}

function readCredentials(authorization: string | undefined, body: Record<string, string>): Presented {
  const methods: Presented[] = [];
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials', { wwwAuthenticate: 'Basic realm="yagona-id"' });
    const unescape = (text: string) => {
      try {
        return decodeURIComponent(text.replace(/\+/g, ' '));
      } catch {
        throw new OAuthError('invalid_client', 'malformed Basic credentials', { wwwAuthenticate: 'Basic realm="yagona-id"' });
      }
    };
    methods.push({ method: 'client_secret_basic', clientId: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) });
  }
  if (body.client_secret !== undefined) {
    methods.push({ method: 'client_secret_post', clientId: body.client_id ?? '', secret: body.client_secret });
  }
  if (body.client_assertion !== undefined || body.client_assertion_type !== undefined) {
    if (body.client_assertion_type !== jwtBearerAssertionType || body.client_assertion === undefined) {
      throw new OAuthError('invalid_client', `client_assertion_type must be ${jwtBearerAssertionType}`);
    }
    let iss: unknown;
    try {
      iss = decodeJwt(body.client_assertion).iss;
    } catch {
      throw new OAuthError('invalid_client', 'the client assertion is not a JWT');
    }
    methods.push({ method: 'private_key_jwt', clientId: body.client_id ?? (typeof iss === 'string' ? iss : ''), assertion: body.client_assertion });
  }
  if (methods.length > 1) throw new OAuthError('invalid_request', 'use exactly one client authentication method');
  const [only] = methods;
  if (only !== undefined) return only;
  // Nothing but a client_id: a public client (RFC 6749 §3.2.1, §2.3), accepted only when registered as one.
  if (body.client_id !== undefined) return { method: 'none', clientId: body.client_id };
  throw new OAuthError('invalid_client', 'client authentication is required');
}

async function verifyAssertion(deps: ClientAuthDeps, client: ClientRecord, assertion: string): Promise<void> {
  const now = deps.clock.now();
  // RFC 7523 §3: iss = sub = client_id, exp required; keys only from the client's registered
  // keys, never from the header (RFC 8725 §3.10), algorithms from an allow-list (§3.1) —
  // ES256/PS256 only for FAPI 2.0 clients (FAPI 2.0 §5.4.1).
  const { payload } = await jwtVerify(assertion, deps.clientKeys.of(client), {
    algorithms: algorithmsFor(client),
    issuer: client.clientId,
    subject: client.clientId,
    currentDate: now,
    requiredClaims: ['exp', 'jti', 'aud'],
    clockTolerance: 5,
  });
  // draft-ietf-oauth-rfc7523bis: the audience is the issuer identifier as the one string
  // value. An endpoint URL (or a list holding one) let an assertion meant for another server
  // that shares an endpoint name, or one a malicious server collected, be replayed here.
  if (payload.aud !== deps.issuer) throw new OAuthError('invalid_client', 'the client assertion\'s aud must be the issuer identifier alone');
  const exp = payload.exp as number;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (exp - nowSeconds > maxAssertionLifetimeSeconds) throw new Error('assertion lifetime too long');
  // RFC 7523 §3 item 7: a jti is accepted once while the assertion could still be valid,
  // atomically across instances (a replay racing the original loses too).
  const key = `oidc:jti:${client.clientId}:${sha256(String(payload.jti))}`;
  if (!(await deps.store.putIfAbsent(key, 1, Math.max(1, exp - nowSeconds + 10)))) {
    throw new OAuthError('invalid_client', 'the client assertion was used before');
  }
}
