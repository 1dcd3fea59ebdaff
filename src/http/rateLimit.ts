// Per-client-address limits (docs/configuration.md "Rate limits"). The counters live in the
// ephemeral store, so with Redis every instance shares them and a restart keeps them. The
// address is Express's `req.ip`: behind TRUST_PROXY's proxies, the client's own, so one
// client reaching its limit never blocks another behind the same proxy.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isIPv6 } from 'node:net';
import { ServiceError } from '../errors.ts';
import type { RateLimiter } from '../stores/types.ts';
import type { Metrics } from './metrics.ts';

/** The limiters counted per client address, one per kind of request. */
export interface AddressLimits {
  challenges: RateLimiter;
  /** POST /v1/sessions and POST /login/{id} together. */
  signIns: RateLimiter;
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

/**
 * IPv4 (also IPv4-mapped IPv6) as is; other IPv6 addresses by their /56, the smallest prefix
 * a provider hands one customer (RIPE-690 §4.2), so one client cannot rotate through its own.
 */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4?.[1] !== undefined) return v4[1];
  if (!isIPv6(ip)) return ip;
  // A dotted IPv4 tail (RFC 4291 §2.2 form 3) stands for the last two groups.
  const [head = '', tail = ''] = ip.replace(/:\d+\.\d+\.\d+\.\d+$/, ':0:0').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  const prefix = groups.slice(0, 4).map((group) => parseInt(group, 16));
  prefix[3] = (prefix[3] ?? 0) & 0xff00;
  return `${prefix.map((group) => group.toString(16)).join(':')}::/56`;
}
