// The registry's SQL side on SQLite and PostgreSQL: the epoch moves with every change, the
// change feed names exactly what changed, and the sign-in's one-query lookup finds any
// certificate of a path.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDatabases, type TestDatabase } from '../helpers/services.ts';
import type { Database, RevocationRecord } from '../../src/stores/types.ts';

const issuer = 'cn=test citizen ca,o=yagona test,c=uz';
const record = (serialHex: string, extra: Partial<RevocationRecord> = {}): RevocationRecord => ({
  issuer, serialHex, reason: 'keyCompromise', revokedAt: new Date('2026-01-02T03:04:05Z'), source: 'test', ...extra,
});

const databases: TestDatabase[] = [];
before(async () => databases.push(...(await openTestDatabases())));
after(async () => Promise.all(databases.map((d) => d.cleanup())));

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`revocation registry (${kind})`, () => {
    let db: Database;
    before(async () => {
      db = await databases.find((d) => d.kind === kind)!.open();
    });
    after(async () => db.close());

    test('every change bumps the epoch and shows in the change feed, in order', async () => {
      const start = await db.revocations.epoch();
      assert.equal(await db.revocations.add(record('0A')), true);
      assert.equal(await db.revocations.add(record('0A')), false, 'idempotent');
      assert.equal(await db.revocations.addMany([record('0B'), record('0C'), record('0A')]), 2);
      assert.equal(await db.revocations.remove(issuer, '0B'), true);
      assert.equal(await db.revocations.remove(issuer, '0B'), false);
      const { epoch, changes } = await db.revocations.changesSince(start);
      assert.equal(epoch, start + 5);
      // A repeated add or remove still bumps the epoch (harmless: it brings no change).
      const seen = changes.map((c) => [c.epoch - start, c.kind, c.serialHex]).sort((x, y) => String(x).localeCompare(String(y)));
      // 0B was revoked and unrevoked since `start`: the feed holds the registry's state, so
      // only its removal shows.
      assert.deepEqual(seen, [[1, 'revoked', '0A'], [3, 'revoked', '0C'], [4, 'unrevoked', '0B']]);
      assert.deepEqual(changes.map((c) => c.epoch), changes.map((c) => c.epoch).sort((x, y) => x - y), 'in epoch order');
      assert.deepEqual((await db.revocations.changesSince(epoch)).changes, []);
    });

    test('the change feed pages through a large import without losing or repeating an entry', async () => {
      const start = await db.revocations.epoch();
      await db.revocations.addMany(Array.from({ length: 25 }, (_, i) => record((0x3000 + i).toString(16).toUpperCase())));
      await db.revocations.add(record('3FFF'));
      const first = await db.revocations.changesSince(start, { limit: 10 });
      const seen = [...first.changes];
      let page = first;
      while (page.nextAfterId !== undefined) {
        // Another change landing meanwhile belongs to a later epoch, not to this range.
        await db.revocations.add(record(`4${seen.length.toString(16).padStart(3, '0')}`));
        page = await db.revocations.changesSince(start, { upTo: first.epoch, afterId: page.nextAfterId, limit: 10 });
        assert.equal(page.epoch, first.epoch);
        seen.push(...page.changes);
      }
      assert.equal(seen.length, 26);
      assert.equal(new Set(seen.map((c) => c.serialHex)).size, 26);
      assert.ok(seen.every((c) => c.epoch <= first.epoch));
    });

    test('findFirst answers for the first revoked certificate of a path, in path order', async () => {
      await db.revocations.addMany([record('1001'), record('1002', { reason: 'cACompromise' })]);
      assert.equal(await db.revocations.findFirst([]), undefined);
      assert.equal(await db.revocations.findFirst([{ issuer, serialHex: '1FFF' }]), undefined);
      const found = await db.revocations.findFirst([{ issuer, serialHex: '1FFF' }, { issuer, serialHex: '1002' }, { issuer, serialHex: '1001' }]);
      assert.equal(found?.serialHex, '1002');
      assert.equal(found?.reason, 'cACompromise');
      assert.equal((await db.revocations.findFirst([{ issuer: 'cn=other', serialHex: '1001' }])), undefined, 'the issuer is part of the key');
    });

    test('an import records every field as a single revocation does, and when', async () => {
      const before = Date.now() - 1000;
      const fields = { reason: 'superseded' as const, revokedAt: new Date('2025-05-06T07:08:09.123Z'), source: 'crl' };
      const sha256 = 'ab'.repeat(32);
      await db.revocations.add(record('5001', { ...fields, sha256 }));
      await db.revocations.add(record('5002', fields));
      assert.equal(await db.revocations.addMany([record('5003', { ...fields, sha256 }), record('5004', fields)]), 2);
      const found = await Promise.all(['5001', '5002', '5003', '5004'].map((serial) => db.revocations.find(issuer, serial)));
      const { serialHex: _a, recordedAt: _b, ...single } = found[0]!;
      const { serialHex: _c, recordedAt: _d, ...imported } = found[2]!;
      assert.deepEqual(imported, single);
      assert.deepEqual({ ...found[3]!, serialHex: '', recordedAt: undefined }, { ...found[1]!, serialHex: '', recordedAt: undefined });
      assert.equal(found[3]!.sha256, undefined);
      assert.ok(found.every((r) => r!.recordedAt!.getTime() >= before && r!.recordedAt!.getTime() <= Date.now()));
    });

    test('recordedSince returns what entered the registry lately, whatever its revocation date', async () => {
      const before = new Date(Date.now() - 1000);
      await db.revocations.add(record('2001', { revokedAt: new Date('2001-01-01T00:00:00Z') }));
      const recent = await db.revocations.recordedSince(before);
      assert.ok(recent.some((r) => r.serialHex === '2001'));
      assert.equal((await db.revocations.recordedSince(new Date(Date.now() + 60_000))).length, 0);
    });
  });
}
