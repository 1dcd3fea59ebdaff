// The closed set of error codes of docs/errors.md, each with its HTTP status and title, and the
// two other kinds of error the service throws on purpose: OAuthError (the OIDC endpoints) and
// OperatorInputError (the CLI). Tests assert on `code` / `error`; problem+json (RFC 9457) is
// rendered in src/http/problem.ts, OAuth errors in src/http/oauthError.ts.
export const errorCodes = {
  invalid_request: { status: 400, title: 'Invalid request' },
  malformed_signature: { status: 400, title: 'Malformed signature' },
  unsupported_algorithm: { status: 400, title: 'Unsupported algorithm' },
  weak_algorithm: { status: 403, title: 'Weak algorithm or key' },
  challenge_invalid: { status: 403, title: 'Challenge invalid' },
  signature_invalid: { status: 403, title: 'Signature invalid' },
  certificate_untrusted: { status: 403, title: 'Certificate untrusted' },
  certificate_expired: { status: 403, title: 'Certificate expired' },
  certificate_not_yet_valid: { status: 403, title: 'Certificate not yet valid' },
  certificate_usage_invalid: { status: 403, title: 'Certificate usage invalid' },
  certificate_revoked: { status: 403, title: 'Certificate revoked' },
  revocation_unknown: { status: 503, title: 'Revocation status unknown' },
  session_invalid: { status: 401, title: 'Session invalid' },
  // Not in the founding contract's table, which covered the sign-in contract (docs/errors.md);
  // every response still needs a code.
  not_found: { status: 404, title: 'Not found' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  rate_limited: { status: 429, title: 'Too many requests' },
  unavailable: { status: 503, title: 'Service unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ServiceErrorOptions {
  cause?: unknown;
  /** Seconds for a Retry-After header (rate_limited, revocation_unknown, unavailable). */
  retryAfterSeconds?: number;
}

/** A rejection the client may see: `detail` is shown on the wire, `cause` only in logs. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, options: ServiceErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.title = errorCodes[code].title;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isServiceError(value: unknown): value is ServiceError {
  return value instanceof ServiceError;
}

// OAuth's own error format (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009 §2.2.1; OIDC
// Core §3.1.2.6): the OIDC endpoints answer with these, never with problem+json.
export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type'
  | 'invalid_scope' | 'unsupported_response_type' | 'access_denied' | 'login_required' | 'consent_required'
  | 'interaction_required' | 'request_not_supported' | 'request_uri_not_supported' | 'invalid_token'
  | 'server_error' | 'temporarily_unavailable'
  // OIDC Core §3.1.2.6 / RFC 9101 §6.2: a request object or request_uri that cannot be used.
  | 'invalid_request_object' | 'invalid_request_uri'
  // RFC 9449 §5, §8, §12.2: a DPoP proof refused, or a nonce to use.
  | 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * How an OAuth error reaches the client, decided where the request was checked:
 * - `json`: the back-channel endpoints' body (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1);
 * - `redirect`: back to a redirect_uri proven registered for the client (RFC 6749 §4.1.2.1);
 * - `page`: an HTML page for the citizen, when nothing proves where a redirect would go.
 * Left undefined, the endpoint's own channel decides (JSON at the back channel, a page in
 * front of the citizen), so a shared check such as a repeated parameter needs no knowledge of it.
 */
export type OAuthDelivery =
  | { via: 'json' }
  | { via: 'redirect'; redirectUri: string; state: string | undefined; responseMode?: 'form_post' }
  | { via: 'page' };

export interface OAuthErrorOptions {
  status?: number;
  /** invalid_client after HTTP Basic: RFC 6749 §5.2 asks for a WWW-Authenticate challenge. */
  wwwAuthenticate?: string;
  delivery?: OAuthDelivery;
  retryAfterSeconds?: number;
  /** RFC 9449 §8.1: the nonce a DPoP client must put in its next proof, sent as `DPoP-Nonce`. */
  dpopNonce?: string;
  cause?: unknown;
}

/** An OAuth protocol error: `message` is the error_description, `cause` only for the logs. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly wwwAuthenticate: string | undefined;
  readonly delivery: OAuthDelivery | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly dpopNonce: string | undefined;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.status = options.status ?? (error === 'invalid_client' || error === 'invalid_token' ? 401 : 400);
    this.wwwAuthenticate = options.wwwAuthenticate;
    this.delivery = options.delivery;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.dpopNonce = options.dpopNonce;
  }
}

export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof OAuthError;
}

/**
 * What an operator typed into the CLI cannot be used (a serial, a DN, a redirect URI, a JWK
 * Set): the admin program prints its message as the one line on stderr.
 */
export class OperatorInputError extends Error {
  override name = 'OperatorInputError';
}
