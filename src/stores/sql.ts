// The durable stores (signing keys, revocations, audit log) over knex: SQLite through
// better-sqlite3 for the embedded default, PostgreSQL in production. The only module
// besides migrations/ that imports knex.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import knex, { type Knex } from 'knex';
import { migrationSource } from './migrations/index.ts';
import { clientStore } from './sqlClients.ts';
import {
  StoreUnavailableError,
  type AuditChainResult, type AuditEvent, type AuditRecord, type AuditStore, type Database,
  type RevocationChange, type RevocationReason, type RevocationRecord, type RevocationStore, type SigningKeyRecord, type SigningKeyStore,
} from './types.ts';

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
}

type Dialect = 'sqlite' | 'postgres';

const defaultConnectTimeoutMs = 2000;
// Another process holding knex's migration lock (SQLite; PostgreSQL serialises before) is
// migrating right now: wait for it rather than fail the start.
const migrationLockWaitMs = 30_000;
// knex creates its bookkeeping tables without IF NOT EXISTS, so of two processes starting on
// a fresh SQLite file one fails there; on the retry it finds them and queues at the lock.
const racedAnotherProcess = (error: unknown) =>
  error instanceof Error && (error.name === 'MigrationLocked' || /table `knex_migrations(_lock)?` already exists/.test(error.message));
const genesisHash = '0'.repeat(64);

/** Opens `sqlite:PATH` or `postgres://…` and brings its schema up to date. */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const { dialect, config } = knexConfig(url, options);
  const db = knex(config);
  try {
    await guard(() => (dialect === 'postgres' ? migratePostgres(db, options.schema) : migrate(db, undefined)));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    signingKeys: signingKeyStore(db),
    revocations: revocationStore(db, dialect),
    audit: auditStore(db, dialect, options.schema),
    clients: clientStore(db, guard),
    ping: () => guard(async () => void (await db.raw('SELECT 1'))),
    close: () => db.destroy(),
  };
}

function knexConfig(url: string, options: OpenDatabaseOptions): { dialect: Dialect; config: Knex.Config } {
  const acquireConnectionTimeout = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const log = options.log === undefined ? {} : { log: { warn: options.log, error: options.log, deprecate: options.log, debug: options.log } };
  if (url.startsWith('sqlite:')) {
    if (options.schema !== undefined) throw new TypeError('the schema option applies to PostgreSQL only');
    const filename = resolve(url.replace(/^sqlite:(\/\/)?/, ''));
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
              connection.pragma('busy_timeout = 5000');
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

async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError('sql', { cause: error }) : error;
  }
}

// Dates are written as ISO 8601 UTC text on both dialects (timestamptz parses it; on
// SQLite the text sorts like time) and read back from a Date (pg) or that text (SQLite).
const toSql = (date: Date) => date.toISOString();
const fromSql = (value: unknown) => new Date(value as string | Date);

interface SigningKeyRow {
  kid: string;
  alg: string;
  private_key: string;
  public_key: string;
  created_at: string | Date;
  retired_at: string | Date | null;
}

function signingKeyStore(db: Knex): SigningKeyStore {
  return {
    list: () => guard(async () => {
      const rows = await db<SigningKeyRow>('signing_keys').select('*').orderBy([{ column: 'created_at' }, { column: 'kid' }]);
      return rows.map((row): SigningKeyRecord => ({
        kid: row.kid,
        alg: row.alg as SigningKeyRecord['alg'],
        privateKey: row.private_key,
        publicKey: row.public_key,
        createdAt: fromSql(row.created_at),
        retiredAt: row.retired_at === null ? null : fromSql(row.retired_at),
      }));
    }),

    insert: (record) => guard(async () => {
      await db('signing_keys').insert({
        kid: record.kid,
        alg: record.alg,
        private_key: record.privateKey,
        public_key: record.publicKey,
        created_at: toSql(record.createdAt),
        retired_at: record.retiredAt === null ? null : toSql(record.retiredAt),
      });
    }),

    // Only the first retirement counts: a repeated rotation must not push the date forward.
    retire: (kid, at) => guard(async () => {
      await db('signing_keys').where({ kid }).whereNull('retired_at').update({ retired_at: toSql(at) });
    }),
  };
}

interface RevocationRow {
  issuer: string;
  serial_hex: string;
  reason: string;
  revoked_at: string | Date;
  sha256: string | null;
  source: string;
  epoch: number | string; // bigint: node-postgres returns it as text
  recorded_at: string | Date | null;
}

