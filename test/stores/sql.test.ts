// One suite for the durable stores, run against SQLite (a temp file) and PostgreSQL (a
// schema of its own): migrations, signing keys, revocations, and the audit hash chain.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { openDatabase } from '../../src/stores/sql/database.ts';
import { StoreUnavailableError, type AuditEvent, type Database, type RevocationRecord } from '../../src/stores/types.ts';
import { openTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/services.ts';
import { startTcpProxy } from '../helpers/tcpProxy.ts';

const kinds = ['sqlite', 'postgres'] as const;

/** Runs test/stores/fixtures/<name> in a process of its own: another service instance. */
function runFixture(name: string, ...args: string[]): Promise<void> {
  const script = new URL(`fixtures/${name}`, import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], (error, _stdout, stderr) =>
      error === null ? resolve() : reject(new Error(`${name} failed: ${stderr}`, { cause: error })));
  });
}

const revocation = (serialHex: string, overrides: Partial<RevocationRecord> = {}): RevocationRecord => ({
  issuer: 'CN=Citizen CA,O=Yagona Test,C=UZ',
  serialHex,
  reason: 'keyCompromise',
  revokedAt: new Date('2026-03-01T10:00:00.000Z'),
  source: 'test',
  ...overrides,
});

const event = (n: number, overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
  type: 'sign_in',
  outcome: n % 2 === 0 ? 'success' : 'failure',
  ...(n % 2 === 0 ? {} : { code: 'signature_invalid' }),
  subject: `subject-${n}`,
  details: { n, nested: { z: 1, a: [true, null] } },
  ...overrides,
});

/** A fresh database of `kind` for one describe block, opened and cleaned up around it. */
function freshDatabase(kind: (typeof kinds)[number]) {
  const state = {} as { test: TestDatabase; db: Database };
  before(async () => {
    state.test = await openTestDatabase(kind);
    state.db = await state.test.open();
  });
  after(async () => {
    await state.db?.close();
    await state.test?.cleanup();
  });
  return state;
}

