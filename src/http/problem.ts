// The one place errors reach the wire: RFC 9457 problem+json with the stable `code`.
// 4xx details are shown; 5xx get a generic text; library messages only ever go to the logs.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ServiceError, isServiceError } from '../errors.ts';
import { isStoreUnavailable } from '../stores/types.ts';
import type { Metrics } from './metrics.ts';

export function problemType(code: string): string {
  return `urn:yagona-id:error:${code}`;
}

export function sendProblem(res: Response, error: ServiceError): void {
  if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
  if (error.code === 'session_invalid') {
    // RFC 6750 §3: a 401 names the scheme; `invalid_token` tells the client to sign in again.
    res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  }
  const detail = error.status >= 500 && error.code !== 'revocation_unknown' && error.code !== 'unavailable'
    ? 'the service could not complete the request'
    : error.message;
  res
    .status(error.status)
    .type('application/problem+json')
    .set('Cache-Control', 'no-store')
    .send(JSON.stringify({ type: problemType(error.code), title: error.title, status: error.status, detail, code: error.code }));
}

/** Maps body-parser failures to codes; everything unknown becomes a generic 500. */
export function toServiceError(error: unknown): ServiceError {
  if (isServiceError(error)) return error;
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new ServiceError('payload_too_large', 'the request body is larger than 64 KiB');
  if (type === 'entity.parse.failed') return new ServiceError('invalid_request', 'the body is not valid JSON');
  if (typeof type === 'string' && type.startsWith('encoding.') || type === 'charset.unsupported' || type === 'entity.verify.failed') {
    return new ServiceError('invalid_request', 'the body encoding is not supported');
  }
  return new ServiceError('internal_error', 'internal error', { cause: error });
}

export function errorHandler(logger: Logger, metrics: Pick<Metrics, 'storeFailed'>) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const serviceError = toServiceError(error);
    if (isStoreUnavailable(serviceError)) metrics.storeFailed(serviceError.store);
    if (serviceError.status >= 500) logger.error({ reqId: req.id, err: serviceError.cause ?? serviceError, code: serviceError.code }, 'request failed');
    else logger.info({ reqId: req.id, code: serviceError.code }, 'request rejected');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, serviceError);
  };
}