const revocationRow = (record: RevocationRecord, epoch: number, recordedAt: string): RevocationRow => ({
  issuer: record.issuer,
  serial_hex: record.serialHex,
  reason: record.reason,
  revoked_at: toSql(record.revokedAt),
  sha256: record.sha256 ?? null,
  source: record.source,
  epoch,
  recorded_at: recordedAt,
});

const revocationRecord = (row: RevocationRow): RevocationRecord => ({
  issuer: row.issuer,
  serialHex: row.serial_hex,
  reason: row.reason as RevocationReason,
  revokedAt: fromSql(row.revoked_at),
  ...(row.sha256 === null ? {} : { sha256: row.sha256 }),
  source: row.source,
  ...(row.recorded_at === null ? {} : { recordedAt: fromSql(row.recorded_at) }),
});

function revocationStore(db: Knex, dialect: Dialect): RevocationStore {
  const columns = ['issuer', 'serial_hex', 'reason', 'revoked_at', 'sha256', 'source', 'epoch', 'recorded_at'] as const;
  // Rows per INSERT: eight bound values each, under PostgreSQL's 65 535; knex writes a SQLite
  // multi-row insert as a compound SELECT, which SQLite caps at 500 terms.
  const chunkSize = dialect === 'sqlite' ? 400 : 5000;

  // ON CONFLICT DO NOTHING keeps the first record (its date and reason) and, with
  // RETURNING, tells which rows were new; duplicates inside one batch are fine too.
  const insertNew = async (trx: Knex | Knex.Transaction, rows: RevocationRow[]) =>
    (await trx('revocations').insert(rows).onConflict(['issuer', 'serial_hex']).ignore().returning('id')).length;

  // First statement of every registry change: the UPDATE takes the counter row's lock, so
  // changes commit in epoch order and a reader that sees epoch N sees every change up to N.
  const bumpEpoch = async (trx: Knex.Transaction): Promise<{ epoch: number; at: string }> => {
    const at = toSql(new Date());
    const result = await trx.raw('UPDATE revocation_epoch SET epoch = epoch + 1, changed_at = ? WHERE id = 1 RETURNING epoch', [at]);
    const rows = (Array.isArray(result) ? result : result.rows) as Array<{ epoch: number | string }>;
    if (rows[0] === undefined) throw new TypeError('the revocation_epoch row is missing (migration 003)');
    return { epoch: Number(rows[0].epoch), at };
  };

  const currentEpoch = async (): Promise<number> => {
    const row = await db('revocation_epoch').first<{ epoch: number | string } | undefined>('epoch').where({ id: 1 });
    return Number(row?.epoch ?? 0);
  };

  return {
    find: (issuer, serialHex) => guard(async () => {
      const row: RevocationRow | undefined = await db<RevocationRow>('revocations').first<RevocationRow>(columns).where({ issuer, serial_hex: serialHex });
      return row === undefined ? undefined : revocationRecord(row);
    }),

    findFirst: (keys) => guard(async () => {
      if (keys.length === 0) return undefined;
      const rows = await db<RevocationRow>('revocations').select<RevocationRow[]>(columns).where((where) => {
        for (const key of keys) where.orWhere({ issuer: key.issuer, serial_hex: key.serialHex });
      });
      for (const key of keys) {
        const row = rows.find((r) => r.issuer === key.issuer && r.serial_hex === key.serialHex);
        if (row !== undefined) return revocationRecord(row);
      }
      return undefined;
    }),

    add: (record) => guard(() => db.transaction(async (trx) => {
      const { epoch, at } = await bumpEpoch(trx);
      return (await insertNew(trx, [revocationRow(record, epoch, at)])) === 1;
    })),

    remove: (issuer, serialHex) => guard(() => db.transaction(async (trx) => {
      const { epoch, at } = await bumpEpoch(trx);
      const removed = (await trx('revocations').where({ issuer, serial_hex: serialHex }).delete()) > 0;
      if (removed) await trx('revocation_removals').insert({ epoch, issuer, serial_hex: serialHex, removed_at: at });
      return removed;
    })),

    list: (options = {}) => guard(async () => {
      const query = db<RevocationRow>('revocations').select<RevocationRow[]>(columns).orderBy('id');
      if (options.limit !== undefined) query.limit(options.limit);
      if (options.offset !== undefined) query.offset(options.offset);
      return (await query).map(revocationRecord);
    }),

    // One transaction and one epoch: an import either lands whole or not at all.
    addMany: (records, options = {}) => guard(() => db.transaction(async (trx) => {
      const { epoch, at } = await bumpEpoch(trx);
      let added = 0;
      for (let start = 0; start < records.length; start += chunkSize) {
        added += await insertNew(trx, records.slice(start, start + chunkSize).map((record) => revocationRow(record, epoch, at)));
        options.onProgress?.(Math.min(start + chunkSize, records.length), records.length);
      }
      return added;
    })),

    epoch: () => guard(currentEpoch),

    // Bounded above by the epoch read first: changes committed meanwhile carry higher
    // numbers and come whole with the next call, never half now and half later.
    changesSince: (since, page = {}) => guard(async () => {
      const epoch = page.upTo ?? await currentEpoch();
      if (epoch <= since) return { epoch, changes: [] };
      const limit = page.limit ?? 10_000;
      const afterId = page.afterId ?? 0;
      const [revoked, removed] = await Promise.all([
        db<RevocationRow & { id: number | string }>('revocations').select<Array<RevocationRow & { id: number | string }>>('id', 'issuer', 'serial_hex', 'sha256', 'epoch')
          .where('epoch', '>', since).andWhere('epoch', '<=', epoch).andWhere('id', '>', afterId).orderBy('id').limit(limit),
        afterId > 0 ? [] : db<{ epoch: number | string; issuer: string; serial_hex: string }>('revocation_removals').select('epoch', 'issuer', 'serial_hex')
          .where('epoch', '>', since).andWhere('epoch', '<=', epoch),
      ]);
      const changes: RevocationChange[] = [
        ...revoked.map((row): RevocationChange => ({
          epoch: Number(row.epoch), kind: 'revoked', issuer: row.issuer, serialHex: row.serial_hex,
          ...(row.sha256 === null ? {} : { sha256: row.sha256 }),
        })),
        ...removed.map((row): RevocationChange => ({ epoch: Number(row.epoch), kind: 'unrevoked', issuer: row.issuer, serialHex: row.serial_hex })),
      ];
      const last = revoked.at(-1);
      return {
        epoch,
        changes: changes.sort((x, y) => x.epoch - y.epoch),
        ...(revoked.length === limit && last !== undefined ? { nextAfterId: Number(last.id) } : {}),
      };
    }),

    // Keyset pages over the primary key: a fresh import of a million entries is reloaded
    // without a million rows in memory at once.
    recordedSince: (since, page = {}) => guard(async () => {
      const rows = await db('revocations').select<Array<{ id: number | string; issuer: string; serial_hex: string; recorded_at: string | Date }>>('id', 'issuer', 'serial_hex', 'recorded_at')
        .where('recorded_at', '>=', toSql(since)).andWhere('id', '>', page.afterId ?? 0).orderBy('id').limit(page.limit ?? 10_000);
      return rows.map((row) => ({ id: Number(row.id), issuer: row.issuer, serialHex: row.serial_hex, recordedAt: fromSql(row.recorded_at) }));
    }),
  };
}

