// The real app, in-process, on a real port, with real stores: Redis or the in-process twin,
// SQLite or PostgreSQL. Tests talk to it over HTTP with fetch.
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../../src/app.ts';
import { createAppServer } from '../../src/http/server.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { composeService } from '../../src/compose.ts';
import type { ComposedService } from '../../src/compose.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Database, EphemeralStore } from '../../src/stores/types.ts';
import { openTestDatabases, requireRedis, testRedisUrl, uniqueKeyPrefix, unlimitedRates, type TestDatabase } from './services.ts';
import type { TestPki } from './testPki.ts';

export interface TestApp {
  url: string;
  deps: ComposedService;
  ephemeral: EphemeralStore;
  db: Database;
  config: Config;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** Every session key the store holds (Redis or memory). */
  sessionCount(): Promise<number>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  store: 'redis' | 'memory';
  database: TestDatabase;
  /** The trust material: the anchors, and the intermediates `knownIntermediates` configures. */
  pki: Pick<TestPki, 'anchors' | 'intermediates'>;
  clock?: Clock;
  env?: Record<string, string>;
  /** Another Redis than the test Redis, e.g. a closed port to play "Redis is down". */
  redisUrl?: string;
  /** ISSUER_URL = the app's real URL (OIDC clients check it); otherwise a fixed stand-in. */
  realIssuer?: boolean;
  /** Also configure the citizen CA as a known intermediate (INTERMEDIATES_DIR). */
  knownIntermediates?: boolean;
  /** Redis key prefix; give two apps the same one to make them instances of one service. */
  keyPrefix?: string;
  /** The in-process store's bound (store: 'memory'). */
  memoryMaxEntries?: number;
}

export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  // The port is taken first so ISSUER_URL can be the real address (`realIssuer`).
  const { server, serve } = createAppServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = options.realIssuer ? url : 'http://127.0.0.1:0';
  const config = loadConfig({ LOG_LEVEL: 'silent', ISSUER_URL: issuer, TRUST_ANCHORS_DIR: 'unused', ...unlimitedRates, ...options.env });
  const prefix = options.keyPrefix ?? uniqueKeyPrefix('app');
  if (options.store === 'redis' && options.redisUrl === undefined) await requireRedis();
  const inner = options.store === 'redis' ? createRedisStore(options.redisUrl ?? testRedisUrl(), { keyPrefix: prefix })
    : createMemoryStore(options.memoryMaxEntries === undefined ? {} : { maxEntries: options.memoryMaxEntries });
  const sessionKeys = new Set<string>();
  // Records every session key the app writes, so tests can prove a rejection wrote none.
  const ephemeral: EphemeralStore = {
    ...inner,
    put: async (key, value, ttl, putOptions) => {
      if (key.startsWith('session:')) sessionKeys.add(key);
      await inner.put(key, value, ttl, putOptions);
    },
  };
  const db = await options.database.open();
  const logger = pino({ level: 'silent' });
  const deps = await composeService({
    config, ephemeral, db, logger, clock: options.clock ?? systemClock,
    trust: { anchors: options.pki.anchors, intermediates: options.knownIntermediates ? options.pki.intermediates : [] },
  });
  serve(createApp(deps));
  return {
    url, deps, ephemeral, db, config,
    post: (path, body, headers = {}) => fetch(`${url}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
    get: (path, headers = {}) => fetch(`${url}${path}`, { headers }),
    async sessionCount() {
      const live = await Promise.all([...sessionKeys].map((key) => inner.get(key)));
      return live.filter((value) => value !== undefined).length;
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await deps.stop();
      await ephemeral.close();
      await db.close();
    },
  };
}

export { openTestDatabases };
