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
  return authorizationResponseUrl(interaction.request.redirectUri, deps.issuer, { code, state: interaction.request.state });
}
