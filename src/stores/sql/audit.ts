// The hash-chained audit log: one chain across every instance, appended in group commits.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { AuditChainResult, AuditEvent, AuditRecord, AuditStore } from '../types.ts';
import { fromSql, guard, onSqliteConnection, perConnection, sqliteBusyTimeoutMs, toSql, type Dialect } from './dialect.ts';

const genesisHash = '0'.repeat(64);

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

/** The rows of `events` after `last` (none: the chain starts), each hashed over its predecessor. */
function chained(events: AuditEvent[], last: Pick<AuditRow, 'id' | 'hash'> | undefined) {
  let id = last === undefined ? 0 : Number(last.id);
  let prevHash = last?.hash ?? genesisHash;
  return events.map((event) => {
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
}

export function auditStore(db: Knex, dialect: Dialect, schema: string | undefined): AuditStore {
  // Group commit: events that arrive while a batch is being written go into the next batch,
  // one transaction each, so a busy instance writes many events per lock and round trip.
  // Each append still resolves only when its own row is committed.
  let pending: Array<{ event: AuditEvent; resolve: () => void; reject: (error: unknown) => void }> = [];
  let writing = false;

  const insertList = auditColumns.join(', ');
  // One statement of fixed text whatever the batch size: the rows travel as one JSON
  // parameter, so the database prepares a short statement instead of one per row count.
  const insertSql = dialect === 'sqlite'
    ? `INSERT INTO audit_log (${insertList}) SELECT ${auditColumns.map((c) => `value ->> '${c}'`).join(', ')} FROM json_each(?)`
    : `INSERT INTO audit_log (${insertList}) SELECT ${insertList} FROM jsonb_to_recordset(?::jsonb) AS r(${auditColumnTypes})`;
  const lastSql = 'SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1';

  const statements = perConnection((connection) => ({
    last: connection.prepare<[], Pick<AuditRow, 'id' | 'hash'>>(lastSql),
    insert: connection.prepare<[string]>(insertSql),
    append: connection.transaction((run: () => unknown) => void run()),
  }));

  const writeBatch = (events: AuditEvent[]) => guard(() => (dialect === 'sqlite' ? writeSqlite(events) : writePostgres(events)));

  // PostgreSQL: the advisory lock, released with the transaction, serialises every instance.
  const writePostgres = (events: AuditEvent[]) => db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${schema ?? 'public'}.audit_log`]);
    const last = (await trx.raw<{ rows: AuditRow[] }>(lastSql)).rows[0];
    await trx.raw(insertSql, [JSON.stringify(chained(events, last))]);
  });

  // SQLite: knex's one connection, borrowed from its pool so no knex query runs meanwhile, and
  // one synchronous BEGIN IMMEDIATE transaction of two statements prepared once (issue 12:
  // knex building, preparing and awaiting five statements per batch cost more than the
  // signature check). IMMEDIATE takes the database's write lock before the read, so another
  // process's append cannot slip in between. When another process holds the lock (an operator's
  // import, another worker's append) the attempt fails at once and is retried a millisecond
  // later, for up to the connection's busy timeout: SQLite's own busy wait sleeps on the event
  // loop, and against an import's back-to-back transactions it slept for hundreds of ms.
  const writeSqlite = async (events: AuditEvent[]) => {
    const deadline = Date.now() + sqliteBusyTimeoutMs;
    for (;;) {
      try {
        await onSqliteConnection(db, (connection) => {
          const { last, insert, append } = statements(connection);
          // Not a prepared statement: SQLite applies this pragma when it compiles it.
          connection.pragma('busy_timeout = 0');
          try {
            append.immediate(() => insert.run(JSON.stringify(chained(events, last.get()))));
          } finally {
            connection.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
          }
        });
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      }
      await sleep(1);
    }
  };

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
