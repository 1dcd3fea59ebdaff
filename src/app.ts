// createApp(deps): Express wiring only. It reads no environment and never listens.
import express from 'express';
import type { Logger } from 'pino';
import { ServiceError } from './errors.ts';
import { apiRouter, type ApiDeps } from './http/api.ts';
import type { Metrics } from './http/metrics.ts';
import { jsonBody } from './http/jsonBody.ts';
import { errorHandler, sendProblem } from './http/problem.ts';
import { limitPerAddress, type AddressLimits } from './http/rateLimit.ts';
import { requestLog } from './http/requestLog.ts';
import { securityHeaders } from './http/securityHeaders.ts';
import { wellKnownRouter } from './http/wellKnown.ts';
import { agentDownloadsRouter } from './http/agentDownloads.ts';
import { loginAssetsRouter } from './http/loginPage/assets.ts';
import { oidcRouter } from './http/oidc.ts';
import { accountRouter } from './http/account.ts';
import type { OidcDeps } from './oidc/provider.ts';
import type { KeyRing } from './keys/keyRing.ts';
import type { EimzoApiKey, TrustProxy } from './config.ts';

export interface AppDeps extends ApiDeps {
  issuerUrl: string;
  logger: Logger;
  keys: KeyRing;
  metrics: Metrics;
  /** Resolves when Redis and the database answer. */
  readiness: () => Promise<void>;
  /** Per-client-address limits, counted in the shared store. */
  limits: AddressLimits;
  /** Proxies whose X-Forwarded-For is believed (Express `trust proxy`, TRUST_PROXY); none when false. */
  trustProxy: TrustProxy;
  /** True once SIGTERM arrived: /readyz answers 503 while in-flight requests finish. */
  draining?: () => boolean;
  /** The OIDC endpoints for agency apps. */
  oidc: OidcDeps;
  /** The signing agent's packages offered for download (AGENT_DOWNLOADS_DIR). */
  agentDownloadsDir: string;
  /** What the sign-in page registers with E-IMZO (EIMZO_API_KEYS). */
  eimzoApiKeys: readonly EimzoApiKey[];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Responses are per request (challenges, tokens): an ETag would only cost a hash each time.
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy === false || typeof deps.trustProxy === 'number' ? deps.trustProxy : [...deps.trustProxy]);

  app.use(requestLog(deps.logger));

  app.use(securityHeaders({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"] } },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  }));

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    if (deps.draining?.() === true) {
      sendProblem(res, new ServiceError('unavailable', 'shutting down: finishing the requests in flight', { retryAfterSeconds: 1 }));
      return;
    }
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

  const limit = (name: keyof AddressLimits) => limitPerAddress(deps.limits[name], name, deps.metrics);
  const onPost = (handler: express.RequestHandler): express.RequestHandler => (req, res, next) => (req.method === 'POST' ? handler(req, res, next) : next());

  app.use('/v1', (_req, res, next) => {
    // Challenges, tokens and identities must never sit in a cache (RFC 6749 §5.1).
    res.set('Cache-Control', 'no-store');
    next();
  });
  // Sign-ins (POST /v1/sessions, /login/{id}) count per address inside the recipe, after the
  // challenge is burnt, so a refused one is audited like every other rejection.
  app.use('/v1/challenges', onPost(limit('challenges')));
  // Sign-in bodies that cannot be read still consume the challenge they name (http/jsonBody.ts).
  app.use('/v1/sessions', onPost(jsonBody('sign-in')));
  app.use('/v1', jsonBody('reject'));
  app.use('/v1', apiRouter(deps));
  // After the API: sign-ins, the busiest requests, should not walk past these routers first.
  app.use(wellKnownRouter({ issuerUrl: deps.issuerUrl, keys: deps.keys }));
  app.use(loginAssetsRouter());
  app.use(agentDownloadsRouter(deps.agentDownloadsDir));
  app.use('/login', (req, res, next) => (req.method === 'GET' ? limit('loginPage')(req, res, next) : next()));
  app.use('/authorize', limit('authorize'));
  app.use(accountRouter(deps.oidc));
  app.use(oidcRouter({ oidc: deps.oidc, metrics: deps.metrics, logger: deps.logger, tokenLimit: deps.limits.token, eimzoApiKeys: deps.eimzoApiKeys }));

  app.use((_req, res) => { sendProblem(res, new ServiceError('not_found', 'no such resource')); });
  app.use(errorHandler(deps.logger, deps.metrics));
  return app;
}
