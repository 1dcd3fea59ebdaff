// The RateLimiter of types.ts over rate-limiter-flexible, for the Redis and in-process stores
// alike: a hit is one `consume` (on Redis one EVALSHA that increments and sets the window's
// expiry together), a refusal says when the window ends.
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimiter, RateLimitVerdict } from './types.ts';

const refused = (res: RateLimiterRes): RateLimitVerdict => ({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) });

/** `run` maps the store's outages to StoreUnavailableError, as for every other store call. */
export function rateLimiterOver(limiter: RateLimiterAbstract, run: <T>(call: () => Promise<T>) => Promise<T>): RateLimiter {
  return {
    // The library rejects with a RateLimiterRes past the limit, with an Error when the store fails.
    hit: (key) => run(async () => {
      try {
        await limiter.consume(key);
        return { allowed: true };
      } catch (error) {
        if (error instanceof RateLimiterRes) return refused(error);
        throw error;
      }
    }),
    peek: (key) => run(async () => {
      const res = await limiter.get(key);
      return res === null || res.consumedPoints < limiter.points ? { allowed: true } : refused(res);
    }),
  };
}
