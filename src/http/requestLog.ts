// One log line per request with its id, using pino directly: pino-http made a child logger
// and serialised request objects for every request, which cost more than the signature checks.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's X-Request-Id when well-formed, else a fresh UUID. */
    id: string;
  }
}

const requestIdPattern = /^[A-Za-z0-9._-]{8,64}$/;

export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    if (logger.isLevelEnabled('info')) {
      const started = process.hrtime.bigint();
      // Read now: a router mounted at /v1 shortens req.path for its routes, and a request
      // answered there finishes before the router puts it back (the log said "/sessions").
      const path = req.path;
      res.on('finish', () => {
        // Only what identifies a request: never headers (Authorization) nor bodies (keys, tokens).
        logger.info({
          // The client's address as TRUST_PROXY yields it: behind a trusted proxy, from X-Forwarded-For.
          reqId: req.id, ip: req.ip, method: req.method, path, status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        }, 'request');
      });
    }
    next();
  };
}