interface AuditRow {
  id: number | string; // bigint: node-postgres returns it as text
  at: string | Date;
  type: string;
  outcome: string;
  code: string | null;
  actor: string | null;
  certificate_sha256: string | null;
  subject: string | null;
  request_id: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** RFC 8785 (JCS) for JSON data: members sorted by UTF-16 code units, ES number and string forms. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The row's hash: SHA-256 over the previous row's hash followed by the canonical JSON of
 * every column but the two hashes, each read back as stored, so `verifyChain` recomputes
 * exactly what `append` wrote.
 */
function rowHash(prevHash: string, row: Omit<AuditRow, 'prev_hash' | 'hash'>): string {
  const content = canonicalJson({
    id: Number(row.id),
    at: fromSql(row.at).toISOString(),
    type: row.type,
    outcome: row.outcome,
    code: row.code,
    actor: row.actor,
    certificateSha256: row.certificate_sha256,
    subject: row.subject,
    requestId: row.request_id,
    details: row.details,
  });
  return createHash('sha256').update(prevHash + content).digest('hex');
}

const auditRecord = (row: AuditRow): AuditRecord => {
  const optional = {
    code: row.code,
    actor: row.actor,
    certificateSha256: row.certificate_sha256,
    subject: row.subject,
    requestId: row.request_id,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  };
  return {
    id: Number(row.id),
    at: fromSql(row.at),
    type: row.type,
    outcome: row.outcome as AuditRecord['outcome'],
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== null)),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
};

const auditColumns = ['id', 'at', 'type', 'outcome', 'code', 'actor', 'certificate_sha256', 'subject', 'request_id', 'details', 'prev_hash', 'hash'] as const;
const auditColumnTypes = 'id bigint, at timestamptz, type text, outcome text, code text, actor text, certificate_sha256 text, subject text, request_id text, details text, prev_hash text, hash text';

