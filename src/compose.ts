// Builds the service from its parts, for main.ts and for tests that run the real app in-process:
// both get the same wiring, only the stores and the clock differ.
import type { Logger } from 'pino';
import type { AppDeps } from './app.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { createMetrics } from './http/metrics.ts';
import { createChallenges } from './login/challenges.ts';
import { createSessionEnding, createSessions } from './sessions/sessions.ts';
import { originOf } from './login/originBinding.ts';
import { createCertificateVerifier, type TrustMaterial } from './login/verifier.ts';
import { loadSignatureAlgorithms } from './login/algorithms.ts';
import { createTrustPolicyChecker } from './login/trustPolicy.ts';
import { watchSigningKeys } from './keys/keyWatch.ts';
import { openKeyRing } from './keys/keyRing.ts';
import { createOidc } from './oidc/provider.ts';
import { signingKeyRetentionSeconds } from './oidc/tokens.ts';
import { createLocalRevocationChecker } from './revocation/local.ts';
import { createConfiguredRevocationChecker } from './revocation/sources.ts';
import { createRevocationWatcher, type RevocationWatcher } from './revocation/watcher.ts';
import type { CertificateKey, Database, EphemeralStore, Notifier } from './stores/types.ts';

export interface ServiceParts {
  config: Config;
  ephemeral: EphemeralStore;
  db: Database;
  trust: TrustMaterial;
  clock: Clock;
  logger: Logger;
  defaultMetrics?: boolean;
  /** Cross-instance messages (Redis); without it revocations still arrive by the epoch poll. */
  notifier?: Notifier;
}

export interface ComposedService extends AppDeps {
  revocationWatcher: RevocationWatcher;
  /** Stops the background work (revocation poll, key reloads); the stores stay the caller's to close. */
  stop(): Promise<void>;
}

export async function composeService(parts: ServiceParts): Promise<ComposedService> {
  const { config, ephemeral, db, clock, logger } = parts;
  const algorithms = await loadSignatureAlgorithms(config);
  const keys = await openKeyRing({ store: db.signingKeys, clock, secret: config.keysSecret, retainSeconds: signingKeyRetentionSeconds(config.sessionTtlSeconds) });
  const perMinute = (name: string, points: number) => ephemeral.rateLimiter(name, { points, durationSeconds: 60 });
  const challenges = createChallenges({ store: ephemeral, clock, issuer: config.issuerUrl, ttlSeconds: config.challengeTtlSeconds });
  // Bound below, once the OIDC parts exist: agency apps hear of revoked certificates' sign-ins.
  let onRevoked: (certificate: CertificateKey & { sha256?: string }) => Promise<void> = async () => {};
  const revocationWatcher = createRevocationWatcher({
    registry: db.revocations, sessions: createSessionEnding(ephemeral), log: logger, sessionTtlSeconds: config.sessionTtlSeconds,
    onRevoked: (certificate) => onRevoked(certificate),
    ...(parts.notifier === undefined ? {} : { notifier: parts.notifier }),
  });
  await revocationWatcher.start();
  const stopKeyWatch = await watchSigningKeys({ keys, log: logger, ...(parts.notifier === undefined ? {} : { notifier: parts.notifier }) });
  const sessions = createSessions({
    store: ephemeral, keys, clock, issuer: config.issuerUrl, ttlSeconds: config.sessionTtlSeconds, revoked: revocationWatcher,
  });
  const trustPolicy = createTrustPolicyChecker(config.trustPolicy);
  const metrics = createMetrics({ defaultMetrics: parts.defaultMetrics ?? false, revocationPollAgeSeconds: () => revocationWatcher.pollAgeSeconds() });
  const signIn = {
    challenges,
    sessions,
    verifier: createCertificateVerifier(parts.trust, { origin: originOf(config.issuerUrl), algorithms, pinned: trustPolicy.pinned }),
    trustPolicy,
    revocation: createConfiguredRevocationChecker({
      config, local: createLocalRevocationChecker(db.revocations), store: ephemeral, anchors: parts.trust.anchors, log: logger, clock, algorithms,
      onCrlRead: (read) => metrics.crlRead(read),
    }),
    audit: db.audit,
    // POST /v1/sessions and /login/{id} share the per-address count.
    limits: { perAddress: perMinute('sign-ins', config.rateLimits.perAddress), perCertificate: perMinute('certificate', config.rateLimits.perCertificate) },
    clock,
    log: logger,
  };
  const oidc = createOidc({
    issuer: config.issuerUrl, store: ephemeral, keys, clock, sessions, clients: db.clients, revocations: db.revocations, signIn, log: logger,
    tokenFailures: perMinute('token-failures', config.rateLimits.tokenFailuresPerClient),
    ssoIdleSeconds: config.ssoIdleSeconds, ssoMaxSeconds: config.ssoMaxSeconds,
  });
  onRevoked = (certificate) => oidc.backChannel.certificateRevoked(certificate);
  return {
    revocationWatcher,
    stop: async () => {
      await Promise.all([revocationWatcher.close(), stopKeyWatch()]);
    },
    issuerUrl: config.issuerUrl,
    logger,
    keys,
    challenges,
    sessions,
    metrics,
    trustProxy: config.trustProxy,
    limits: {
      challenges: perMinute('challenges', config.rateLimits.perAddress),
      authorize: perMinute('authorize', config.rateLimits.authorizePerAddress),
      loginPage: perMinute('login-page', config.rateLimits.loginPagePerAddress),
      token: perMinute('token', config.rateLimits.tokenPerAddress),
    },
    agentDownloadsDir: config.agentDownloadsDir,
    eimzoApiKeys: config.eimzoApiKeys,
    signIn,
    oidc,
    readiness: async () => {
      await Promise.all([ephemeral.ping(), db.ping()]);
    },
  };
}
