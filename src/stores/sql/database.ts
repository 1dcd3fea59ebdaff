// The durable stores (signing keys, revocations, audit log, OIDC clients) over knex: SQLite
// through better-sqlite3 for the embedded default, PostgreSQL in production. This file opens
// the database and migrates it; each store has its file beside it. Only src/stores/sql/
// imports knex.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import knex, { type Knex } from 'knex';
import type { Database } from '../types.ts';
import { auditStore } from './audit.ts';
import { clientStore } from './clients.ts';
import { guard, sqliteBusyTimeoutMs, type Dialect } from './dialect.ts';
import { migrationSource } from './migrations/index.ts';
import { postgresLookup, sqliteLookup } from './revocationLookup.ts';
import { revocationStore } from './revocations.ts';
import { signingKeyStore } from './signingKeys.ts';

export interface OpenDatabaseOptions {
  /** PostgreSQL only: the schema holding every table, created if missing (tests isolate in their own). */
  schema?: string;
  /** How long a call waits for a connection before failing with StoreUnavailableError. */
  connectTimeoutMs?: number;
  /**
   * Where knex's own log lines go ("Acquire connection error" with a stack, printed straight
   * to stderr by default); the failing call reports the same error anyway.
   */
  log?: (message: string) => void;
  /**
   * False when another process has just migrated this database (WORKERS: the primary did before
   * starting its workers), so processes starting together do not contend for the migration lock.
   */
  migrate?: boolean;
}

const defaultConnectTimeoutMs = 2000;
// Another process holding knex's migration lock (SQLite; PostgreSQL serialises before) is
// migrating right now: wait for it rather than fail the start.
const migrationLockWaitMs = 30_000;
// knex creates its bookkeeping tables without IF NOT EXISTS, so of two processes starting on
// a fresh SQLite file one fails there; on the retry it finds them and queues at the lock.
const racedAnotherProcess = (error: unknown) =>
  error instanceof Error && (error.name === 'MigrationLocked' || /table `knex_migrations(_lock)?` already exists/.test(error.message));

/** Opens `sqlite:PATH` or `postgres://…` and brings its schema up to date. */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const { dialect, config } = knexConfig(url, options);
  const db = knex(config);
  try {
    if (options.migrate !== false) await guard(() => (dialect === 'postgres' ? migratePostgres(db, options.schema) : migrate(db, undefined)));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  // Opened once the tables exist: SQLite prepares against the schema.
  const lookup = dialect === 'postgres'
    ? postgresLookup(url, options.schema, options.connectTimeoutMs ?? defaultConnectTimeoutMs)
    : sqliteLookup(sqliteFile(url));
  return {
    signingKeys: signingKeyStore(db),
    revocations: revocationStore(db, dialect, lookup),
    audit: auditStore(db, dialect, options.schema),
    clients: clientStore(db),
    ping: () => guard(async () => void (await db.raw('SELECT 1'))),
    close: async () => {
      await Promise.all([db.destroy(), lookup.close()]);
    },
  };
}

const sqliteFile = (url: string) => resolve(url.replace(/^sqlite:(\/\/)?/, ''));

function knexConfig(url: string, options: OpenDatabaseOptions): { dialect: Dialect; config: Knex.Config } {
  const acquireConnectionTimeout = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const log = options.log === undefined ? {} : { log: { warn: options.log, error: options.log, deprecate: options.log, debug: options.log } };
  if (url.startsWith('sqlite:')) {
    if (options.schema !== undefined) throw new TypeError('the schema option applies to PostgreSQL only');
    const filename = sqliteFile(url);
    mkdirSync(dirname(filename), { recursive: true });
    return {
      dialect: 'sqlite',
      config: {
        client: 'better-sqlite3',
        ...log,
        connection: { filename },
        useNullAsDefault: true,
        acquireConnectionTimeout,
        pool: {
          // knex keeps one SQLite connection, so this process's writes queue behind each other;
          // WAL lets readers in other processes (the admin CLI) run beside the writer.
          afterCreate(connection: { pragma(source: string): unknown }, done: (error: unknown, connection: unknown) => void) {
            try {
              connection.pragma('journal_mode = WAL');
              connection.pragma('foreign_keys = ON');
              // Waits (synchronously: better-sqlite3 blocks) for another process's write,
              // e.g. an admin CLI import, instead of failing at once with SQLITE_BUSY.
              connection.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
              done(null, connection);
            } catch (error) {
              done(error, connection);
            }
          },
        },
      },
    };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new TypeError(`invalid PostgreSQL schema name: ${options.schema}`);
    }
    return {
      dialect: 'postgres',
      config: {
        client: 'pg',
        ...log,
        connection: { connectionString: url, connectionTimeoutMillis: acquireConnectionTimeout },
        ...(options.schema === undefined ? {} : { searchPath: [options.schema] }),
        acquireConnectionTimeout,
        // min 0: no idle connections to go stale behind a firewall or a database restart.
        pool: { min: 0, max: 10 },
      },
    };
  }
  throw new TypeError('the database URL must be sqlite:PATH or postgres://…');
}

// Instances starting together would race on CREATE SCHEMA and on knex's own bookkeeping
// tables (both fail with a unique violation rather than wait), so PostgreSQL migrations run
// one instance at a time under an advisory lock held by a transaction on a side connection.
async function migratePostgres(db: Knex, schema: string | undefined): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${schema ?? 'public'}.migrations`]);
    if (schema !== undefined) await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
    await migrate(db, schema);
  });
}

async function migrate(db: Knex, schema: string | undefined): Promise<void> {
  const deadline = Date.now() + migrationLockWaitMs;
  for (;;) {
    try {
      await db.migrate.latest({ migrationSource, tableName: 'knex_migrations', ...(schema === undefined ? {} : { schemaName: schema }) });
      return;
    } catch (error) {
      if (!racedAnotherProcess(error) || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

