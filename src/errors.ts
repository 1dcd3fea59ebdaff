// The closed set of error codes of docs/errors.md, each with its HTTP status and title.
// Tests assert on `code`; the wire format (RFC 9457) is rendered in src/http/problem.ts.
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
