// The composition root: config → stores → trust → app → listen, and a graceful shutdown. With
// WORKERS > 1 the first process sets up what must happen once and runs the workers (cluster.ts),
// and each worker, this same file again, serves.
import cluster from 'node:cluster';
import { once } from 'node:events';
import { pino, type Logger } from 'pino';
import { createApp } from './app.ts';
import { createDrain } from './http/drain.ts';
import { createAppServer } from './http/server.ts';
import { systemClock } from './clock.ts';
import { ConfigError, devPkiDir, loadConfig, withTrustPolicy, type Config } from './config.ts';
import { superviseWorkers } from './cluster.ts';
import { composeService } from './compose.ts';
import { serviceNodeFlags, startedWithServiceFlags } from './heap.ts';
import { openKeyRing } from './keys/keyRing.ts';
import { loadTrustMaterial } from './login/trustFiles.ts';
import { demoAgencyClientId, demoAgencyFile, describeDemoAgency, ensureDemoAgency } from './oidc/demoAgency.ts';
import { createMemoryStore } from './stores/memory.ts';
import { createRedisNotifier, createRedisStore } from './stores/redis.ts';
import { openDatabase } from './stores/sql/database.ts';
import type { Database } from './stores/types.ts';

async function main(): Promise<void> {
  const loaded = loadConfig();
  const logger = pino({ level: loaded.logLevel, redact: ['req.headers.authorization', '*.password', '*.accessToken'] });
  // A worker finds the primary's work done: two processes must not each make a development PKI.
  if (loaded.devPki && cluster.isPrimary) {
    // Loaded only here: a production start never loads the certificate-issuing tooling.
    const { createDevPki } = await import('./devPki.ts');
    const pki = await createDevPki(devPkiDir, { issuerUrl: loaded.issuerUrl });
    if (pki.created) printDevPki(pki.citizens);
  }
  // The development PKI's trust policy exists only now; TRUST_POLICY_FILE was read with the variables.
  const config = withTrustPolicy(loaded);
  if (config.nodeEnv === 'production' && cluster.isPrimary && !startedWithServiceFlags()) {
    logger.warn(`started without ${serviceNodeFlags.join(' ')} (package.json "start", deploy/systemd): under load V8 collects the whole heap every second or two and sign-ins wait for it (docs/operations.md "Heap")`);
  }
  if (cluster.isPrimary && config.workers > 1) {
    await setUpOnce(config, logger);
    superviseWorkers(config.workers, logger);
    return;
  }
  await serve(config, logger);
}

/**
 * Before the workers start, what would otherwise race between them: the migrations, the first
 * signing keys (each worker would make its own) and the demo agency. The trust folders are read
 * here too, so a bad one stops the start with its line once instead of in every worker.
 */
async function setUpOnce(config: Config, logger: Logger): Promise<void> {
  await loadTrustMaterial(config.trustAnchorsDir, config.intermediatesDir);
  const db = await openDatabase(config.databaseUrl);
  try {
    await openKeyRing({ store: db.signingKeys, clock: systemClock, secret: config.keysSecret, retainSeconds: config.sessionTtlSeconds });
    await setUpDemoAgency(config, db, logger);
  } finally {
    await db.close();
  }
}

async function setUpDemoAgency(config: Config, db: Database, logger: Logger): Promise<void> {
  if (!config.devPki) return;
  // Development only, like the dev PKI: the demo agency app, so `npm run demo:agency` works.
  const demo = await ensureDemoAgency(db.clients, { issuer: config.issuerUrl, at: new Date() });
  const { level, message } = describeDemoAgency(demo, config.issuerUrl);
  logger[level]({ clientId: demoAgencyClientId, file: demoAgencyFile, outcome: demo.kind }, message);
}

/** One serving process: the whole service alone, or one worker of several. */
async function serve(config: Config, logger: Logger): Promise<void> {
  if (config.trustPolicy !== undefined) {
    logger.info({ file: config.trustPolicy.file, issuers: config.trustPolicy.issuers.map((issuer) => issuer.name) }, 'trust policy');
  } else {
    logger.warn('TRUST_POLICY_FILE is not set: every CA under the trust anchors may sign anyone in, with any identifier (allowed outside production only)');
  }
  const trust = await loadTrustMaterial(config.trustAnchorsDir, config.intermediatesDir);
  for (const anchor of trust.anchorSummaries) logger.info({ subject: anchor.subject, sha256: anchor.sha256 }, 'trust anchor');

  // A worker's database was migrated by the primary just before it started.
  const db = await openDatabase(config.databaseUrl, { migrate: cluster.isPrimary });
  const ephemeral = config.redisUrl === undefined ? createMemoryStore() : createRedisStore(config.redisUrl);
  if (config.redisUrl === undefined) {
    logger.warn('REDIS_URL is not set: using the in-process store, which serves ONE instance only (development)');
  }

  // Redis pub/sub tells every instance of a revocation at once; the epoch poll is the backstop.
  const notifier = config.redisUrl === undefined ? undefined : createRedisNotifier(config.redisUrl, { onHandlerError: (err) => logger.warn({ err }, 'notification handler failed') });
  const deps = await composeService({ config, ephemeral, db, trust, clock: systemClock, logger, defaultMetrics: true, ...(notifier === undefined ? {} : { notifier }) });
  if (cluster.isPrimary) await setUpDemoAgency(config, db, logger);
  // The app asks the drain (made from the server) whether it is draining; it asks only later.
  const { server, serve } = createAppServer();
  const drain = createDrain(server, config.shutdownGraceSeconds * 1000);
  serve(createApp({ ...deps, draining: () => drain.draining() }));
  server.listen(config.port);
  await once(server, 'listening');
  // Slow-loris bounds (docs/security-cases.md #136): headers and whole requests must arrive promptly.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  logger.info({ url: config.issuerUrl, port: config.port }, 'Yagona ID is listening');

  const stop = async (signal: string) => {
    if (drain.draining()) return;
    logger.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'draining: no new connections, answering the requests in flight');
    const { forced } = await drain.drain();
    if (forced) logger.warn('the grace period ended with requests still in flight; their connections were closed');
    // The stores close only now: a request in flight still needed them.
    await deps.stop();
    await Promise.allSettled([ephemeral.close(), db.close(), notifier?.close()]);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));
}

function printDevPki(citizens: Array<{ name: string; file: string; password: string }>): void {
  // Printed once, on creation: the passwords are not stored anywhere else.
  const lines = [
    '',
    `Development PKI created under ${devPkiDir}/ (root CA, citizen CA, demo citizens).`,
    'Demo key files and their passwords (shown only now):',
    ...citizens.map((c) => `  ${c.file}  password: ${c.password}  (${c.name})`),
    `Try: npm run admin -- sign-in --p12 ${citizens[0]?.file ?? 'FILE'} --password PASSWORD`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  // One clear line for bad configuration or a failed start; no stack for the expected cases.
  const message = error instanceof ConfigError ? error.message : `cannot start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
