// The registry lookup every sign-in makes (issue 12, target 3): statements prepared once through
// the driver — better-sqlite3's `prepare`, a PostgreSQL named statement — instead of a query
// knex builds, compiles and binds per request. Prepared statements rather than an index in
// memory kept current by the revocation epoch: the lookup still reads the committed registry,
// so a sign-in is refused the moment `admin revoke` commits (not up to one poll later), and a
// million revoked certificates cost each worker process no memory.
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import type { CertificateKey } from '../types.ts';

/** A row as both drivers return it; the store maps it to a RevocationRecord. */
export interface LookupRow {
  issuer: string;
  serial_hex: string;
  reason: string;
  revoked_at: string | Date;
  sha256: string | null;
  source: string;
  recorded_at: string | Date | null;
}

export interface RevocationLookup {
  /** The registry rows of `keys`, in no particular order (none when none is revoked). */
  rows(keys: readonly CertificateKey[]): Promise<LookupRow[]>;
  close(): Promise<void>;
}

const columns = 'issuer, serial_hex, reason, revoked_at, sha256, source, recorded_at';

/** One statement per path length (a path is a handful of certificates, so a handful of statements). */
const selectFor = (count: number, placeholder: (index: number) => string) =>
  `SELECT ${columns} FROM revocations WHERE ${Array.from({ length: count }, (_, i) => `(issuer = ${placeholder(2 * i)} AND serial_hex = ${placeholder(2 * i + 1)})`).join(' OR ')}`;

const values = (keys: readonly CertificateKey[]) => keys.flatMap((key) => [key.issuer, key.serialHex]);

/**
 * A connection of its own beside knex's (which keeps one SQLite connection for everything):
 * WAL lets it read while the other writes. A read here is a B-tree lookup of microseconds, so
 * it runs synchronously; the busy timeout only covers WAL recovery after a crashed writer.
 */
export function sqliteLookup(filename: string): RevocationLookup {
  const connection = new Sqlite(filename, { fileMustExist: true });
  connection.pragma('busy_timeout = 1000');
  const statements = new Map<number, Sqlite.Statement<string[], LookupRow>>();
  return {
    async rows(keys) {
      let statement = statements.get(keys.length);
      if (statement === undefined) {
        statement = connection.prepare<string[], LookupRow>(selectFor(keys.length, () => '?'));
        statements.set(keys.length, statement);
      }
      return statement.all(...values(keys));
    },
    async close() {
      connection.close();
    },
  };
}

/**
 * A small pool of its own: node-postgres prepares a named statement once per connection and
 * then only binds and executes it (extended protocol), so the server does not parse or plan
 * the query per sign-in either.
 */
export function postgresLookup(url: string, schema: string | undefined, connectTimeoutMs: number): RevocationLookup {
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: connectTimeoutMs,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection the server closes is reported here; the next query connects anew.
  pool.on('error', () => {});
  const queries = new Map<number, { name: string; text: string }>();
  return {
    async rows(keys) {
      let query = queries.get(keys.length);
      if (query === undefined) {
        query = { name: `revocations-first-${keys.length}`, text: selectFor(keys.length, (i) => `$${i + 1}`) };
        queries.set(keys.length, query);
      }
      return (await pool.query<LookupRow>({ ...query, values: values(keys) })).rows;
    },
    close: () => pool.end(),
  };
}
