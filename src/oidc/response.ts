// The authorization response (RFC 6749 §4.1.2 with RFC 9207 `iss`) of a finished sign-in or
// continue, in the query or, for response_mode=form_post, on a page that POSTs it.
import { ServiceError } from '../errors.ts';
import { authorizationResponseUrl } from './authorize.ts';
import { sha256, type Interaction } from './grants.ts';
import type { OidcDeps } from './provider.ts';

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
export async function authorizationResponse(deps: OidcDeps, interaction: Pick<Interaction, 'id' | 'request' | 'browser'>, params: { code: string; state: string | undefined }): Promise<string> {
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
