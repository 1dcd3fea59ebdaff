// The local revocation registry and its epoch (migration 003): every change bumps the epoch in
// its own transaction, so instances poll one number and fetch only what changed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { RevocationChange, RevocationReason, RevocationRecord, RevocationStore } from '../types.ts';
import { fromSql, guard, onSqliteConnection, perConnection, toSql, type Dialect } from './dialect.ts';
import type { LookupRow, RevocationLookup } from './revocationLookup.ts';

interface RevocationRow extends LookupRow {
  epoch: number | string; // bigint: node-postgres returns it as text
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

/** An imported row as JSON for SQLite's json_each: the epoch and time come from the transaction. */
const importRow = (record: RevocationRecord) => ({
  issuer: record.issuer, serial_hex: record.serialHex, reason: record.reason, revoked_at: toSql(record.revokedAt), sha256: record.sha256 ?? null, source: record.source,
});

const revocationRecord = (row: LookupRow): RevocationRecord => ({
  issuer: row.issuer,
  serialHex: row.serial_hex,
  reason: row.reason as RevocationReason,
  revokedAt: fromSql(row.revoked_at),
  ...(row.sha256 === null ? {} : { sha256: row.sha256 }),
  source: row.source,
  ...(row.recorded_at === null ? {} : { recordedAt: fromSql(row.recorded_at) }),
});

/** `lookup` answers findFirst, the sign-in's query (revocationLookup.ts); knex does the rest. */
export function revocationStore(db: Knex, dialect: Dialect, lookup: RevocationLookup): RevocationStore {
  const columns = ['issuer', 'serial_hex', 'reason', 'revoked_at', 'sha256', 'source', 'epoch', 'recorded_at'] as const;
  // Rows per INSERT: on PostgreSQL eight bound values each, under its 65 535; on SQLite rows per
  // transaction, which holds the one write lock of every process on the file.
  const chunkSize = dialect === 'sqlite' ? 400 : 5000;
  // Between an import's SQLite transactions (100 000 entries: 250 pauses, well under a second).
  const importPauseMs = 3;

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

  // SQLite imports: the epoch bumped and a chunk inserted as one synchronous transaction.
  // WHERE true: SQLite's rule for an upsert whose rows come from a SELECT (it would read ON as a join's).
  const importStatements = perConnection((connection) => ({
    bump: connection.prepare<[string], { epoch: number }>('UPDATE revocation_epoch SET epoch = epoch + 1, changed_at = ? WHERE id = 1 RETURNING epoch'),
    insert: connection.prepare<[number, string, string]>(
      `INSERT INTO revocations (issuer, serial_hex, reason, revoked_at, sha256, source, epoch, recorded_at)
       SELECT value ->> 'issuer', value ->> 'serial_hex', value ->> 'reason', value ->> 'revoked_at', value ->> 'sha256', value ->> 'source', ?, ?
       FROM json_each(?) WHERE true ON CONFLICT (issuer, serial_hex) DO NOTHING`),
    transaction: connection.transaction((body: () => number) => body()),
  }));

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
      const rows = await lookup.rows(keys);
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

    // PostgreSQL: one transaction and one epoch, so an import lands whole or not at all. SQLite
    // has one writer for every process on the file: there each chunk is its own transaction and
    // epoch, so a service's audit appends wait milliseconds behind an operator's import instead
    // of its whole length (which froze the service's event loop for seconds and failed sign-ins:
    // issue 12, target 5). An import cut short there keeps what it recorded; run again, it
    // records the rest (entries already known are not counted twice).
    addMany: (records, options = {}) => guard(async () => {
      if (dialect === 'postgres') {
        return db.transaction(async (trx) => {
          const { epoch, at } = await bumpEpoch(trx);
          let added = 0;
          for (let start = 0; start < records.length; start += chunkSize) {
            const end = Math.min(start + chunkSize, records.length);
            added += await insertNew(trx, records.slice(start, end).map((record) => revocationRow(record, epoch, at)));
            options.onProgress?.(end, records.length);
          }
          return added;
        });
      }
      // SQLite: each chunk one synchronous BEGIN IMMEDIATE transaction of two statements prepared
      // once (as audit.ts appends). The write lock is held for the statements' own milliseconds:
      // built by knex and awaited, a chunk held it about 15 ms, longer when the importer's core was
      // busy, while the service's sign-ins waited to write their audit rows (issue 12, target 5).
      let added = 0;
      for (let start = 0; start < records.length; start += chunkSize) {
        const end = Math.min(start + chunkSize, records.length);
        const rows = JSON.stringify(records.slice(start, end).map(importRow));
        const at = toSql(new Date());
        added += await onSqliteConnection(db, (connection) => {
          const { bump, insert, transaction } = importStatements(connection);
          return transaction.immediate(() => insert.run(bump.get(at)!.epoch, at, rows).changes);
        });
        options.onProgress?.(end, records.length);
        // The lock free for a moment: a service's append retries every millisecond (audit.ts).
        await sleep(importPauseMs);
      }
      return added;
    }),

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

