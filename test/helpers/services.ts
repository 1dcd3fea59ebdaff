// Real backing services for the tests: Redis and PostgreSQL at TEST_REDIS_URL and
// TEST_DATABASE_URL, and SQLite files. An unreachable service FAILS the suite with the
// command that starts it (README "Two commands": nothing is skipped). Every test gets its own key
// prefix, every test file its own PostgreSQL schema and SQLite file.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { createRedisStore } from '../../src/stores/redis.ts';
import { openDatabase, type OpenDatabaseOptions } from '../../src/stores/sql/database.ts';
import type { Database } from '../../src/stores/types.ts';

/** Every rate limit out of the way, for tests that are not about them (they sign in often, from one address). */
export const unlimitedRates: Readonly<Record<string, string>> = {
  RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_AUTHORIZE_PER_MINUTE: '100000', RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
  RATE_LIMIT_TOKEN_PER_MINUTE: '100000', RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE: '100000', RATE_LIMIT_CERTIFICATE_PER_MINUTE: '100000',
};

const startRedis = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';
const startPostgres = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const reachTimeoutMs = 2000;

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
}

export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
}

const reason = (error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
};

/** Resolves when Redis answers PING; otherwise throws saying how to start it. */
export async function requireRedis(url = testRedisUrl()): Promise<void> {
  let connectionError: unknown;
  const probe = createRedisStore(url, {
    connectTimeoutMs: reachTimeoutMs,
    commandTimeoutMs: reachTimeoutMs,
    onError: (error) => { connectionError = error; },
  });
  try {
    await probe.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${url} (${reason(connectionError ?? error)}). Start it with:\n  ${startRedis}\nor point TEST_REDIS_URL at a running Redis (>= 6.2).`);
  } finally {
    await probe.close();
  }
}

/** A key prefix no other test uses, so tests can share one Redis and run in parallel. */
export function uniqueKeyPrefix(label = 'test'): string {
  return `yagona-test:${label}:${randomBytes(6).toString('hex')}:`;
}

async function postgresClient(url: string, schema?: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: reachTimeoutMs,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${url} (${reason(error)}). Start it with:\n  ${startPostgres}\nor point TEST_DATABASE_URL at a running PostgreSQL.`);
  }
  return client;
}

/** Resolves when PostgreSQL answers; otherwise throws saying how to start it. */
export async function requirePostgres(url = testDatabaseUrl()): Promise<void> {
  const client = await postgresClient(url);
  await client.end();
}

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  url: string;
  /** The openDatabase options that isolate this test file (its PostgreSQL schema). */
  options: OpenDatabaseOptions;
  /** Opens (and migrates) the database; call as often as needed, close each. */
  open(): Promise<Database>;
  /** Runs SQL on the database behind the stores' back, as someone with direct access would. */
  exec(sql: string): Promise<void>;
  /** Drops the schema or removes the file. */
  cleanup(): Promise<void>;
}

async function sqliteTestDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'yagona-test-'));
  // A nested path, so every test also covers openDatabase creating the parent directory.
  const file = join(dir, 'data', 'yagona.sqlite');
  const url = `sqlite:${file}`;
  return {
    kind: 'sqlite',
    url,
    options: {},
    open: () => openDatabase(url),
    async exec(sql) {
      const db = new Sqlite(file, { timeout: reachTimeoutMs });
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function postgresTestDatabase(): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  await requirePostgres(url);
  const schema = `test_${randomBytes(6).toString('hex')}`;
  return {
    kind: 'postgres',
    url,
    options: { schema },
    open: () => openDatabase(url, { schema }),
    async exec(sql) {
      const client = await postgresClient(url, schema);
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      const client = await postgresClient(url);
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A fresh SQLite file or PostgreSQL schema; call `cleanup()` in `after`. */
export function openTestDatabase(kind: TestDatabase['kind']): Promise<TestDatabase> {
  return kind === 'sqlite' ? sqliteTestDatabase() : postgresTestDatabase();
}

/** A fresh SQLite file and a fresh PostgreSQL schema; call `cleanup()` on each in `after`. */
export async function openTestDatabases(): Promise<TestDatabase[]> {
  return [await openTestDatabase('sqlite'), await openTestDatabase('postgres')];
}
