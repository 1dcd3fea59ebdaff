// The OIDC endpoints for agency apps (docs/api.md "OpenID Connect"): authorize, the sign-in
// interaction, token, userinfo, introspection, revocation and RP-initiated logout.
// OAuth endpoints answer in OAuth's error format; the interaction POST answers like the
// direct API (problem+json); pages never redirect anywhere unverified.
import { randomBytes } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { isServiceError } from '../errors.ts';
import { AuthorizePageError, AuthorizeRedirectError, authorizationResponseUrl, readAuthorizationRequest, supportedUiLocales } from '../oidc/authorize.ts';
import { OAuthError, isOAuthError } from '../oidc/errors.ts';
import { finishInteraction, openInteraction, startInteraction } from '../oidc/interaction.ts';
import { endSession } from '../oidc/logout.ts';
import type { OidcDeps } from '../oidc/provider.ts';
import { introspect, revoke, userinfo } from '../oidc/resources.ts';
import { formParams, tokenRequest } from '../oidc/token.ts';
import { isStoreUnavailable, type RateLimiter } from '../stores/types.ts';
import { clientAddress } from './api.ts';
import type { Metrics } from './metrics.ts';
import { jsonBody } from './jsonBody.ts';
import { countPerAddress } from './rateLimit.ts';
import { errorPage, loginPage, loginPageCsp, logoutPage } from './oidcPages.ts';

export interface OidcRouterDeps {
  oidc: OidcDeps;
  metrics: Metrics;
  logger: Logger;
  /** Token requests per client address; counted inside the OAuth handler so a 429 is OAuth's format. */
  tokenLimit: RateLimiter;
}

const bodyLimit = '64kb';
const form = express.urlencoded({ extended: false, limit: bodyLimit, parameterLimit: 100 });

type Handler = (req: Request, res: Response) => Promise<void>;

export function oidcRouter(deps: OidcRouterDeps): Router {
  const router = Router();
  const { oidc } = deps;
  const cookieName = oidc.secureCookies ? '__Host-yagona-browser' : 'yagona-browser';

  router.use(['/authorize', '/login', '/token', '/userinfo', '/introspect', '/revoke', '/logout'], (_req, res, next) => {
    // Codes, tokens and claims must never be cached (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    res.set('Cache-Control', 'no-store');
    // The pages here load nothing at all: tighter than the app-wide policy, and never framed
    // (RFC 9700 §4.16, docs/security-cases.md #115).
    res.set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    res.set('X-Frame-Options', 'DENY');
    next();
  });

  const authorize: Handler = async (req, res) => {
    const query = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined) ?? {} : req.query as Record<string, unknown>;
    let read;
    try {
      read = await readAuthorizationRequest(oidc, query);
    } catch (error) {
      if (error instanceof AuthorizePageError) {
        res.status(400).type('html').send(errorPage(error.message));
        return;
      }
      if (error instanceof AuthorizeRedirectError) {
        // RFC 6749 §4.1.2.1 with RFC 9207 `iss`; 303 so no browser re-posts anything (RFC 9700 §4.12).
        res.redirect(303, authorizationResponseUrl(error.redirectUri, oidc.issuer, {
          error: error.error.error, error_description: error.error.message, state: error.state,
        }));
        return;
      }
      throw error;
    }
    const browser = browserCookie(req) ?? randomBytes(32).toString('base64url');
    const interaction = await startInteraction(oidc, read.request, browser);
    res.cookie(cookieName, browser, {
      httpOnly: true, sameSite: 'lax', secure: oidc.secureCookies, path: '/',
    });
    // Relative (RFC 9110 §10.2.2): the browser stays on the host it used, so its cookie goes
    // along even when it reached us by another name than ISSUER_URL (127.0.0.1 vs localhost).
    res.redirect(303, `login/${interaction.id}`);
  };
  router.get('/authorize', wrap(authorize));
  router.post('/authorize', form, wrap(authorize));

  router.get('/login/:interactionId', wrap(async (req, res) => {
    let interaction;
    try {
      interaction = await openInteraction(oidc, String(req.params.interactionId), browserCookie(req));
    } catch (error) {
      if (!isServiceError(error) || error.code !== 'not_found') throw error;
      res.status(404).type('html').send(errorPage(error.message));
      return;
    }
    const client = await oidc.clients.find(interaction.request.clientId);
    // The page runs its own same-origin script and stylesheet, nothing else (loginPageCsp).
    res.set('Content-Security-Policy', loginPageCsp);
    res.type('html').send(loginPage({
      interactionId: interaction.id,
      clientName: client?.name ?? interaction.request.clientId,
      locale: interaction.request.uiLocales?.find((l) => (supportedUiLocales as readonly string[]).includes(l)) ?? 'uz',
      expiresAt: new Date(interaction.expiresAt),
    }));
  }));

  // Errors here go to the app's problem+json handler, exactly as POST /v1/sessions.
  router.post('/login/:interactionId', jsonBody('sign-in'), async (req, res) => {
    const interaction = await openInteraction(oidc, String(req.params.interactionId), browserCookie(req));
    const redirectTo = await finishInteraction(oidc, interaction, req.body, { id: req.id, ...clientAddress(req) }, async (run) => {
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
    res.json({ redirectTo });
  });

  router.post('/token', oauth(deps, async (req, res) => {
    await countPerAddress(deps.tokenLimit, 'token', req, deps.metrics);
    res.set('Pragma', 'no-cache');
    res.json(await tokenRequest(oidc, req.get('authorization'), formParams(req.body)).catch((error: unknown) => {
      if (isServiceError(error) && error.code === 'rate_limited') deps.metrics.rateLimited('tokenFailures');
      throw error;
    }));
  }));

  const userinfoHandler = oauth(deps, async (req, res) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.get('authorization') ?? '');
    res.json(await userinfo(oidc, match?.[1]));
  });
  router.get('/userinfo', userinfoHandler);
  router.post('/userinfo', userinfoHandler);

  router.post('/introspect', oauth(deps, async (req, res) => {
    res.json(await introspect(oidc, req.get('authorization'), formParams(req.body)));
  }));

  router.post('/revoke', oauth(deps, async (req, res) => {
    await revoke(oidc, req.get('authorization'), formParams(req.body));
    res.status(200).end();
  }));

  const logout: Handler = async (req, res) => {
    const params = req.method === 'POST' ? formParams(req.body) : formParams(req.query);
    const outcome = await endSession(oidc, params);
    if (outcome.kind === 'redirect') res.redirect(303, outcome.location);
    else if (outcome.kind === 'error') res.status(400).type('html').send(errorPage(outcome.message));
    else res.type('html').send(logoutPage(outcome.signedOut));
  };
  router.get('/logout', wrap(logout));
  router.post('/logout', form, wrap(logout));

  function browserCookie(req: Request): string | undefined {
    // The one cookie this service sets; parsed by hand rather than adding cookie-parser.
    for (const part of (req.get('cookie') ?? '').split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === cookieName && value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
    }
    return undefined;
  }

  return router;
}

