// OAuth's own error format (RFC 6749 §5.2, §4.1.2.1; RFC 6750 §3.1; RFC 7009 §2.2.1): the
// OIDC endpoints answer with these, never with problem+json.
export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type'
  | 'invalid_scope' | 'unsupported_response_type' | 'access_denied' | 'login_required' | 'request_not_supported'
  | 'request_uri_not_supported' | 'invalid_token' | 'server_error' | 'temporarily_unavailable';

export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** invalid_client after HTTP Basic: RFC 6749 §5.2 asks for a WWW-Authenticate challenge. */
  readonly wwwAuthenticate: string | undefined;
  /** A 429 or 503 says when to try again (RFC 9110 §10.2.3). */
  readonly retryAfterSeconds: number | undefined;

  constructor(error: OAuthErrorCode, description: string, options: { status?: number; wwwAuthenticate?: string; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.status = options.status ?? (error === 'invalid_client' || error === 'invalid_token' ? 401 : 400);
    this.wwwAuthenticate = options.wwwAuthenticate;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof OAuthError;
}
