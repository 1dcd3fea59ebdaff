// Builds the service from its parts, for main.ts and for tests that run the real app in-process:
// both get the same wiring, only the stores and the clock differ.
import type { Logger } from 'pino';
import type { AppDeps } from './app.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { createMetrics } from './http/metrics.ts';
import { createChallenges } from './login/challenges.ts';
import { createSessions } from './login/sessions.ts';
import { createCertificateVerifier, type TrustMaterial } from './login/verifier.ts';
import { openKeyRing } from './oidc/keys.ts';
import { createLocalRevocationChecker } from './revocation/local.ts';
import type { Database, EphemeralStore } from './stores/types.ts';

export interface ServiceParts {
  config: Config;
  ephemeral: EphemeralStore;
  db: Database;
  trust: TrustMaterial;
  clock: Clock;
  logger: Logger;
  defaultMetrics?: boolean;
}

export async function composeService(parts: ServiceParts): Promise<AppDeps> {
  const { config, ephemeral, db, clock, logger } = parts;
  const keys = await openKeyRing({ store: db.signingKeys, clock, secret: config.keysSecret, retainSeconds: config.sessionTtlSeconds });
  const challenges = createChallenges({ store: ephemeral, clock, issuer: config.issuerUrl, ttlSeconds: config.challengeTtlSeconds });
  const sessions = createSessions({ store: ephemeral, keys, clock, issuer: config.issuerUrl, ttlSeconds: config.sessionTtlSeconds });
  return {
    issuerUrl: config.issuerUrl,
    logger,
    keys,
    challenges,
    sessions,
    metrics: createMetrics({ defaultMetrics: parts.defaultMetrics ?? false }),
    rateLimitPerMinute: config.rateLimitPerMinute,
    signIn: {
      challenges,
      sessions,
      verifier: createCertificateVerifier(parts.trust),
      revocation: createLocalRevocationChecker(db.revocations),
      audit: db.audit,
      clock,
      log: logger,
    },
    readiness: async () => {
      await Promise.all([ephemeral.ping(), db.ping()]);
    },
  };
}
