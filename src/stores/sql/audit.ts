// The hash-chained audit log: one chain across every instance, appended in group commits.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { AuditChainResult, AuditEvent, AuditRecord, AuditStore } from '../types.ts';
import { fromSql, guard, toSql, type Dialect } from './dialect.ts';

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

export function auditStore(db: Knex, dialect: Dialect, schema: string | undefined): AuditStore {
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
