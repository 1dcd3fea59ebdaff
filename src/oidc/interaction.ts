// The sign-in step of an authorization request (docs/api.md "OpenID Connect"): the citizen's page
// (or any cookie-keeping client) signs a challenge and posts the same body as POST
// /v1/sessions to /login/{interactionId}. The same sign-in recipe runs, for this client.
import { randomBytes } from 'node:crypto';
import { ServiceError } from '../errors.ts';
import { signIn, type SignInResult } from '../login/signIn.ts';
import { authorizationResponseUrl } from './authorize.ts';
import { interactionTtlSeconds, sha256, type AuthorizationRequest, type Interaction } from './grants.ts';
import type { OidcDeps } from './provider.ts';
import { clientSubject } from './tokens.ts';

/** Stores the interaction for a validated request; only the browser holding `browserCookie` may finish it. */
export async function startInteraction(deps: OidcDeps, request: AuthorizationRequest, browserCookie: string): Promise<Interaction> {
  const interaction: Interaction = {
    id: randomBytes(18).toString('base64url'),
    request,
    browser: sha256(browserCookie),
    expiresAt: deps.clock.now().getTime() + interactionTtlSeconds * 1000,
  };
  await deps.grants.putInteraction(interaction);
  return interaction;
}

/** The interaction if it is live and belongs to this browser; `not_found` otherwise (same answer for both). */
export async function openInteraction(deps: OidcDeps, id: string, browserCookie: string | undefined): Promise<Interaction> {
  const interaction = /^[A-Za-z0-9_-]{24}$/.test(id) ? await deps.grants.getInteraction(id) : undefined;
  if (interaction === undefined || browserCookie === undefined || interaction.browser !== sha256(browserCookie)
    || interaction.expiresAt <= deps.clock.now().getTime()) {
    throw new ServiceError('not_found', 'this sign-in has expired or was started in another browser; go back to the application and start again');
  }
  return interaction;
}

export interface Observe {
  (outcome: () => Promise<SignInResult>): Promise<SignInResult>;
}

/**
 * Runs the sign-in for the interaction's client. A rejection leaves the interaction open so
 * the citizen may retry with a new challenge until it expires; success consumes it and
 * yields the URL that carries the code back to the agency app.
 */
export async function finishInteraction(
  deps: OidcDeps, interaction: Interaction, body: unknown, request: { id: string; clientAddress?: string }, observe: Observe,
): Promise<string> {
  const client = await deps.clients.find(interaction.request.clientId);
  if (client === undefined) throw new ServiceError('not_found', 'this application is no longer registered with Yagona ID');
  const result = await observe(() => signIn(deps.signIn, body, {
    requestId: request.id, clientId: client.clientId, subjectFor: (directSubject) => clientSubject(client, directSubject),
    ...(request.clientAddress === undefined ? {} : { clientAddress: request.clientAddress }),
  }));
  // Atomic: of two concurrent successful sign-ins for one interaction, one gets a code.
  if (await deps.grants.takeInteraction(interaction.id) === undefined) {
    await deps.grants.endSession(result.session.record.sid);
    throw new ServiceError('not_found', 'this sign-in has expired; go back to the application and start again');
  }
  const code = await deps.grants.start(interaction.request, result.session, interaction.browser);
  return authorizationResponse(deps, interaction, { code, state: interaction.request.state });
}

/** What a form_post response holds until the browser fetches its page (once, within a minute). */
export interface FormPostResponse {
  redirectUri: string;
  params: Record<string, string>;
}

const formPostKey = (interactionId: string) => `oidc:form-post:${interactionId}`;
const formPostTtlSeconds = 60;

/**
 * Where the browser goes with the response (RFC 6749 §4.1.2 with RFC 9207 `iss`): the
 * redirect_uri with it in the query; or, for response_mode=form_post (OAuth 2.0 Form Post
 * Response Mode §2), this service's page that POSTs it there, so the code never sits in a URL.
 */
async function authorizationResponse(deps: OidcDeps, interaction: Interaction, params: { code: string; state: string | undefined }): Promise<string> {
  const { request } = interaction;
  if (request.responseMode !== 'form_post') return authorizationResponseUrl(request.redirectUri, deps.issuer, params);
  const response: FormPostResponse & { browser: string } = {
    redirectUri: request.redirectUri,
    params: { code: params.code, ...(params.state === undefined ? {} : { state: params.state }), iss: deps.issuer },
    browser: interaction.browser,
  };
  await deps.store.put(formPostKey(interaction.id), response, formPostTtlSeconds);
  return `${deps.issuer}/login/${interaction.id}/response`;
}

/** The form_post response of a finished interaction, for the browser that finished it; taken, so it is shown once. */
export async function takeFormPostResponse(deps: OidcDeps, id: string, browserCookie: string | undefined): Promise<FormPostResponse> {
  const response = /^[A-Za-z0-9_-]{24}$/.test(id) ? await deps.store.take<FormPostResponse & { browser: string }>(formPostKey(id)) : undefined;
  if (response === undefined || browserCookie === undefined || response.browser !== sha256(browserCookie)) {
    throw new ServiceError('not_found', 'this sign-in\'s answer was already delivered, has expired, or belongs to another browser; go back to the application and start again');
  }
  return { redirectUri: response.redirectUri, params: response.params };
}
