// The sign-in step of an authorization request (docs/api.md "OpenID Connect"): the citizen's page
// (or any cookie-keeping client) signs a challenge and posts the same body as POST
// /v1/sessions to /login/{interactionId}. The same sign-in recipe runs, for this client.
import { randomBytes } from 'node:crypto';
import { ServiceError } from '../errors.ts';
import { signIn, subjectOf, type SignInResult } from '../login/signIn.ts';
import { interactionTtlSeconds, sha256, type AuthorizationRequest, type Interaction } from './grants.ts';
import type { ClientRecord } from '../stores/types.ts';
import type { OidcDeps } from './provider.ts';
import { authorizationResponse } from './response.ts';
import { decideReuse, endSsoSession, issueInSession, liveSession } from './sso.ts';
import { newSsoSid } from './ssoSessions.ts';
import { clientSubject } from './tokens.ts';

/**
 * Stores the interaction for a validated request; only the browser holding `browserCookie` may
 * finish it. `sso` names the OP session the continue page offers instead of a signature.
 */
export async function startInteraction(deps: OidcDeps, request: AuthorizationRequest, browserCookie: string, sso?: string): Promise<Interaction> {
  const interaction: Interaction = {
    id: randomBytes(18).toString('base64url'),
    request,
    browser: sha256(browserCookie),
    expiresAt: deps.clock.now().getTime() + interactionTtlSeconds * 1000,
    ...(sso === undefined ? {} : { sso }),
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
 * the citizen may retry with a new challenge until it expires; success consumes it and yields
 * the URL that carries the code back to the agency app, and the OP session's new cookie (never
 * one the browser brought: session fixation). The browser's session of the same citizen takes
 * the new signature (one sid for the whole visit); a session of another citizen ends, the
 * browser is now someone else's.
 */
export async function finishInteraction(
  deps: OidcDeps, id: string, browserCookie: string | undefined, body: unknown,
  request: { id: string; clientAddress?: string; ssoCookie: string | undefined }, observe: Observe,
): Promise<{ redirectTo: string; ssoCookie: string }> {
  const previous = await liveSession(deps, request.ssoCookie);
  const sid = previous?.sid ?? newSsoSid();
  let admitted: { interaction: Interaction; client: ClientRecord } | undefined;
  const result = await observe(() => signIn(deps.signIn, body, {
    requestId: request.id, opSid: sid,
    ...(request.clientAddress === undefined ? {} : { clientAddress: request.clientAddress }),
    // Opened once the body's challenge is consumed: posted to an interaction that is gone, of
    // another browser or of a client removed meanwhile, the sign-in is refused (`not_found`), its
    // challenge burnt and the refusal audited, as every rejection is (issue 11).
    admit: async () => {
      const interaction = await openInteraction(deps, id, browserCookie);
      const client = await deps.clients.find(interaction.request.clientId);
      if (client === undefined) throw new ServiceError('not_found', 'this application is no longer registered with Yagona ID');
      admitted = { interaction, client };
      return { clientId: client.clientId, subjectFor: (directSubject: string) => clientSubject(client, directSubject) };
    },
  }));
  const { interaction, client } = admitted!;
  // Atomic: of two concurrent successful sign-ins for one interaction, one gets a code.
  if (await deps.grants.takeInteraction(interaction.id) === undefined) {
    await deps.grants.endSession(result.session.record.sid);
    throw new ServiceError('not_found', 'this sign-in has expired; go back to the application and start again');
  }
  const { record } = result.session;
  const signed = {
    subject: subjectOf(result.identity), identity: result.identity, authTime: record.authTime, acr: record.acr, amr: record.amr,
    certificateSha256: record.certificateSha256, certificatePath: record.certificatePath ?? [],
  };
  const kept = previous?.subject === signed.subject ? await deps.sso.reauthenticate(sid, { ...signed, sid }, client.clientId) : undefined;
  let session = result.session;
  if (kept === undefined && previous !== undefined) {
    // Another citizen's session, or one that ended meanwhile: its sid must not reach this sign-in's tokens.
    await endSsoSession(deps, previous.sid);
    await deps.grants.endSession(record.sid);
    session = await deps.sessions.create({
      sub: record.sub, identity: record.identity, amr: record.amr, acr: record.acr, audience: client.clientId, authTime: record.authTime,
      certificatePath: signed.certificatePath, opSid: newSsoSid(),
    });
  }
  const opened = kept ?? await deps.sso.start({ ...signed, sid: session.record.opSid ?? sid }, client.clientId);
  const code = await deps.grants.start(interaction.request, session, opened.session.sid);
  return { redirectTo: await authorizationResponse(deps, interaction, { code, state: interaction.request.state }), ssoCookie: opened.cookie };
}

/**
 * The continue page's button: a code from the OP session the page offered, without a
 * signature, when that session still lives in this browser and still meets the request
 * (time passed since the page was shown). Undefined otherwise: the citizen signs instead.
 */
export async function continueInteraction(
  deps: OidcDeps, interaction: Interaction, context: { ssoCookie: string | undefined; requestId: string; clientAddress?: string },
): Promise<string | undefined> {
  const session = await liveSession(deps, context.ssoCookie);
  const client = await deps.clients.find(interaction.request.clientId);
  if (session === undefined || session.sid !== interaction.sso || client === undefined) return undefined;
  if (decideReuse(interaction.request, client, session, Math.floor(deps.clock.now().getTime() / 1000)).kind !== 'continue') return undefined;
  // Atomic, as a sign-in: of two clicks (or tabs), one gets a code.
  if (await deps.grants.takeInteraction(interaction.id) === undefined) {
    throw new ServiceError('not_found', 'this sign-in has expired; go back to the application and start again');
  }
  return issueInSession(deps, interaction.request, session, {
    browser: interaction.browser, silent: false, requestId: context.requestId, ...(context.clientAddress === undefined ? {} : { clientAddress: context.clientAddress }),
  });
}

/** "Use another key", or a session that ended while its continue page was open: the interaction goes on as a sign-in. */
export async function signInstead(deps: OidcDeps, interaction: Interaction): Promise<void> {
  const { sso: _offered, ...signing } = interaction;
  await deps.grants.putInteraction(signing);
}