function auditStore(db: Knex, dialect: Dialect, schema: string | undefined): AuditStore {
  // Appends are serialised, so each reads the true last row before writing its successor.
  // PostgreSQL: an advisory lock released with the transaction, keyed per schema.
  // SQLite: a write statement first, so the transaction holds the database's single write
  // lock before it reads (a bare BEGIN would only take it at the INSERT).
  const lockChain = (trx: Knex.Transaction) =>
    dialect === 'postgres'
      ? trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${schema ?? 'public'}.audit_log`])
      : trx.raw('DELETE FROM audit_log WHERE 0');

  // Group commit: events that arrive while a batch is being written go into the next batch,
  // one transaction each, so a busy instance writes many events per lock and round trip.
  // Each append still resolves only when its own row is committed.
  let pending: Array<{ event: AuditEvent; resolve: () => void; reject: (error: unknown) => void }> = [];
  let writing = false;

  const writeBatch = (events: AuditEvent[]) => guard(() => db.transaction(async (trx) => {
    await lockChain(trx);
    const last = await trx<AuditRow>('audit_log').select('id', 'hash').orderBy('id', 'desc').first();
    let id = last === undefined ? 0 : Number(last.id);
    let prevHash = last?.hash ?? genesisHash;
    const rows = events.map((event) => {
      id += 1;
      const row = {
        id,
        at: toSql(event.at),
        type: event.type,
        outcome: event.outcome,
        code: event.code ?? null,
        actor: event.actor ?? null,
        certificate_sha256: event.certificateSha256 ?? null,
        subject: event.subject ?? null,
        request_id: event.requestId ?? null,
        // Through JSON first, so what is hashed is what a reader will parse.
        details: event.details === undefined ? null : canonicalJson(JSON.parse(JSON.stringify(event.details))),
      };
      const hash = rowHash(prevHash, row);
      const stored = { ...row, prev_hash: prevHash, hash };
      prevHash = hash;
      return stored;
    });
    // One statement of fixed text whatever the batch size: the rows travel as one JSON
    // parameter, so the database prepares a short statement instead of one per row count.
    const list = auditColumns.join(', ');
    await (dialect === 'sqlite'
      ? trx.raw(`INSERT INTO audit_log (${list}) SELECT ${auditColumns.map((c) => `value ->> '${c}'`).join(', ')} FROM json_each(?)`, [JSON.stringify(rows)])
      : trx.raw(`INSERT INTO audit_log (${list}) SELECT ${list} FROM jsonb_to_recordset(?::jsonb) AS r(${auditColumnTypes})`, [JSON.stringify(rows)]));
  }));

  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, 500);
      pending = pending.slice(batch.length);
      try {
        await writeBatch(batch.map((item) => item.event));
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    writing = false;
  }

  return {
    append: (event: AuditEvent) => new Promise<void>((resolve, reject) => {
      pending.push({ event, resolve, reject });
      if (writing) return;
      writing = true;
      // Wait out the current turn of the event loop: the sign-ins already in flight add their
      // events, and one transaction carries them all.
      setImmediate(() => void drain());
    }),

    // Ids run 1, 2, 3, … and each row names its predecessor's hash, so a deleted row shows
    // as a gap, an edited one as a hash mismatch, a re-hashed one as a broken link in the
    // next row. Cutting rows off the end leaves a valid shorter chain: catching that needs
    // the head hash kept elsewhere (e.g. `audit tail` output shipped to the operators' log).
    verifyChain: () => guard(async (): Promise<AuditChainResult> => {
      let prevHash = genesisHash;
      let expectedId = 1;
      for (;;) {
        const rows = await db<AuditRow>('audit_log').select('*').where('id', '>=', expectedId).orderBy('id').limit(1000);
        for (const row of rows) {
          const id = Number(row.id);
          if (id !== expectedId) return { ok: false, firstBadId: expectedId, reason: `row ${expectedId} is missing (deleted)` };
          if (row.prev_hash !== prevHash) {
            return { ok: false, firstBadId: id, reason: `prev_hash does not match the hash of row ${id - 1}` };
          }
          if (rowHash(row.prev_hash, row) !== row.hash) {
            return { ok: false, firstBadId: id, reason: 'hash does not match the row content (edited)' };
          }
          prevHash = row.hash;
          expectedId = id + 1;
        }
        if (rows.length < 1000) return { ok: true, rows: expectedId - 1 };
      }
    }),

    tail: (n) => guard(async () => {
      const rows = await db<AuditRow>('audit_log').select('*').orderBy('id', 'desc').limit(n);
      return rows.reverse().map(auditRecord);
    }),
  };
}