for (const kind of kinds) {
  describe(`SQL stores: ${kind}`, () => {
    describe('open and migrations', () => {
      const t = freshDatabase(kind);

      it('opening again is a no-op that keeps the data (migrations are idempotent)', async () => {
        await t.db.revocations.add(revocation('01'));
        const again = await t.test.open();
        try {
          assert.equal((await again.revocations.find(revocation('01').issuer, '01'))?.serialHex, '01');
          await again.ping();
        } finally {
          await again.close();
        }
      });

      it('instances opening a fresh database at once all succeed (the migration lock waits)', async () => {
        const fresh = await openTestDatabase(kind);
        try {
          const dbs = await Promise.all([fresh.open(), fresh.open(), fresh.open()]);
          await dbs[0]!.revocations.add(revocation('02'));
          assert.ok(await dbs[2]!.revocations.find(revocation('02').issuer, '02'));
          await Promise.all(dbs.map((db) => db.close()));
        } finally {
          await fresh.cleanup();
        }
      });

      if (kind === 'sqlite') {
        it('creates the parent directory and runs in WAL mode', () => {
          const file = t.test.url.slice('sqlite:'.length);
          assert.ok(existsSync(file));
          assert.ok(existsSync(`${file}-wal`), 'no -wal file next to the database');
        });

        it('refuses the PostgreSQL-only schema option', async () => {
          await assert.rejects(openDatabase(t.test.url, { schema: 'x' }), TypeError);
        });
      }
    });

    describe('signing keys', () => {
      const t = freshDatabase(kind);

      it('inserts, lists oldest first and retires once', async () => {
        const key = (kid: string, createdAt: string) => ({
          kid, alg: 'ES256' as const, privateKey: `{"d":"${kid}"}`, publicKey: `{"x":"${kid}"}`, createdAt: new Date(createdAt), retiredAt: null,
        });
        await t.db.signingKeys.insert(key('new', '2026-02-01T00:00:00.000Z'));
        await t.db.signingKeys.insert(key('old', '2026-01-01T00:00:00.000Z'));
        assert.deepEqual(await t.db.signingKeys.list(), [key('old', '2026-01-01T00:00:00.000Z'), key('new', '2026-02-01T00:00:00.000Z')]);

        const retiredAt = new Date('2026-02-01T00:00:00.000Z');
        await t.db.signingKeys.retire('old', retiredAt);
        await t.db.signingKeys.retire('old', new Date('2026-03-01T00:00:00.000Z'));
        const [old] = await t.db.signingKeys.list();
        assert.deepEqual(old?.retiredAt, retiredAt);
      });

      it('a duplicate kid is refused, and not as an outage', async () => {
        const record = { kid: 'dup', alg: 'ES256' as const, privateKey: '{}', publicKey: '{}', createdAt: new Date(), retiredAt: null };
        await t.db.signingKeys.insert(record);
        await assert.rejects(t.db.signingKeys.insert(record), (error) => !(error instanceof StoreUnavailableError));
      });
    });

    describe('revocations', () => {
      const t = freshDatabase(kind);

      it('add is idempotent: the first record stays, later adds report false', async () => {
        assert.equal(await t.db.revocations.add(revocation('0A', { sha256: 'ab'.repeat(32) })), true);
        assert.equal(await t.db.revocations.add(revocation('0A', { reason: 'superseded', revokedAt: new Date('2027-01-01T00:00:00Z') })), false);
        const { recordedAt, ...found } = (await t.db.revocations.find(revocation('0A').issuer, '0A')) ?? {};
        assert.deepEqual(found, revocation('0A', { sha256: 'ab'.repeat(32) }));
        assert.ok(recordedAt instanceof Date);
      });

      it('identifies a certificate by issuer and serial together', async () => {
        await t.db.revocations.add(revocation('0B'));
        await t.db.revocations.add(revocation('0B', { issuer: 'CN=Other CA,C=UZ' }));
        assert.ok(await t.db.revocations.find('CN=Other CA,C=UZ', '0B'));
        assert.equal(await t.db.revocations.find('CN=Third CA,C=UZ', '0B'), undefined);
        assert.equal(await t.db.revocations.find(revocation('0B').issuer, '0C'), undefined);
      });

      it('remove deletes once', async () => {
        await t.db.revocations.add(revocation('0D', { reason: 'certificateHold' }));
        assert.equal(await t.db.revocations.remove(revocation('0D').issuer, '0D'), true);
        assert.equal(await t.db.revocations.remove(revocation('0D').issuer, '0D'), false);
        assert.equal(await t.db.revocations.find(revocation('0D').issuer, '0D'), undefined);
      });

      it('lists in insertion order with limit and offset', async () => {
        const all = await t.db.revocations.list();
        assert.deepEqual(all.map((r) => r.serialHex), ['0A', '0B', '0B']);
        assert.deepEqual((await t.db.revocations.list({ limit: 1, offset: 1 })).map((r) => r.issuer), ['CN=Citizen CA,O=Yagona Test,C=UZ']);
      });

      it('addMany imports 100 000 records in one go and counts only new ones', async () => {
        const records = Array.from({ length: 100_000 }, (_, i) =>
          revocation(i.toString(16).toUpperCase().padStart(8, '0'), { issuer: 'CN=Bulk CA,C=UZ', source: 'crl' }));
        const progress: number[] = [];
        let started = performance.now();
        const added = await t.db.revocations.addMany(records, { onProgress: (done, total) => { progress.push(done); assert.equal(total, records.length); } });
        const insertMs = performance.now() - started;
        assert.equal(added, 100_000);
        assert.equal(progress.at(-1), records.length);

        started = performance.now();
        for (let i = 0; i < 1000; i++) {
          const serial = ((i * 7919) % 100_000).toString(16).toUpperCase().padStart(8, '0');
          assert.equal((await t.db.revocations.find('CN=Bulk CA,C=UZ', serial))?.serialHex, serial);
        }
        const findMs = performance.now() - started;

        // Overlapping re-import (a newer CRL): only the new entries count.
        const next = [...records.slice(50_000), revocation('FFFFFFFF', { issuer: 'CN=Bulk CA,C=UZ' })];
        assert.equal(await t.db.revocations.addMany(next), 1);
        console.log(`[${kind}] addMany 100 000 revocations: ${insertMs.toFixed(0)} ms; 1 000 finds: ${findMs.toFixed(0)} ms`);
      });
    });

    describe('audit log', () => {
      const t = freshDatabase(kind);

      it('appends a chain that verifies and tails oldest first', async () => {
        assert.deepEqual(await t.db.audit.verifyChain(), { ok: true, rows: 0 });
        for (let n = 1; n <= 5; n++) await t.db.audit.append(event(n));
        assert.deepEqual(await t.db.audit.verifyChain(), { ok: true, rows: 5 });

        const tail = await t.db.audit.tail(2);
        assert.deepEqual(tail.map((r) => r.id), [4, 5]);
        const [fourth, fifth] = tail as [(typeof tail)[0], (typeof tail)[0]];
        assert.equal(fifth.prevHash, fourth.hash);
        assert.match(fifth.hash, /^[0-9a-f]{64}$/);
        const { id: _id, prevHash: _prevHash, hash: _hash, ...stored } = fifth;
        assert.deepEqual(stored, event(5));
        assert.deepEqual((await t.db.audit.tail(100)).map((r) => r.id), [1, 2, 3, 4, 5]);
      });

      it('concurrent appends from three processes extend one chain without forks or gaps', async () => {
        const { rows: before } = (await t.db.audit.verifyChain()) as { rows: number };
        const schema = t.test.options.schema ?? '-';
        await Promise.all([1, 2, 3].map((instance) => runFixture('appendAudit.ts', t.test.url, schema, `instance-${instance}`, '20')));
        assert.deepEqual(await t.db.audit.verifyChain(), { ok: true, rows: before + 60 });
        const actors = (await t.db.audit.tail(60)).map((r) => r.actor);
        for (const instance of [1, 2, 3]) assert.equal(actors.filter((a) => a === `instance-${instance}`).length, 20);
      });

      if (kind === 'sqlite') {
        it('an append waits for another process\'s write lock without holding up the event loop, then lands', async () => {
          // Another writer on the file, as an operator's import is: it holds the lock 400 ms.
          const other = new Sqlite(t.test.url.slice('sqlite:'.length));
          other.exec('BEGIN IMMEDIATE');
          let ticks = 0;
          const ticking = setInterval(() => ticks++, 10);
          const release = setTimeout(() => other.exec('COMMIT'), 400);
          try {
            const { rows: before } = (await t.db.audit.verifyChain()) as { rows: number };
            const ticksBefore = ticks;
            await t.db.audit.append(event(99));
            // SQLite's own busy wait would have slept through the 400 ms on this thread: no tick.
            assert.ok(ticks - ticksBefore >= 5, `the event loop ran ${ticks - ticksBefore} timer ticks during the wait`);
            assert.deepEqual(await t.db.audit.verifyChain(), { ok: true, rows: before + 1 });
          } finally {
            clearInterval(ticking);
            clearTimeout(release);
            if (other.inTransaction) other.exec('COMMIT');
            other.close();
          }
        });
      }
    });

    describe('audit log tampering', () => {
      const t = freshDatabase(kind);
      const rebuild = async () => {
        await t.test.exec('DELETE FROM audit_log');
        for (let n = 1; n <= 6; n++) await t.db.audit.append(event(n));
        assert.deepEqual(await t.db.audit.verifyChain(), { ok: true, rows: 6 });
      };

      it('names an edited row', async () => {
        await rebuild();
        await t.test.exec(`UPDATE audit_log SET outcome = 'success', code = NULL WHERE id = 3`);
        const result = await t.db.audit.verifyChain();
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.firstBadId === 3 && /edited/.test(result.reason), JSON.stringify(result));
      });

      it('names a deleted row', async () => {
        await rebuild();
        await t.test.exec('DELETE FROM audit_log WHERE id = 4');
        const result = await t.db.audit.verifyChain();
        assert.ok(!result.ok && result.firstBadId === 4 && /deleted/.test(result.reason), JSON.stringify(result));
      });

      it('names a row whose link to its predecessor was rewritten', async () => {
        await rebuild();
        await t.test.exec(`UPDATE audit_log SET prev_hash = '${'f'.repeat(64)}' WHERE id = 5`);
        const result = await t.db.audit.verifyChain();
        assert.ok(!result.ok && result.firstBadId === 5 && /prev_hash/.test(result.reason), JSON.stringify(result));
      });

      it('names an edited first row', async () => {
        await rebuild();
        await t.test.exec(`UPDATE audit_log SET subject = 'someone else' WHERE id = 1`);
        const result = await t.db.audit.verifyChain();
        assert.ok(!result.ok && result.firstBadId === 1, JSON.stringify(result));
      });
    });
  });
}

