// What every SQL store shares: the two dialects, the mapping of driver failures to
// StoreUnavailableError, the date encoding, and synchronous work on knex's SQLite connection.
import type Sqlite from 'better-sqlite3';
import type { Knex } from 'knex';
import { StoreUnavailableError } from '../types.ts';

export type Dialect = 'sqlite' | 'postgres';

const networkErrorCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
]);

/**
 * Whether the database could not serve (as opposed to a mistake in our SQL, which stays a
 * plain error and a 500). PostgreSQL SQLSTATE classes: 08 connection exception, 53
 * insufficient resources, 57 operator intervention (shutdown, statement timeout), 58
 * system error; 40001/40P01 are serialization failure and deadlock.
 */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'KnexTimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (networkErrorCodes.has(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|PROTOCOL)/.test(code)) return true;
    if (/^(08|53|57|58)/.test(code) || code === '40001' || code === '40P01') return true;
  }
  // node-postgres reports a dropped or refused connection without a code.
  return /Connection terminated|timeout exceeded when trying to connect|connection error/i.test(error.message);
}

/** Runs one store call; a database that cannot serve becomes StoreUnavailableError (503). */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError('sql', { cause: error }) : error;
  }
}

// Dates are written as ISO 8601 UTC text on both dialects (timestamptz parses it; on
// SQLite the text sorts like time) and read back from a Date (pg) or that text (SQLite).
export const toSql = (date: Date) => date.toISOString();
export const fromSql = (value: unknown) => new Date(value as string | Date);


/**
 * How long a SQLite connection waits for another process's write lock (an admin CLI import,
 * another worker's audit append) before SQLITE_BUSY, i.e. 503.
 */
export const sqliteBusyTimeoutMs = 5000;

/**
 * Runs `run` on knex's one SQLite connection, borrowed from its pool so that no knex query runs
 * meanwhile: for a transaction written synchronously with statements prepared once
 * (`perConnection`), which holds the database's write lock only for the statements' own time.
 */
export async function onSqliteConnection<T>(db: Knex, run: (connection: Sqlite.Database) => T): Promise<T> {
  const connection = await db.client.acquireConnection() as Sqlite.Database;
  try {
    return run(connection);
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/** What `prepare` makes of a connection, made once per connection: knex may replace its connection (after an error), and a statement belongs to one. */
export function perConnection<T>(prepare: (connection: Sqlite.Database) => T): (connection: Sqlite.Database) => T {
  const made = new WeakMap<Sqlite.Database, T>();
  return (connection) => {
    let value = made.get(connection);
    if (value === undefined) {
      value = prepare(connection);
      made.set(connection, value);
    }
    return value;
  };
}
