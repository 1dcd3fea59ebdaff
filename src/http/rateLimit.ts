// Per-client-address limits (docs/configuration.md "Rate limits"). The counters live in the
// ephemeral store, so with Redis every instance shares them and a restart keeps them. The
// address is Express's `req.ip`: behind TRUST_PROXY's proxies, the client's own, so one
// client reaching its limit never blocks another behind the same proxy.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ServiceError } from '../errors.ts';
import { addressKey } from '../login/addressKey.ts';
import type { RateLimiter } from '../stores/types.ts';
import type { Metrics } from './metrics.ts';

/** The limiters counted per client address, one per kind of request. */
export interface AddressLimits {
  challenges: RateLimiter;
  authorize: RateLimiter;
  loginPage: RateLimiter;
  token: RateLimiter;
}

/** Counts the request against `limiter` under its client address; past the limit, throws 429 `rate_limited`. */
export async function countPerAddress(limiter: RateLimiter, name: keyof AddressLimits, req: Request, metrics: Metrics): Promise<void> {
  const verdict = await limiter.hit(addressKey(req.ip));
  if (verdict.allowed) return;
  metrics.rateLimited(name);
  throw new ServiceError('rate_limited', 'too many requests from this address; try again later', { retryAfterSeconds: verdict.retryAfterSeconds });
}

/** countPerAddress as middleware: the 429 is problem+json through the app's error handler. */
export function limitPerAddress(limiter: RateLimiter, name: keyof AddressLimits, metrics: Metrics): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    countPerAddress(limiter, name, req, metrics).then(() => next(), next);
  };
}
