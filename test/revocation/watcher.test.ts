// One instance's view of the registry (src/revocation/watcher.ts) and the session side of it
// (sessions.ts): what it refuses, when it asks SQL, what it ends, and the mint race (#121).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { createSessionEnding, createSessions } from '../../src/sessions/sessions.ts';
import { openKeyRing } from '../../src/keys/keyRing.ts';
import { filterHash, createRevocationWatcher, type RevocationWatcher } from '../../src/revocation/watcher.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { StoreUnavailableError, type CertificateKey, type Database, type EphemeralStore, type RevocationRecord, type RevocationStore } from '../../src/stores/types.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { assertRejectsCode } from '../helpers/assertions.ts';

const issuer = 'cn=test citizen ca,o=yagona test,c=uz';
const key = (serialHex: string): CertificateKey => ({ issuer, serialHex });
const record = (serialHex: string, reason: RevocationRecord['reason'] = 'keyCompromise'): RevocationRecord =>
  ({ issuer, serialHex, reason, revokedAt: new Date(), source: 'test' });
const quiet = { warn: () => undefined, info: () => undefined };
const identity = (sha256: string) => ({ certificate: { serialNumber: '01', issuer, subject: 'CN=x', notBefore: '', notAfter: '', sha256 } });

let database: TestDatabase;
let db: Database;
let store: EphemeralStore;
const watchers: RevocationWatcher[] = [];

before(async () => {
  database = await openTestDatabase('sqlite');
  db = await database.open();
  store = createMemoryStore();
});
after(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  await store.close();
  await db.close();
  await database.cleanup();
});

async function watcher(options: { staleAfterMs?: number; pollMs?: number } = {}): Promise<RevocationWatcher> {
  const w = createRevocationWatcher({ registry: db.revocations, sessions: createSessionEnding(store), log: quiet, sessionTtlSeconds: 600,
    // Neither polls nor goes stale within a test, however loaded the machine: each refresh is the test's own.
    pollMs: options.pollMs ?? 60_000, staleAfterMs: options.staleAfterMs ?? 600_000 });
  watchers.push(w);
  await w.start();
  return w;
}

/** `w` undefined: sessions that consult no watcher, so a refusal means the record itself is gone. */
async function sessions(w: RevocationWatcher | undefined) {
  const keys = await openKeyRing({ store: db.signingKeys, clock: systemClock, secret: undefined, retainSeconds: 600 });
  return createSessions({ store, keys, clock: systemClock, issuer: 'http://yagona.test', ttlSeconds: 600, ...(w === undefined ? {} : { revoked: w }) });
}

