// Pushed authorization requests (PAR, RFC 9126): the client posts its authorization request
// to the back channel, authenticated, and sends the browser to /authorize with nothing but
// its client_id and the one-time reference it got back. Nothing of the request travels
// through the browser, where it could be read or changed, and the request is checked before
// the citizen ever sees a page (RFC 9126 §1).
import { randomBytes } from 'node:crypto';
import { readAuthorizationRequest, type AuthorizeDeps } from './authorize.ts';
import { authenticateClient, type ClientAuthDeps } from './clientAuth.ts';
import { assertSameKey, verifyDpopProof, type DpopDeps } from './dpop.ts';
import { OAuthError, isOAuthError } from '../errors.ts';
import { sha256, type AuthorizationRequest } from './grants.ts';
import { readRequestObject, type RequestObjectDeps } from './requestObject.ts';

/** RFC 9126 §2.2: the reference's URN prefix. */
export const pushedRequestUriPrefix = 'urn:ietf:params:oauth:request_uri:';
/**
 * RFC 9126 §2.2 leaves the lifetime to the server; FAPI 2.0 §5.3.2.2 asks for less than 10
 * minutes. The client redirects at once, so a minute is plenty and bounds a leaked reference.
 */
export const pushedRequestTtlSeconds = 60;

export interface ParDeps extends ClientAuthDeps, AuthorizeDeps, RequestObjectDeps, DpopDeps {}

/** What a pushed reference stands for until /authorize takes it. */
interface PushedRequest {
  clientId: string;
  request: AuthorizationRequest;
}

const storeKey = (requestUri: string) => `oidc:par:${sha256(requestUri)}`;

/** Client authentication parameters are about the push, not the authorization request. */
const authenticationParams = ['client_secret', 'client_assertion', 'client_assertion_type'];

export interface PushedResponse {
  request_uri: string;
  expires_in: number;
}

/**
 * RFC 9126 §2: authenticate the client, read a request object if one was pushed (§3), check
 * the request exactly as /authorize would, bind it to the DPoP key of the push (RFC 9449
 * §10.1), store it under a fresh reference. Every refusal is a JSON OAuth error (§2.3).
 */
export async function pushAuthorizationRequest(
  deps: ParDeps, authorization: string | undefined, params: Record<string, string>, dpop: { proof: string | undefined; url: string },
): Promise<PushedResponse> {
  const client = await authenticateClient(deps, authorization, params);
  // RFC 9449 §10.1: a DPoP proof on the push binds the code to its key, as dpop_jkt would.
  // Checked before the request, whose reading records its code_challenge as seen: a request
  // for a nonce must leave the client free to push the same request again.
  const key = dpop.proof === undefined ? undefined : await verifyDpopProof(deps, { proof: dpop.proof, method: 'POST', url: dpop.url, at: 'authorization-server' });
  // §2.1: a pushed request cannot itself point elsewhere.
  if (params.request_uri !== undefined) throw new OAuthError('invalid_request', 'request_uri cannot be pushed; push the request itself');
  const query = params.request === undefined
    ? Object.fromEntries(Object.entries(params).filter(([name]) => !authenticationParams.includes(name)))
    : { ...(await readRequestObject(deps, client, params.request)), client_id: client.clientId };
  if (query.client_id !== undefined && query.client_id !== client.clientId) throw new OAuthError('invalid_request', 'client_id is not the authenticated client');

  let request: AuthorizationRequest;
  try {
    ({ request } = await readAuthorizationRequest(deps, { ...query, client_id: client.clientId }));
  } catch (error) {
    // Here the client itself is on the line: every problem is its JSON answer, never a page or redirect.
    if (isOAuthError(error) && error.status < 500) throw new OAuthError(error.error, error.message, { status: error.status, cause: error });
    throw error;
  }

  if (key !== undefined) {
    // §10.1: a dpop_jkt beside the proof must name the proof's key.
    if (request.dpopJkt !== undefined) assertSameKey({ at: 'authorization-server' }, key, request.dpopJkt);
    request = { ...request, dpopJkt: key.jkt };
  }

  const requestUri = `${pushedRequestUriPrefix}${randomBytes(32).toString('base64url')}`;
  const pushed: PushedRequest = { clientId: client.clientId, request };
  await deps.store.put(storeKey(requestUri), pushed, pushedRequestTtlSeconds);
  return { request_uri: requestUri, expires_in: pushedRequestTtlSeconds };
}

/**
 * The request a reference stands for, taken so it works once (RFC 9126 §4; FAPI 2.0
 * §5.3.2.2), and only for the client that pushed it. Undefined for anything else: unknown,
 * expired, used, or another client's — taken all the same, so a reference that leaked to
 * another client is spent.
 */
export async function takePushedRequest(deps: Pick<ParDeps, 'store'>, clientId: string, requestUri: string): Promise<AuthorizationRequest | undefined> {
  if (!requestUri.startsWith(pushedRequestUriPrefix)) return undefined;
  const pushed = await deps.store.take<PushedRequest>(storeKey(requestUri));
  if (pushed === undefined || pushed.clientId !== clientId) return undefined;
  return pushed.request;
}