describe('SQL store: database down', () => {
  it('PostgreSQL unreachable: open fails fast with StoreUnavailableError', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const url = new URL(testDatabaseUrl());
    url.host = `127.0.0.1:${port}`;

    const started = performance.now();
    await assert.rejects(openDatabase(url.href, { connectTimeoutMs: 500, log: () => {} }), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.equal(error.code, 'unavailable');
      assert.equal(error.store, 'sql');
      return true;
    });
    assert.ok(performance.now() - started < 3000);
  });

  it('PostgreSQL going away after open: every call fails fast with StoreUnavailableError, then recovers', async () => {
    const test = await openTestDatabase('postgres');
    const proxy = await startTcpProxy(testDatabaseUrl(), 5432);
    const db = await openDatabase(proxy.url, { ...test.options, connectTimeoutMs: 500, log: () => {} });
    try {
      await db.revocations.add(revocation('AA'));
      proxy.fault = { kind: 'refuse' };
      proxy.cut();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['revocations.find', () => db.revocations.find(revocation('AA').issuer, 'AA')],
        ['revocations.add', () => db.revocations.add(revocation('AB'))],
        ['audit.append', () => db.audit.append(event(1))],
        ['signingKeys.list', () => db.signingKeys.list()],
        ['ping', () => db.ping()],
      ];
      for (const [name, call] of calls) {
        const started = performance.now();
        await assert.rejects(call(), (error: unknown) => error instanceof StoreUnavailableError, name);
        assert.ok(performance.now() - started < 2000, `${name} did not fail fast`);
      }
      proxy.fault = { kind: 'none' };
      assert.equal((await db.revocations.find(revocation('AA').issuer, 'AA'))?.serialHex, 'AA');
    } finally {
      await db.close();
      await proxy.close();
      await test.cleanup();
    }
  });

  it('an unsupported URL is a configuration mistake, not an outage', async () => {
    await assert.rejects(openDatabase('mysql://localhost/x'), TypeError);
  });
});
