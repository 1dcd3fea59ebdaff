// Where an authorization request's parameters come from (docs/api.md "GET|POST /authorize"):
// the query itself; a signed request object in it (JAR, RFC 9101 §5.1); or a request the
// client pushed before (PAR, RFC 9126 §4), named by its one-time request_uri. A request_uri
// naming anything else is refused: fetching URLs from requests is not offered (RFC 9101 §10.4).
// Then the client's own rule: one registered for PAR sends nothing else (RFC 9126 §6).
import { OAuthError, type OAuthErrorCode } from '../errors.ts';
import type { ClientRecord } from '../stores/types.ts';
import { readAuthorizationRequest, type AuthorizeDeps } from './authorize.ts';
import type { AuthorizationRequest } from './grants.ts';
import { pushedRequestUriPrefix, takePushedRequest } from './par.ts';
import { readRequestObject, type RequestObjectDeps } from './requestObject.ts';

export interface AuthorizationRequestDeps extends AuthorizeDeps, RequestObjectDeps {}

/** Shown on a page: no redirect_uri is proven before the request itself is. */
const onPage = (error: OAuthErrorCode, description: string) => new OAuthError(error, description, { delivery: { via: 'page' } });

export async function authorizationRequest(deps: AuthorizationRequestDeps, query: Record<string, unknown>): Promise<{ client: ClientRecord; request: AuthorizationRequest }> {
  const requestUri = query.request_uri;
  const requestObject = query.request;
  if (requestUri === undefined && requestObject === undefined) return assertNotPushedOnly(await readAuthorizationRequest(deps, query));

  const client = await namedClient(deps, query.client_id);
  if (requestUri !== undefined) {
    if (typeof requestUri !== 'string' || requestObject !== undefined) throw onPage('invalid_request', 'send one request_uri and no request object with it');
    if (!requestUri.startsWith(pushedRequestUriPrefix)) {
      throw onPage('request_uri_not_supported', 'only request_uri values from this service\'s PAR endpoint are accepted; request objects are not fetched from URLs');
    }
    // RFC 9126 §4: everything comes from the pushed request; the query's other parameters are ignored.
    const pushed = await takePushedRequest(deps, client.clientId, requestUri);
    if (pushed === undefined) throw onPage('invalid_request_uri', 'the request_uri is unknown, expired, already used, or was pushed by another client');
    return { client, request: pushed };
  }
  if (typeof requestObject !== 'string') throw onPage('invalid_request', 'the parameter request is repeated or malformed');
  // RFC 9101 §5: only the object's parameters count, so the redirect_uri in it is proven only
  // once its signature is: until then every error is a page.
  let params: Record<string, string>;
  try {
    params = await readRequestObject(deps, client, requestObject);
  } catch (error) {
    if (error instanceof OAuthError) throw onPage(error.error, error.message);
    throw error;
  }
  return assertNotPushedOnly(await readAuthorizationRequest(deps, { ...params, client_id: client.clientId }));
}

async function namedClient(deps: AuthorizeDeps, clientId: unknown): Promise<ClientRecord> {
  if (typeof clientId !== 'string' || clientId === '') throw onPage('invalid_request', 'client_id is missing');
  const client = await deps.clients.find(clientId);
  if (client === undefined) throw onPage('invalid_request', 'this application is not registered with Yagona ID');
  return client;
}

/**
 * RFC 9126 §6, FAPI 2.0 §5.3.1.2: a client registered with require_pushed_authorization_requests
 * sends its requests only by PAR. Its redirect_uri is proven by then, so the answer goes there.
 */
function assertNotPushedOnly(read: { client: ClientRecord; request: AuthorizationRequest }): { client: ClientRecord; request: AuthorizationRequest } {
  if (!read.client.requirePushedAuthorizationRequests) return read;
  const { request } = read;
  throw new OAuthError('invalid_request', 'this application sends its authorization requests by PAR (pushed_authorization_request_endpoint)', {
    delivery: { via: 'redirect', redirectUri: request.redirectUri, state: request.state, ...(request.responseMode === undefined ? {} : { responseMode: request.responseMode }) },
  });
}