/** Pages: a malformed request is an error page; an unexpected failure the app's generic 500, never a stack. */
function wrap(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch((error: unknown) => {
      if (isOAuthError(error) && error.status < 500) res.status(400).type('html').send(errorPage(error.message));
      else next(error);
    });
  };
}

/** OAuth JSON errors (RFC 6749 §5.2, RFC 6750 §3.1) for the back-channel endpoints. */
function oauth(deps: OidcRouterDeps, handler: Handler) {
  return async (req: Request, res: Response) => {
    try {
      // The body is parsed here so a broken or oversized one is answered in OAuth's format too.
      if (req.method === 'POST') await new Promise<void>((resolve, reject) => { form(req, res, (error?: unknown) => (error ? reject(error) : resolve())); });
      await handler(req, res);
    } catch (caught) {
      let error: OAuthError;
      if (isOAuthError(caught)) error = caught;
      else if (isServiceError(caught) && caught.code === 'unavailable') {
        if (isStoreUnavailable(caught)) deps.metrics.storeFailed(caught.store);
        error = new OAuthError('temporarily_unavailable', 'try again shortly', { status: 503, retryAfterSeconds: 1 });
      }
      // RFC 6749 has no rate-limit code; temporarily_unavailable with 429 and Retry-After says it (RFC 6585 §4).
      else if (isServiceError(caught) && caught.code === 'rate_limited') {
        error = new OAuthError('temporarily_unavailable', caught.message, { status: 429, retryAfterSeconds: caught.retryAfterSeconds ?? 60 });
      }
      else if ((caught as { type?: unknown } | null)?.type === 'entity.too.large') error = new OAuthError('invalid_request', 'the request body is larger than 64 KiB', { status: 413 });
      else if (typeof (caught as { type?: unknown } | null)?.type === 'string') error = new OAuthError('invalid_request', 'the request body cannot be read');
      else {
        deps.logger.error({ reqId: req.id, err: caught }, 'OIDC request failed');
        error = new OAuthError('server_error', 'the service could not complete the request', { status: 500 });
      }
      if (error.status < 500) deps.logger.info({ reqId: req.id, error: error.error, detail: error.message }, 'OAuth request rejected');
      if (error.wwwAuthenticate !== undefined) res.set('WWW-Authenticate', error.wwwAuthenticate);
      if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
      if (error.error === 'invalid_token') res.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`);
      res.status(error.status).set('Cache-Control', 'no-store').json({ error: error.error, error_description: error.message });
    }
  };
}
