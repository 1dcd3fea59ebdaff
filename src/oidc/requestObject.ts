// Signed authorization requests (JAR, RFC 9101): the parameters travel as a JWT the client
// signed with a key it registered, so nobody on the way (the browser, an extension, a proxy)
// can change them. Accepted by value (`request`, at the authorization and PAR endpoints);
// by reference (`request_uri`) only as a PAR reference of this service — fetching a URL a
// request names would let anyone make this service call any host (RFC 9101 §10.4).
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import type { ClientRecord } from '../stores/types.ts';
import type { ClientKeys } from './clientKeys.ts';
import { algorithmsFor } from './clients.ts';
import { OAuthError } from '../errors.ts';

/** RFC 9101 §4, RFC 8725 §3.11: a request object says what it is. */
export const requestObjectType = 'oauth-authz-req+jwt';
/** FAPI 2.0 Message Signing: a request object lives at most an hour. */
const maxRequestObjectLifetimeSeconds = 3600;

export interface RequestObjectDeps {
  issuer: string;
  clientKeys: ClientKeys;
  clock: Clock;
}

/**
 * The authorization request inside a request object, as string parameters; throws OAuthError
 * `invalid_request_object`. Only the object's parameters count (RFC 9101 §5): what the
 * query says besides client_id is not read. `client` is the one the request names outside the object.
 */
export async function readRequestObject(deps: RequestObjectDeps, client: ClientRecord, requestObject: string): Promise<Record<string, string>> {
  const fail = (description: string, cause?: unknown) => new OAuthError('invalid_request_object', description, { cause });
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(requestObject).alg;
  } catch (cause) {
    throw fail('the request object is not a JWT', cause);
  }
  // RFC 9101 §6.1 allows unsigned objects; they protect nothing, so they are refused.
  if (alg === 'none') throw fail('the request object must be signed');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(requestObject, deps.clientKeys.of(client), {
      typ: requestObjectType,
      algorithms: algorithmsFor(client),
      // RFC 9101 §5 and FAPI 2.0 Message Signing: the client issued it for this server.
      issuer: client.clientId,
      audience: deps.issuer,
      requiredClaims: ['exp'],
      currentDate: deps.clock.now(),
      clockTolerance: 5,
    }));
  } catch (cause) {
    throw fail(`the request object is not signed by this client's registered keys with ${algorithmsFor(client).join(', ')}, for this issuer, typ ${requestObjectType}, or it expired`, cause);
  }
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  if ((payload.exp as number) - now > maxRequestObjectLifetimeSeconds) throw fail('the request object may live at most an hour');
  if (typeof payload.nbf === 'number' && now - payload.nbf > maxRequestObjectLifetimeSeconds) throw fail('the request object\'s nbf is more than an hour ago');
  // RFC 9101 §5: the client_id inside must be the one outside, so no object is replayed under another client.
  if (payload.client_id !== client.clientId) throw fail('the request object\'s client_id is not this client');
  if ('request' in payload || 'request_uri' in payload) throw fail('a request object cannot hold another request');

  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    // The JWT's own claims are about the object, not authorization parameters.
    if (['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'].includes(name)) continue;
    if (typeof value === 'string') params[name] = value;
    // OIDC Core §6.1: max_age may be a number in a request object.
    else if (typeof value === 'number' && Number.isInteger(value)) params[name] = String(value);
    else throw fail(`the request object's ${name} is not a string`);
  }
  return params;
}