describe('revocation watcher', () => {
  test('a new epoch: the certificate is refused and its indexed sessions are ended', async () => {
    const w = await watcher();
    const s = await sessions(w);
    const live = await s.create({ sub: 's', identity: identity('aa'.repeat(32)), amr: ['pop'], acr: 'x', certificatePath: [key('0A01'), key('7F')] });
    const other = await s.create({ sub: 't', identity: identity('bb'.repeat(32)), amr: ['pop'], acr: 'x', certificatePath: [key('0A02'), key('7F')] });
    assert.equal(await w.isRevoked([key('0A01')]), false);

    await db.revocations.add(record('0A01'));
    assert.equal(await w.isRevoked([key('0A01')]), false, 'not before the poll: the sign-in check reads SQL itself');
    await w.refresh();
    await w.settled();
    assert.equal(w.epoch(), await db.revocations.epoch());
    assert.equal(await w.isRevoked([key('0A02'), key('0A01')]), true);
    const unwatched = await sessions(undefined);
    // Ended, not only refused: without a watcher the record is gone too (the issuer+serial index).
    await assertRejectsCode(unwatched.authenticate(live.accessToken), 'session_invalid');
    await assertRejectsCode(s.authenticate(live.accessToken), 'session_invalid');
    assert.equal((await s.authenticate(other.accessToken)).sid, other.record.sid);
  });

  test('an intermediate revoked: every session under it is refused at first use', async () => {
    const w = await watcher();
    const s = await sessions(w);
    const under = await s.create({ sub: 's', identity: identity('cc'.repeat(32)), amr: ['pop'], acr: 'x', certificatePath: [key('0B01'), key('0CA0')] });
    await db.revocations.add(record('0CA0', 'cACompromise'));
    await w.refresh();
    await assertRejectsCode(s.authenticate(under.accessToken), 'session_invalid');
  });

  test('#121: a revocation learnt between the sign-in check and the session index leaves no session', async () => {
    const w = await watcher();
    await db.revocations.add(record('0D01'));
    await w.refresh();
    const created: string[] = [];
    const recording: EphemeralStore = { ...store, put: async (k, v, ttl) => { created.push(k); await store.put(k, v, ttl); } };
    const keys = await openKeyRing({ store: db.signingKeys, clock: systemClock, secret: undefined, retainSeconds: 600 });
    const racing = createSessions({ store: recording, keys, clock: systemClock, issuer: 'http://yagona.test', ttlSeconds: 600, revoked: w });
    await assertRejectsCode(racing.create({ sub: 's', identity: identity('dd'.repeat(32)), amr: ['pop'], acr: 'x', certificatePath: [key('0D01')] }), 'certificate_revoked');
    assert.equal(created.length, 1);
    assert.equal(await store.get(created[0] as string), undefined);
  });

  test('a lifted hold and a hash collision are answered by SQL, not by the filter', async () => {
    const w = await watcher();
    await db.revocations.add(record('0E01', 'certificateHold'));
    await w.refresh();
    assert.equal(await w.isRevoked([key('0E01')]), true);
    await db.revocations.remove(issuer, '0E01');
    await w.refresh();
    assert.equal(await w.isRevoked([key('0E01')]), false);
    // Two serials whose filter hashes collide (birthday search: 300 000 keys give ~40 pairs
    // in 2^30): revoke one, the other is still answered "not revoked" by the confirming query.
    const seen = new Map<number, CertificateKey>();
    let pair: [CertificateKey, CertificateKey] | undefined;
    for (let i = 1; pair === undefined && i < 300_000; i++) {
      const candidate = key(i.toString(16).toUpperCase().padStart(8, '0'));
      const hash = filterHash(candidate);
      const earlier = seen.get(hash);
      if (earlier !== undefined) pair = [earlier, candidate];
      seen.set(hash, candidate);
    }
    assert.ok(pair !== undefined, 'a colliding pair exists');
    await db.revocations.add(record(pair[0].serialHex));
    await w.refresh();
    assert.equal(await w.isRevoked([pair[0]]), true);
    assert.equal(await w.isRevoked([pair[1]]), false);
  });

  test('a starting instance remembers what was recorded within a session lifetime', async () => {
    await db.revocations.add(record('0F01'));
    const w = await watcher();
    assert.equal(await w.isRevoked([key('0F01')]), true);
  });

  test('a stale poll: each check asks the registry itself, and fails closed when it does not answer', async () => {
    let down = false;
    const unavailable = () => Promise.reject(new StoreUnavailableError('sql'));
    const registry: RevocationStore = {
      ...db.revocations,
      changesSince: (since) => (down ? unavailable() : db.revocations.changesSince(since)),
      findFirst: (keys) => (down ? unavailable() : db.revocations.findFirst(keys)),
    };
    const w = createRevocationWatcher({ registry, sessions: createSessionEnding(store), log: quiet, sessionTtlSeconds: 600, pollMs: 20, staleAfterMs: 100 });
    watchers.push(w);
    await w.start();
    await w.close(); // no more polls: the view goes stale
    await db.revocations.add(record('1101'));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await w.isRevoked([key('1101')]), true, 'exact although the filter never heard of it');
    assert.equal(await w.isRevoked([key('1102')]), false);
    down = true;
    await assertRejectsCode(w.isRevoked([key('1102')]), 'unavailable');
  });

  test('changes are read 1000 at a time, and an import below the bulk size still ends the sessions of every page', async () => {
    const limits: Array<number | undefined> = [];
    const registry: RevocationStore = {
      ...db.revocations,
      changesSince: (since, page) => {
        limits.push(page?.limit);
        return db.revocations.changesSince(since, page);
      },
    };
    const w = createRevocationWatcher({ registry, sessions: createSessionEnding(store), log: quiet, sessionTtlSeconds: 600, pollMs: 60_000, staleAfterMs: 600_000 });
    watchers.push(w);
    await w.start();
    const serial = (i: number) => (0x200000 + i).toString(16).toUpperCase();
    const s = await sessions(w);
    const inLastPage = await s.create({ sub: 's', identity: identity('ee'.repeat(32)), amr: ['pop'], acr: 'x', certificatePath: [key(serial(2499))] });
    await db.revocations.addMany(Array.from({ length: 2500 }, (_, i) => record(serial(i))));
    limits.length = 0;
    await w.refresh();
    await w.settled();
    assert.deepEqual(limits, [1000, 1000, 1000]);
    assert.equal(await w.isRevoked([key(serial(0))]), true);
    // Ended, not only refused: without a watcher the record is gone too.
    await assertRejectsCode((await sessions(undefined)).authenticate(inLastPage.accessToken), 'session_invalid');
  });

  test('a bulk import is refused at once without ending sessions one by one', async () => {
    const w = await watcher();
    const records = Array.from({ length: 10_001 }, (_, i) => record((0x100000 + i).toString(16).toUpperCase()));
    await db.revocations.addMany(records);
    await w.refresh();
    await w.settled();
    assert.equal(await w.isRevoked([key('100000')]), true);
    assert.equal(await w.isRevoked([key((0x100000 + 10_000).toString(16).toUpperCase())]), true);
  });
});
