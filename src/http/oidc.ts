// The OIDC endpoints for agency apps (docs/api.md "OpenID Connect"): authorize, pushed
// authorization requests, the sign-in interaction, token, userinfo, introspection, revocation
// and RP-initiated logout.
// OAuth endpoints answer in OAuth's error format (oauthError.ts); the interaction POST answers
// like the direct API (problem+json); pages never redirect anywhere unverified.
import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { isServiceError } from '../errors.ts';
import { authorizationRequest } from '../oidc/authorizationRequest.ts';
import { continueInteraction, finishInteraction, openInteraction, signInstead, startInteraction } from '../oidc/interaction.ts';
import { takeFormPostResponse } from '../oidc/response.ts';
import { decideReuse, issueInSession, liveSession, meetsLevel } from '../oidc/sso.ts';
import { sha256, type Interaction } from '../oidc/grants.ts';
import type { SsoSession } from '../oidc/ssoSessions.ts';
import { confirmLogout, endSession, type LogoutOutcome } from '../oidc/logout.ts';
import { pushAuthorizationRequest } from '../oidc/par.ts';
import type { OidcDeps } from '../oidc/provider.ts';
import { introspect, revoke, userinfo } from '../oidc/resources.ts';
import { formParams, tokenRequest } from '../oidc/token.ts';
import { isStoreUnavailable, type RateLimiter } from '../stores/types.ts';
import { clientAddress } from './api.ts';
import { sendFormPost } from './formPost.ts';
import type { Metrics } from './metrics.ts';
import { jsonBody } from './jsonBody.ts';
import { sendOAuthError, toOAuthError, type Channel } from './oauthError.ts';
import { chooseLocale, continuePage, cookieValue, logoutPage, logoutQuestionPage, pageCspPostingTo, sendLoginPage, sendPage, type Locale } from './pages.ts';
import { countPerAddress } from './rateLimit.ts';
import type { EimzoApiKey } from '../config.ts';

export interface OidcRouterDeps {
  oidc: OidcDeps;
  metrics: Metrics;
  logger: Logger;
  /** Token requests per client address; counted inside the OAuth handler so a 429 is OAuth's format. */
  tokenLimit: RateLimiter;
  /** The sign-in page's E-IMZO API keys (EIMZO_API_KEYS). */
  eimzoApiKeys: readonly EimzoApiKey[];
}

const bodyLimit = '64kb';
const form = express.urlencoded({ extended: false, limit: bodyLimit, parameterLimit: 100 });

type Handler = (req: Request, res: Response) => Promise<void>;

