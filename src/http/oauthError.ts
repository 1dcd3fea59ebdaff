// The one place OAuth errors reach the wire (STYLE rule 2; node-oidc-provider's err_out is the
// model): each error is delivered the way it says — a JSON body at the back channel, a
// redirect to a proven redirect_uri, or a page for the citizen — and anything that is not an
// OAuthError is first mapped to one, with library text only in the logs.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { OAuthError, isOAuthError, isServiceError } from '../errors.ts';
import { authorizationResponseUrl } from '../oidc/authorize.ts';
import { sendFormPost } from './formPost.ts';
import { errorPage, sendPage, type Locale, type PageProblem } from './pages.ts';

/** Where an error without its own delivery goes: the endpoint's channel. */
export type Channel = 'json' | 'page';

/** Body-parser failures, service errors and anything unknown, as OAuth errors. */
export function toOAuthError(caught: unknown): OAuthError {
  if (isOAuthError(caught)) return caught;
  if (isServiceError(caught)) {
    // RFC 6749 has no rate-limit code; temporarily_unavailable with 429 and Retry-After says it (RFC 6585 §4).
    if (caught.code === 'rate_limited') return new OAuthError('temporarily_unavailable', caught.message, { status: 429, retryAfterSeconds: caught.retryAfterSeconds ?? 60, cause: caught });
    if (caught.status === 503) return new OAuthError('temporarily_unavailable', 'try again shortly', { status: 503, retryAfterSeconds: caught.retryAfterSeconds ?? 1, cause: caught });
    if (caught.status < 500) return new OAuthError('invalid_request', caught.message, { status: caught.status, retryAfterSeconds: caught.retryAfterSeconds, cause: caught });
  }
  const type = (caught as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new OAuthError('invalid_request', 'the request body is larger than 64 KiB', { status: 413 });
  if (typeof type === 'string') return new OAuthError('invalid_request', 'the request body cannot be read');
  return new OAuthError('server_error', 'the service could not complete the request', { status: 500, cause: caught });
}

export interface OAuthErrorContext {
  issuer: string;
  channel: Channel;
  logger: Logger;
  /** The language of a page, when the error becomes one. */
  locale: Locale;
}

export function sendOAuthError(req: Request, res: Response, error: OAuthError, context: OAuthErrorContext): void {
  if (error.status >= 500) context.logger.error({ reqId: req.id, err: error.cause ?? error, error: error.error }, 'OIDC request failed');
  else context.logger.info({ reqId: req.id, error: error.error, detail: error.message }, 'OAuth request rejected');
  if (res.headersSent) {
    res.end();
    return;
  }
  res.set('Cache-Control', 'no-store');
  if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
  const delivery = error.delivery ?? { via: context.channel };
  switch (delivery.via) {
    case 'redirect':
      if (delivery.responseMode === 'form_post') {
        // OAuth 2.0 Form Post Response Mode §2: errors go back the way codes do.
        sendFormPost(res, delivery.redirectUri, { error: error.error, error_description: error.message, state: delivery.state, iss: context.issuer }, context.locale);
        return;
      }
      // RFC 6749 §4.1.2.1 with RFC 9207 `iss`; 303 so no browser re-posts anything (RFC 9700 §4.12).
      res.redirect(303, authorizationResponseUrl(delivery.redirectUri, context.issuer, {
        error: error.error, error_description: error.message, state: delivery.state,
      }));
      return;
    case 'page':
      sendPage(res, errorPage({ locale: context.locale, problem: pageProblem(error), ...(error.status < 500 ? { detail: error.message, code: error.error } : {}) }), { status: error.status });
      return;
    case 'json':
      if (error.wwwAuthenticate !== undefined) res.set('WWW-Authenticate', error.wwwAuthenticate);
      // RFC 6750 §3: a bearer-token refusal names the scheme and the error (a DPoP one names its own, RFC 9449 §7.1).
      else if (error.error === 'invalid_token') res.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`);
      // RFC 9449 §8.1, §9: the nonce the client's next proof must carry.
      if (error.dpopNonce !== undefined) res.set('DPoP-Nonce', error.dpopNonce);
      res.status(error.status).json({ error: error.error, error_description: error.message });
  }
}

function pageProblem(error: OAuthError): PageProblem {
  if (error.status === 404) return 'expired';
  if (error.status === 429) return 'rate_limited';
  if (error.status === 503) return 'unavailable';
  return error.status >= 500 ? 'internal' : 'bad_request';
}
