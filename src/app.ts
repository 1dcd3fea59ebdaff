// createApp(deps): Express wiring only. It reads no environment and never listens.
import express, { type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { ServiceError } from './errors.ts';
import { apiRouter, type ApiDeps } from './http/api.ts';
import type { Metrics } from './http/metrics.ts';
import { errorHandler, sendProblem } from './http/problem.ts';
import { requestLog } from './http/requestLog.ts';
import { wellKnownRouter } from './http/wellKnown.ts';
import { loginAssetsRouter } from './http/loginPage/assets.ts';
import { oidcRouter } from './http/oidc.ts';
import type { OidcDeps } from './oidc/provider.ts';
import type { KeyRing } from './keys/keyRing.ts';

export interface AppDeps extends ApiDeps {
  issuerUrl: string;
  logger: Logger;
  keys: KeyRing;
  metrics: Metrics;
  /** Resolves when Redis and the database answer. */
  readiness: () => Promise<void>;
  /** Sign-in attempts (challenges + sessions) one client address may make per minute. */
  rateLimitPerMinute: number;
  /** Shared counter store for rate limits (Redis when configured); in-process when absent. */
  rateLimitStore?: (prefix: string) => Store;
  /** Proxies whose X-Forwarded-For is believed (Express `trust proxy`); none by default. */
  trustProxy?: boolean | number | string;
  /** The OIDC endpoints for agency apps. */
  oidc: OidcDeps;
}

const bodyLimit = '64kb';

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Responses are per request (challenges, tokens): an ETag would only cost a hash each time.
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? false);

  app.use(requestLog(deps.logger));

  app.use(helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"] } },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  }));

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.readiness();
      res.json({ status: 'ready' });
    } catch (error) {
      deps.logger.warn({ err: error }, 'not ready');
      sendProblem(res, new ServiceError('unavailable', 'Redis or the database does not answer', { retryAfterSeconds: 1 }));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const limiter = (prefix: string) => rateLimit({
    windowMs: 60_000,
    limit: deps.rateLimitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req: Request) => clientKey(req.ip),
    // clientKey applies ipKeyGenerator to IPv6; the library's source-text heuristic cannot see that.
    validate: { keyGeneratorIpFallback: false },
    ...(deps.rateLimitStore ? { store: deps.rateLimitStore(prefix) } : {}),
    handler: (_req: Request, res: Response) => {
      sendProblem(res, new ServiceError('rate_limited', 'too many sign-in attempts from this address; try again later', { retryAfterSeconds: 60 }));
    },
  });

  app.use('/v1', (_req, res, next) => {
    // Challenges, tokens and identities must never sit in a cache (RFC 6749 §5.1).
    res.set('Cache-Control', 'no-store');
    next();
  });
  const challengeLimiter = limiter('challenges:');
  const sessionLimiter = limiter('sessions:');
  app.use('/v1/challenges', challengeLimiter);
  app.use('/v1/sessions', (req, res, next) => (req.method === 'POST' ? sessionLimiter(req, res, next) : next()));
  // Only application/json: a text/plain "simple request" from another site gets no body.
  app.use('/v1', express.json({ limit: bodyLimit, strict: true, type: 'application/json' }));
  app.use('/v1', apiRouter(deps));
  // After the API: sign-ins, the busiest requests, should not walk past these routers first.
  app.use(wellKnownRouter({ issuerUrl: deps.issuerUrl, keys: deps.keys }));
  app.use(loginAssetsRouter());
  // A sign-in through the OIDC interaction counts against the same limit as POST /v1/sessions.
  app.use('/login', (req, res, next) => (req.method === 'POST' ? sessionLimiter(req, res, next) : next()));
  app.use(oidcRouter({ oidc: deps.oidc, metrics: deps.metrics, logger: deps.logger }));

  app.use((_req, res) => { sendProblem(res, new ServiceError('not_found', 'no such resource')); });
  app.use(errorHandler(deps.logger));
  return app;
}

/** IPv4 (also IPv4-mapped IPv6) as is; other IPv6 addresses by their /56, as one client. */
function clientKey(ip: string | undefined): string {
  if (ip === undefined) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return v4?.[1] ?? ipKeyGenerator(ip);
}