export function oidcRouter(deps: OidcRouterDeps): Router {
  const router = Router();
  const { oidc } = deps;
  const cookieName = oidc.secureCookies ? '__Host-yagona-browser' : 'yagona-browser';
  // The OP session's cookie (oidc/ssoSessions.ts): httpOnly, so no script of any page reads it;
  // Lax, so it goes along when an agency sends the citizen here, never on a cross-site POST.
  const ssoCookieName = oidc.secureCookies ? '__Host-yagona-sso' : 'yagona-sso';
  const cookieOptions = { httpOnly: true, sameSite: 'lax', secure: oidc.secureCookies, path: '/' } as const;

  router.use(['/authorize', '/par', '/login', '/token', '/userinfo', '/introspect', '/revoke', '/logout'], (_req, res, next) => {
    // Codes, tokens and claims must never be cached (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    res.set('Cache-Control', 'no-store');
    // The pages here load nothing at all: tighter than the app-wide policy, and never framed
    // (RFC 9700 §4.16, docs/security-cases.md #115).
    res.set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    res.set('X-Frame-Options', 'DENY');
    next();
  });

  /**
   * Every OIDC route: the handler, and any error it throws delivered by oauthError.ts — as the
   * error says, or by the endpoint's channel. POST bodies are parsed here so a broken or
   * oversized one is answered in the same format.
   */
  const endpoint = (channel: Channel, handler: Handler) => async (req: Request, res: Response) => {
    try {
      if (req.method === 'POST') await new Promise<void>((resolve, reject) => { form(req, res, (error?: unknown) => (error ? reject(error) : resolve())); });
      await handler(req, res);
    } catch (caught) {
      if (isStoreUnavailable(caught)) deps.metrics.storeFailed(caught.store);
      sendOAuthError(req, res, toOAuthError(caught), { issuer: oidc.issuer, channel, logger: deps.logger, locale: requestLocale(req) });
    }
  };

  const authorize: Handler = async (req, res) => {
    const query = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined) ?? {} : req.query as Record<string, unknown>;
    const read = await authorizationRequest(oidc, query);
    const browser = browserCookie(req) ?? randomBytes(32).toString('base64url');
    res.cookie(cookieName, browser, cookieOptions);
    const session = await liveSession(oidc, ssoCookie(req));
    const reuse = decideReuse(read.request, read.client, session, Math.floor(oidc.clock.now().getTime() / 1000));
    if (reuse.kind === 'silent') {
      const location = await issueInSession(oidc, read.request, reuse.session, { browser: sha256(browser), silent: true, requestId: req.id, ...clientAddress(req) });
      if (location !== undefined) {
        res.redirect(303, location);
        return;
      }
    }
    const interaction = await startInteraction(oidc, read.request, browser, reuse.kind === 'continue' ? reuse.session.sid : undefined);
    // Relative (RFC 9110 §10.2.2): the browser stays on the host it used, so its cookie goes
    // along even when it reached us by another name than ISSUER_URL (127.0.0.1 vs localhost).
    res.redirect(303, `login/${interaction.id}`);
  };
  router.get('/authorize', endpoint('page', authorize));
  router.post('/authorize', endpoint('page', authorize));

  // RFC 9126 §2: the client pushes its request and gets a one-time reference for /authorize.
  router.post('/par', endpoint('json', async (req, res) => {
    await countPerAddress(deps.tokenLimit, 'token', req, deps.metrics);
    const pushed = await pushAuthorizationRequest(oidc, req.get('authorization'), formParams(req.body), { proof: req.get('dpop'), url: `${oidc.issuer}/par` });
    await offerDpopNonce(req, res);
    res.status(201).json(pushed);
  }));

  router.get('/login/:interactionId', endpoint('page', async (req, res) => {
    const interaction = await openInteraction(oidc, String(req.params.interactionId), browserCookie(req));
    const session = interaction.sso === undefined ? undefined : await liveSession(oidc, ssoCookie(req));
    await sendInteractionPage(req, res, interaction, session?.sid === interaction.sso ? session : undefined);
  }));

  // The continue page's two buttons (plain forms, same origin): a code from the OP session, or
  // the sign-in page (its script posts to /login/{id} by absolute path, so it works from here).
  router.post('/login/:interactionId/continue', endpoint('page', async (req, res) => {
    const interaction = await openInteraction(oidc, String(req.params.interactionId), browserCookie(req));
    const location = await continueInteraction(oidc, interaction, { ssoCookie: ssoCookie(req), requestId: req.id, ...clientAddress(req) });
    if (location !== undefined) {
      res.redirect(303, location);
      return;
    }
    await signInstead(oidc, interaction);
    await sendInteractionPage(req, res, interaction, undefined);
  }));
  router.post('/login/:interactionId/another', endpoint('page', async (req, res) => {
    const interaction = await openInteraction(oidc, String(req.params.interactionId), browserCookie(req));
    await signInstead(oidc, interaction);
    await sendInteractionPage(req, res, interaction, undefined);
  }));

  // response_mode=form_post: the page that POSTs the finished sign-in's answer to the agency.
  router.get('/login/:interactionId/response', endpoint('page', async (req, res) => {
    const response = await takeFormPostResponse(oidc, String(req.params.interactionId), browserCookie(req));
    sendFormPost(res, response.redirectUri, response.params, chooseLocale(undefined, req.get('cookie')));
  }));

  // Errors here go to the app's problem+json handler, exactly as POST /v1/sessions.
  router.post('/login/:interactionId', jsonBody('sign-in'), async (req, res) => {
    const finished = await finishInteraction(oidc, String(req.params.interactionId), browserCookie(req), req.body, { id: req.id, ssoCookie: ssoCookie(req), ...clientAddress(req) }, async (run) => {
      const started = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await run();
        deps.metrics.observeSignIn('success', elapsed());
        return result;
      } catch (error) {
        deps.metrics.observeSignIn(isServiceError(error) ? error.code : 'internal_error', elapsed());
        throw error;
      }
    });
    res.cookie(ssoCookieName, finished.ssoCookie, cookieOptions);
    res.json({ redirectTo: finished.redirectTo });
  });

  router.post('/token', endpoint('json', async (req, res) => {
    await countPerAddress(deps.tokenLimit, 'token', req, deps.metrics);
    res.set('Pragma', 'no-cache');
    const tokens = await tokenRequest(oidc, req.get('authorization'), formParams(req.body), req.get('dpop')).catch((error: unknown) => {
      if (isServiceError(error) && error.code === 'rate_limited') deps.metrics.rateLimited('tokenFailures');
      throw error;
    });
    await offerDpopNonce(req, res);
    res.json(tokens);
  }));

  const userinfoHandler = endpoint('json', async (req, res) => {
    const claims = await userinfo(oidc, { authorization: req.get('authorization'), dpopProof: req.get('dpop'), method: req.method });
    await offerDpopNonce(req, res);
    res.json(claims);
  });
  router.get('/userinfo', userinfoHandler);
  router.post('/userinfo', userinfoHandler);

  router.post('/introspect', endpoint('json', async (req, res) => {
    res.json(await introspect(oidc, req.get('authorization'), formParams(req.body)));
  }));

  router.post('/revoke', endpoint('json', async (req, res) => {
    await revoke(oidc, req.get('authorization'), formParams(req.body));
    res.status(200).end();
  }));

  const logout: Handler = async (req, res) => {
    const params = req.method === 'POST' ? formParams(req.body) : formParams(req.query);
    const browser = browserCookie(req) ?? randomBytes(32).toString('base64url');
    res.cookie(cookieName, browser, cookieOptions);
    sendLogout(req, res, await endSession(oidc, params, { ssoCookie: ssoCookie(req), browserCookie: browser }));
  };
  router.get('/logout', endpoint('page', logout));
  router.post('/logout', endpoint('page', logout));
  // The logout page's answer: this agency, or all agencies.
  router.post('/logout/confirm', endpoint('page', async (req, res) => {
    const params = formParams(req.body);
    sendLogout(req, res, await confirmLogout(oidc, params.logout_id ?? '', params.end, browserCookie(req)));
  }));

  function sendLogout(req: Request, res: Response, outcome: LogoutOutcome): void {
    if (outcome.kind !== 'ask' && outcome.endedBrowserSession) res.clearCookie(ssoCookieName, cookieOptions);
    // The answer's page speaks the language the agency asked the question in.
    const asked = outcome.kind === 'ask' ? outcome.pending.uiLocales : outcome.kind === 'page' ? outcome.uiLocales : undefined;
    const locale = asked === undefined ? requestLocale(req) : chooseLocale(asked, req.get('cookie'));
    if (outcome.kind === 'redirect') res.redirect(303, outcome.location);
    else if (outcome.kind === 'ask') {
      sendPage(res, logoutQuestionPage({ locale, pendingId: outcome.pending.id, clientName: outcome.clientName, all: outcome.pending.all, otherAgencies: outcome.otherAgencies }),
        { csp: pageCspPostingTo(outcome.pending.redirect) });
    } else {
      sendPage(res, logoutPage({
        locale, result: outcome.result, ...(outcome.clientName === undefined ? {} : { clientName: outcome.clientName }), ...(outcome.backTo === undefined ? {} : { backTo: outcome.backTo }),
      }));
    }
  }

  /** RFC 9449 §8.2: a DPoP client's next proof can carry the current nonce without being asked for it. */
  async function offerDpopNonce(req: Request, res: Response): Promise<void> {
    if (req.get('dpop') !== undefined) res.set('DPoP-Nonce', await oidc.dpopNonces.current());
  }

  /** The continue page for the offered session, else the sign-in page. */
  async function sendInteractionPage(req: Request, res: Response, interaction: Interaction, offered: SsoSession | undefined): Promise<void> {
    const client = await oidc.clients.find(interaction.request.clientId);
    const clientName = client?.name ?? interaction.request.clientId;
    const locale = chooseLocale(interaction.request.uiLocales, req.get('cookie'));
    // Only the key token reaches `high`: when the agency accepts nothing less, nothing else is offered.
    const level = interaction.request.acrValues !== undefined && !meetsLevel('urn:yagona:loa:substantial', interaction.request.acrValues) ? 'high' as const : undefined;
    if (offered === undefined) sendLoginPage(res, { interactionId: interaction.id, clientName, locale, eimzoApiKeys: deps.eimzoApiKeys, ...(level === undefined ? {} : { level }) });
    else {
      sendPage(res, continuePage({ locale, interactionId: interaction.id, clientName, name: offered.identity.commonName ?? '', scope: interaction.request.scope }),
        { csp: pageCspPostingTo(interaction.request.redirectUri) });
    }
  }

  function ssoCookie(req: Request): string | undefined {
    return cookieValue(req.get('cookie'), ssoCookieName);
  }

  function browserCookie(req: Request): string | undefined {
    const value = cookieValue(req.get('cookie'), cookieName);
    return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
  }

  return router;
}

/** A page's language from the request's own ui_locales (OIDC Core §3.1.2.1, RP-Initiated Logout §2) and the switch's cookie. */
function requestLocale(req: Request): Locale {
  const params = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown> | undefined;
  const uiLocales = params?.ui_locales;
  return chooseLocale(typeof uiLocales === 'string' ? uiLocales.split(' ') : undefined, req.get('cookie'));
}
